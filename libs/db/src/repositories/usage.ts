/**
 * The quota ledger. `lockUsage` takes the tenant's usage row FOR UPDATE, so every path that
 * consumes resources serialises on it for the rest of its transaction: two concurrent creates
 * cannot both see the last free vCPU. The arithmetic is libs/domain's (checkQuota, applyDelta);
 * this module only moves numbers between the columns and the domain's shape.
 */
import { eq, sql } from 'drizzle-orm';
import type { Tx } from '../scope';
import { quotas, tenants, tenantUsage } from '../schema';

/** The domain's resource shape (libs/domain `Resources`), spelled out to keep db free of it. */
export interface ResourceCounts {
  vcpus: number;
  ramMiB: number;
  diskGiB: number;
  vms: number;
  volumes: number;
  snapshots: number;
  networks: number;
  publicIps: number;
}

type Columns = typeof tenantUsage.$inferSelect;

const toCounts = (r: Omit<Columns, 'tenantId' | 'updatedAt'>): ResourceCounts => ({
  vcpus: r.vcpus,
  ramMiB: r.ramMib,
  diskGiB: r.diskGib,
  vms: r.vms,
  volumes: r.volumes,
  snapshots: r.snapshots,
  networks: r.networks,
  publicIps: r.publicIps,
});

const toColumns = (c: Partial<ResourceCounts>) => ({
  ...(c.vcpus !== undefined && { vcpus: c.vcpus }),
  ...(c.ramMiB !== undefined && { ramMib: c.ramMiB }),
  ...(c.diskGiB !== undefined && { diskGib: c.diskGiB }),
  ...(c.vms !== undefined && { vms: c.vms }),
  ...(c.volumes !== undefined && { volumes: c.volumes }),
  ...(c.snapshots !== undefined && { snapshots: c.snapshots }),
  ...(c.networks !== undefined && { networks: c.networks }),
  ...(c.publicIps !== undefined && { publicIps: c.publicIps }),
});

const ZERO: ResourceCounts = {
  vcpus: 0,
  ramMiB: 0,
  diskGiB: 0,
  vms: 0,
  volumes: 0,
  snapshots: 0,
  networks: 0,
  publicIps: 0,
};

/**
 * Locks and returns the tenant's usage and limits. A tenant without a usage row gets one (all
 * zero) first; a tenant without a quota row has limits of zero: nothing is free by default.
 */
export async function lockUsage(
  tx: Tx,
  p: { tenantId: string },
): Promise<{ usage: ResourceCounts; limits: ResourceCounts }> {
  await tx.insert(tenantUsage).values({ tenantId: p.tenantId }).onConflictDoNothing();
  const [usage] = await tx
    .select()
    .from(tenantUsage)
    .where(eq(tenantUsage.tenantId, p.tenantId))
    .for('update');
  const limits = await readLimits(tx, p);
  return { usage: toCounts(usage!), limits };
}

export async function readLimits(tx: Tx, p: { tenantId: string }): Promise<ResourceCounts> {
  const [limits] = await tx.select().from(quotas).where(eq(quotas.tenantId, p.tenantId));
  return limits ? toCounts(limits) : { ...ZERO };
}

/** Usage without a lock (for reading, never for deciding). */
export async function readUsage(tx: Tx, p: { tenantId: string }): Promise<ResourceCounts> {
  const [usage] = await tx.select().from(tenantUsage).where(eq(tenantUsage.tenantId, p.tenantId));
  return usage ? toCounts(usage) : { ...ZERO };
}

/** Writes usage the caller computed while holding the lock from `lockUsage`. */
export async function writeUsage(
  tx: Tx,
  p: { tenantId: string; usage: ResourceCounts },
): Promise<void> {
  await tx
    .update(tenantUsage)
    .set({ ...toColumns(p.usage), updatedAt: sql`now()` })
    .where(eq(tenantUsage.tenantId, p.tenantId));
}

/** Operators set limits (platform scope); unnamed resources keep their current limit. */
export async function setQuota(
  tx: Tx,
  p: { tenantId: string; limits: Partial<ResourceCounts> },
): Promise<ResourceCounts> {
  const cols = toColumns(p.limits);
  const [row] = await tx
    .insert(quotas)
    .values({ tenantId: p.tenantId, ...cols })
    .onConflictDoUpdate({ target: quotas.tenantId, set: { ...cols, updatedAt: sql`now()` } })
    .returning();
  return toCounts(row!);
}

/** Whether a tenant exists (operators' quota changes name it; platform scope). */
export async function tenantExists(tx: Tx, p: { tenantId: string }): Promise<boolean> {
  const [row] = await tx.select({ id: tenants.id }).from(tenants).where(eq(tenants.id, p.tenantId));
  return row !== undefined;
}
