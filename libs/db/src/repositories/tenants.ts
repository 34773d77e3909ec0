/**
 * Tenants, as operators see them. Creating, listing and changing a tenant's status are platform
 * work: callers run these inside withPlatform (the tenants RLS policy lets only the platform scope
 * write). The status is what the API checks on every tenant request, so a suspension takes effect
 * on the next request.
 */
import { asc, eq, sql } from 'drizzle-orm';
import type { Tx } from '../scope';
import { tenants } from '../schema';

export type TenantRow = typeof tenants.$inferSelect;
export type TenantStatus = TenantRow['status'];

export async function insertTenant(
  tx: Tx,
  p: { slug: string; name: string; keycloakGroupId: string | null },
): Promise<TenantRow> {
  const [row] = await tx.insert(tenants).values(p).returning();
  return row!;
}

export function listTenants(tx: Tx): Promise<TenantRow[]> {
  return tx.select().from(tenants).orderBy(asc(tenants.slug));
}

export async function getTenant(tx: Tx, p: { id: string }): Promise<TenantRow | undefined> {
  const [row] = await tx.select().from(tenants).where(eq(tenants.id, p.id));
  return row;
}

export async function getTenantBySlug(tx: Tx, p: { slug: string }): Promise<TenantRow | undefined> {
  const [row] = await tx.select().from(tenants).where(eq(tenants.slug, p.slug));
  return row;
}

/** Locks the row, so that two status changes of one tenant apply one after the other. */
export async function getTenantForUpdate(
  tx: Tx,
  p: { id: string },
): Promise<TenantRow | undefined> {
  const [row] = await tx.select().from(tenants).where(eq(tenants.id, p.id)).for('update');
  return row;
}

export async function setTenantStatus(
  tx: Tx,
  p: { id: string; status: TenantStatus },
): Promise<TenantRow | undefined> {
  const [row] = await tx
    .update(tenants)
    .set({ status: p.status, updatedAt: sql`now()` })
    .where(eq(tenants.id, p.id))
    .returning();
  return row;
}
