/** Volumes and snapshots of a tenant. */
import { and, desc, eq, notInArray, type SQL } from 'drizzle-orm';
import type { Tx } from '../scope';
import { snapshots, volumes } from '../schema';
import { afterPosition, positionOf, splitPage, type PageParams } from './page';

export type VolumeRow = typeof volumes.$inferSelect;
export type SnapshotRow = typeof snapshots.$inferSelect;

const GONE_VOLUME = ['deleting', 'deleted'] as ('deleting' | 'deleted')[];

export async function getVolume(
  tx: Tx,
  p: { tenantId: string; id: string; forUpdate?: boolean; includeDeleted?: boolean },
): Promise<VolumeRow | undefined> {
  const q = tx
    .select()
    .from(volumes)
    .where(
      and(
        eq(volumes.tenantId, p.tenantId),
        eq(volumes.id, p.id),
        p.includeDeleted ? undefined : notInArray(volumes.status, GONE_VOLUME),
      ),
    );
  const [row] = await (p.forUpdate ? q.for('update') : q);
  return row;
}

export async function listVolumes(tx: Tx, p: PageParams & { tenantId: string; vmId?: string }) {
  const where: (SQL | undefined)[] = [
    eq(volumes.tenantId, p.tenantId),
    notInArray(volumes.status, GONE_VOLUME),
    p.vmId ? eq(volumes.vmId, p.vmId) : undefined,
    afterPosition(volumes.createdAt, volumes.id, p.after),
  ];
  const rows = await tx
    .select({ row: volumes, position: positionOf(volumes.createdAt), id: volumes.id })
    .from(volumes)
    .where(and(...where))
    .orderBy(desc(volumes.createdAt), desc(volumes.id))
    .limit(p.limit + 1);
  const page = splitPage(rows, p.limit);
  return { items: page.items.map((r) => r.row), next: page.next };
}

export async function insertVolume(tx: Tx, values: typeof volumes.$inferInsert) {
  const [row] = await tx.insert(volumes).values(values).returning();
  return row!;
}

export async function updateVolume(
  tx: Tx,
  p: { tenantId: string; id: string; set: Partial<typeof volumes.$inferInsert> },
) {
  const [row] = await tx
    .update(volumes)
    .set({ ...p.set, updatedAt: new Date() })
    .where(and(eq(volumes.tenantId, p.tenantId), eq(volumes.id, p.id)))
    .returning();
  return row!;
}

export async function getSnapshot(
  tx: Tx,
  p: { tenantId: string; id: string; forUpdate?: boolean; includeDeleted?: boolean },
): Promise<SnapshotRow | undefined> {
  const q = tx
    .select()
    .from(snapshots)
    .where(
      and(
        eq(snapshots.tenantId, p.tenantId),
        eq(snapshots.id, p.id),
        p.includeDeleted ? undefined : notInArray(snapshots.status, ['deleting']),
      ),
    );
  const [row] = await (p.forUpdate ? q.for('update') : q);
  return row;
}

export async function listSnapshots(tx: Tx, p: PageParams & { tenantId: string; vmId?: string }) {
  const where: (SQL | undefined)[] = [
    eq(snapshots.tenantId, p.tenantId),
    notInArray(snapshots.status, ['deleting']),
    p.vmId ? eq(snapshots.vmId, p.vmId) : undefined,
    afterPosition(snapshots.createdAt, snapshots.id, p.after),
  ];
  const rows = await tx
    .select({ row: snapshots, position: positionOf(snapshots.createdAt), id: snapshots.id })
    .from(snapshots)
    .where(and(...where))
    .orderBy(desc(snapshots.createdAt), desc(snapshots.id))
    .limit(p.limit + 1);
  const page = splitPage(rows, p.limit);
  return { items: page.items.map((r) => r.row), next: page.next };
}

export async function insertSnapshot(tx: Tx, values: typeof snapshots.$inferInsert) {
  const [row] = await tx.insert(snapshots).values(values).returning();
  return row!;
}

export async function updateSnapshot(
  tx: Tx,
  p: { tenantId: string; id: string; set: Partial<typeof snapshots.$inferInsert> },
) {
  const [row] = await tx
    .update(snapshots)
    .set({ ...p.set, updatedAt: new Date() })
    .where(and(eq(snapshots.tenantId, p.tenantId), eq(snapshots.id, p.id)))
    .returning();
  return row!;
}

export async function getSnapshotByName(
  tx: Tx,
  p: { tenantId: string; vmId: string; name: string },
): Promise<SnapshotRow | undefined> {
  const [row] = await tx
    .select()
    .from(snapshots)
    .where(
      and(
        eq(snapshots.tenantId, p.tenantId),
        eq(snapshots.vmId, p.vmId),
        eq(snapshots.name, p.name),
      ),
    );
  return row;
}

/** Every volume row of a VM, whatever its status (workflows clean up half-made ones too). */
export function volumesOfVm(tx: Tx, p: { tenantId: string; vmId: string }) {
  return tx
    .select()
    .from(volumes)
    .where(and(eq(volumes.tenantId, p.tenantId), eq(volumes.vmId, p.vmId)));
}

export async function removeVolume(tx: Tx, p: { tenantId: string; id: string }) {
  await tx.delete(volumes).where(and(eq(volumes.tenantId, p.tenantId), eq(volumes.id, p.id)));
}

/** Removes a snapshot row; true when this call removed it (compensation gives quota back once). */
export async function removeSnapshot(tx: Tx, p: { tenantId: string; id: string }) {
  const rows = await tx
    .delete(snapshots)
    .where(and(eq(snapshots.tenantId, p.tenantId), eq(snapshots.id, p.id)))
    .returning({ id: snapshots.id });
  return rows.length === 1;
}

/** Removes every snapshot row of a VM (its disks, which held them, are gone) and says how many of
 *  them still counted against quota (a `deleting` one was given back when its delete was accepted). */
export async function removeSnapshotsOfVm(
  tx: Tx,
  p: { tenantId: string; vmId: string },
): Promise<{ removed: number; charged: number }> {
  const rows = await tx
    .delete(snapshots)
    .where(and(eq(snapshots.tenantId, p.tenantId), eq(snapshots.vmId, p.vmId)))
    .returning({ status: snapshots.status });
  return { removed: rows.length, charged: rows.filter((r) => r.status !== 'deleting').length };
}
