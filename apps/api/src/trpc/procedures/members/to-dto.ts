import type { Member } from '@palisade/contracts';
import type { MembershipRow } from '@palisade/db';

export const toMember = (r: MembershipRow): Member => ({
  id: r.id,
  subject: r.subject,
  email: r.email,
  role: r.role,
  createdAt: r.createdAt.toISOString(),
});
