import type { SshKey } from '@palisade/contracts';
import type { SshKeyRow } from '@palisade/db';

export const toSshKey = (r: SshKeyRow): SshKey => ({
  id: r.id,
  name: r.name,
  publicKey: r.publicKey,
  fingerprint: r.fingerprint,
  createdAt: r.createdAt.toISOString(),
});
