/**
 * Memberships decide which tenants a principal may act in, and with which role. Resolving them is
 * the one read that must look across tenants (the caller has not picked one yet), so it runs in
 * the platform scope, for exactly one subject.
 */
import { and, eq } from 'drizzle-orm';
import type { Db } from '../client';
import { withPlatform } from '../scope';
import { memberships, tenants } from '../schema';

export interface MembershipView {
  tenantId: string;
  tenantSlug: string;
  tenantName: string;
  tenantStatus: 'active' | 'suspended' | 'deleting';
  role: 'owner' | 'admin' | 'member' | 'viewer';
}

export function membershipsOf(db: Db, subject: string): Promise<MembershipView[]> {
  return withPlatform(db, `resolve memberships of ${subject}`, (tx) =>
    tx
      .select({
        tenantId: tenants.id,
        tenantSlug: tenants.slug,
        tenantName: tenants.name,
        tenantStatus: tenants.status,
        role: memberships.role,
      })
      .from(memberships)
      .innerJoin(tenants, eq(tenants.id, memberships.tenantId))
      .where(eq(memberships.subject, subject))
      .orderBy(tenants.slug),
  );
}

export function addMembership(
  db: Db,
  params: { tenantId: string; subject: string; role: MembershipView['role']; email?: string },
  reason: string,
) {
  return withPlatform(db, reason, (tx) =>
    tx
      .insert(memberships)
      .values(params)
      .onConflictDoUpdate({
        target: [memberships.tenantId, memberships.subject],
        set: { role: params.role },
      })
      .returning(),
  );
}

export function removeMembership(
  db: Db,
  params: { tenantId: string; subject: string },
  reason: string,
) {
  return withPlatform(db, reason, (tx) =>
    tx
      .delete(memberships)
      .where(
        and(eq(memberships.tenantId, params.tenantId), eq(memberships.subject, params.subject)),
      ),
  );
}
