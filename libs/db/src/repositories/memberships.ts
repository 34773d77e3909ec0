/**
 * Memberships decide which tenants a principal may act in, and with which role. Resolving them is
 * the one read that must look across tenants (the caller has not picked one yet), so it runs in
 * the platform scope, for exactly one subject.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { withPlatform, type Tx } from '../scope';
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

// ---- A tenant's own view of its members (run inside withTenant for the same tenant). ----

export type MembershipRow = typeof memberships.$inferSelect;

export function listMembers(tx: Tx, p: { tenantId: string }): Promise<MembershipRow[]> {
  return tx
    .select()
    .from(memberships)
    .where(eq(memberships.tenantId, p.tenantId))
    .orderBy(asc(memberships.createdAt), asc(memberships.id));
}

/** The member, locked for the rest of the transaction (role changes and removals). */
export async function getMemberForUpdate(
  tx: Tx,
  p: { tenantId: string; id: string },
): Promise<MembershipRow | undefined> {
  const [row] = await tx
    .select()
    .from(memberships)
    .where(and(eq(memberships.tenantId, p.tenantId), eq(memberships.id, p.id)))
    .for('update');
  return row;
}

/**
 * The tenant's owners, locked. Two concurrent demotions of two different owners both take these
 * locks first, so the second one sees the first one's result and the tenant keeps an owner.
 */
export async function lockOwners(tx: Tx, p: { tenantId: string }): Promise<string[]> {
  const rows = await tx
    .select({ id: memberships.id })
    .from(memberships)
    .where(and(eq(memberships.tenantId, p.tenantId), eq(memberships.role, 'owner')))
    .orderBy(asc(memberships.id))
    .for('update');
  return rows.map((r) => r.id);
}

/** Inserts a membership; undefined when the subject is already a member (nothing changed). */
export async function insertMember(
  tx: Tx,
  p: { tenantId: string; subject: string; email: string | null; role: MembershipRow['role'] },
): Promise<MembershipRow | undefined> {
  const [row] = await tx.insert(memberships).values(p).onConflictDoNothing().returning();
  return row;
}

export async function setMemberRole(
  tx: Tx,
  p: { tenantId: string; id: string; role: MembershipRow['role'] },
): Promise<MembershipRow | undefined> {
  const [row] = await tx
    .update(memberships)
    .set({ role: p.role, updatedAt: sql`now()` })
    .where(and(eq(memberships.tenantId, p.tenantId), eq(memberships.id, p.id)))
    .returning();
  return row;
}

export async function deleteMember(
  tx: Tx,
  p: { tenantId: string; id: string },
): Promise<MembershipRow | undefined> {
  const [row] = await tx
    .delete(memberships)
    .where(and(eq(memberships.tenantId, p.tenantId), eq(memberships.id, p.id)))
    .returning();
  return row;
}
