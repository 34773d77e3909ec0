/**
 * VMs of a tenant and their NICs. Every function takes the tenant id and filters by it (the first
 * lock); callers run them inside withTenant for the same tenant (RLS, the second lock).
 * Allocation values (MCS pair, MAC, IP) come from libs/domain; the unique constraints here have
 * the last word, and callers retry on their violation.
 */
import { and, arrayContains, asc, desc, eq, inArray, like, ne, sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../scope';
import { nics, vms } from '../schema';
import { afterPosition, positionOf, splitPage, type PageParams } from './page';

export type VmRow = typeof vms.$inferSelect;
export type VmInsert = typeof vms.$inferInsert;
export type NicRow = typeof nics.$inferSelect;

export async function getVm(
  tx: Tx,
  p: { tenantId: string; id: string; forUpdate?: boolean; includeDeleted?: boolean },
): Promise<VmRow | undefined> {
  const q = tx
    .select()
    .from(vms)
    .where(
      and(
        eq(vms.tenantId, p.tenantId),
        eq(vms.id, p.id),
        p.includeDeleted ? undefined : ne(vms.desiredState, 'deleted'),
      ),
    );
  const [row] = await (p.forUpdate ? q.for('update') : q);
  return row;
}

export async function listVms(
  tx: Tx,
  p: PageParams & {
    tenantId: string;
    state?: 'running' | 'stopped';
    tag?: string;
    namePrefix?: string;
  },
) {
  const where: (SQL | undefined)[] = [
    eq(vms.tenantId, p.tenantId),
    ne(vms.desiredState, 'deleted'),
    p.state ? eq(vms.desiredState, p.state) : undefined,
    p.tag ? arrayContains(vms.tags, [p.tag]) : undefined,
    p.namePrefix ? like(vms.name, `${p.namePrefix.replace(/[\\%_]/g, '\\$&')}%`) : undefined,
    afterPosition(vms.createdAt, vms.id, p.after),
  ];
  const rows = await tx
    .select({ row: vms, position: positionOf(vms.createdAt), id: vms.id })
    .from(vms)
    .where(and(...where))
    .orderBy(desc(vms.createdAt), desc(vms.id))
    .limit(p.limit + 1);
  const page = splitPage(rows, p.limit);
  return { items: page.items.map((r) => r.row), next: page.next };
}

/** MCS pairs this tenant can see; other tenants' pairs are found by the unique constraint. */
export async function visibleMcsPairs(tx: Tx, p: { tenantId: string }) {
  const rows = await tx
    .select({ c1: vms.mcsC1, c2: vms.mcsC2 })
    .from(vms)
    .where(and(eq(vms.tenantId, p.tenantId), sql`${vms.mcsC1} IS NOT NULL`));
  return rows.map((r) => ({ c1: r.c1!, c2: r.c2! }));
}

export async function insertVm(tx: Tx, values: VmInsert): Promise<VmRow> {
  const [row] = await tx.insert(vms).values(values).returning();
  return row!;
}

export async function updateVm(
  tx: Tx,
  p: { tenantId: string; id: string; set: Partial<Omit<VmInsert, 'id' | 'tenantId'>> },
): Promise<VmRow | undefined> {
  const [row] = await tx
    .update(vms)
    .set({ ...p.set, updatedAt: sql`now()` })
    .where(and(eq(vms.tenantId, p.tenantId), eq(vms.id, p.id)))
    .returning();
  return row;
}

export function nicsOf(tx: Tx, p: { tenantId: string; vmIds: string[] }): Promise<NicRow[]> {
  if (p.vmIds.length === 0) return Promise.resolve([]);
  return tx
    .select()
    .from(nics)
    .where(and(eq(nics.tenantId, p.tenantId), inArray(nics.vmId, p.vmIds)))
    .orderBy(asc(nics.createdAt));
}

export async function ipsInUse(tx: Tx, p: { tenantId: string; networkId: string }) {
  const rows = await tx
    .select({ ip: nics.ip })
    .from(nics)
    .where(and(eq(nics.tenantId, p.tenantId), eq(nics.networkId, p.networkId)));
  return rows.map((r) => r.ip);
}

export async function insertNic(tx: Tx, values: typeof nics.$inferInsert): Promise<NicRow> {
  const [row] = await tx.insert(nics).values(values).returning();
  return row!;
}

export async function countNicsOnNetwork(tx: Tx, p: { tenantId: string; networkId: string }) {
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(nics)
    .innerJoin(vms, eq(vms.id, nics.vmId))
    .where(
      and(
        eq(nics.tenantId, p.tenantId),
        eq(nics.networkId, p.networkId),
        ne(vms.desiredState, 'deleted'),
      ),
    );
  return row?.n ?? 0;
}

/** Removes a deleted VM's row; its NICs go with it (cascade), which frees their MAC and IP, and
 *  the MCS pair and host claim are columns of the row. Only a VM whose desired state is
 *  `deleted` is removed. */
export async function removeDeletedVm(tx: Tx, p: { tenantId: string; id: string }) {
  const rows = await tx
    .delete(vms)
    .where(and(eq(vms.tenantId, p.tenantId), eq(vms.id, p.id), eq(vms.desiredState, 'deleted')))
    .returning({ id: vms.id });
  return rows.length === 1;
}
