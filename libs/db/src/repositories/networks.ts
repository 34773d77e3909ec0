/** Networks of a tenant; segment IDs are unique per fabric cluster-wide, by constraint. */
import { and, asc, desc, eq, ne, type SQL } from 'drizzle-orm';
import type { Tx } from '../scope';
import { fabrics, networks } from '../schema';
import { afterPosition, positionOf, splitPage, type PageParams } from './page';

export type NetworkRow = typeof networks.$inferSelect;
export type FabricRow = typeof fabrics.$inferSelect;

export async function getNetwork(
  tx: Tx,
  p: { tenantId: string; id: string; forUpdate?: boolean; includeDeleted?: boolean },
): Promise<NetworkRow | undefined> {
  const q = tx
    .select()
    .from(networks)
    .where(
      and(
        eq(networks.tenantId, p.tenantId),
        eq(networks.id, p.id),
        p.includeDeleted ? undefined : ne(networks.status, 'deleting'),
      ),
    );
  const [row] = await (p.forUpdate ? q.for('update') : q);
  return row;
}

export async function listNetworks(tx: Tx, p: PageParams & { tenantId: string }) {
  const where: (SQL | undefined)[] = [
    eq(networks.tenantId, p.tenantId),
    ne(networks.status, 'deleting'),
    afterPosition(networks.createdAt, networks.id, p.after),
  ];
  const rows = await tx
    .select({ row: networks, position: positionOf(networks.createdAt), id: networks.id })
    .from(networks)
    .where(and(...where))
    .orderBy(desc(networks.createdAt), desc(networks.id))
    .limit(p.limit + 1);
  const page = splitPage(rows, p.limit);
  return { items: page.items.map((r) => r.row), next: page.next };
}

/** Segment IDs of the fabric this tenant can see; others' are found by the unique constraint. */
export async function visibleSegmentIds(tx: Tx, p: { tenantId: string; fabricId: string }) {
  const rows = await tx
    .select({ s: networks.segmentId })
    .from(networks)
    .where(and(eq(networks.tenantId, p.tenantId), eq(networks.fabricId, p.fabricId)));
  return rows.map((r) => r.s);
}

export async function insertNetwork(tx: Tx, values: typeof networks.$inferInsert) {
  const [row] = await tx.insert(networks).values(values).returning();
  return row!;
}

export async function setNetworkStatus(
  tx: Tx,
  p: { tenantId: string; id: string; status: NetworkRow['status'] },
) {
  const [row] = await tx
    .update(networks)
    .set({ status: p.status, updatedAt: new Date() })
    .where(and(eq(networks.tenantId, p.tenantId), eq(networks.id, p.id)))
    .returning();
  return row;
}

/** Fabrics are global (operators configure them); tenants read them to place networks. */
export async function getFabric(tx: Tx, p: { id?: string }): Promise<FabricRow | undefined> {
  const q = tx.select().from(fabrics);
  const [row] = await (p.id
    ? q.where(eq(fabrics.id, p.id))
    : q.orderBy(asc(fabrics.name)).limit(1));
  return row;
}
