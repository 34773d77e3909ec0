/**
 * Fixtures for resource tests: the catalogue a tenant needs (flavors, a public image, a VXLAN
 * fabric), quotas, and the two things only a worker does in production (ending an operation,
 * reporting a VM's observed state), done here on the audited platform scope.
 */
import { eq } from 'drizzle-orm';
import { schema, setQuota, withPlatform, type Db, type ResourceCounts } from '@palisade/db';

export interface Catalog {
  small: string;
  large: string;
  image: string;
  fabric: string;
}

export async function seedCatalog(db: Db): Promise<Catalog> {
  const s = Math.random().toString(36).slice(2, 8);
  return withPlatform(db, 'test fixture: catalogue', async (tx) => {
    const [small, large] = await tx
      .insert(schema.flavors)
      .values([
        { name: `t${s}.small`, vcpus: 1, ramMib: 256, diskGib: 2 },
        { name: `t${s}.large`, vcpus: 4, ramMib: 1024, diskGib: 8 },
      ])
      .returning({ id: schema.flavors.id });
    const [image] = await tx
      .insert(schema.images)
      .values({
        name: `tiny-${s}`,
        os: 'linux',
        format: 'qcow2',
        sizeBytes: 1 << 20,
        checksum: 'a'.repeat(64),
        visibility: 'public',
        status: 'active',
      })
      .returning({ id: schema.images.id });
    const [fabric] = await tx
      .insert(schema.fabrics)
      .values({ name: `fab-${s}`, type: 'vxlan', device: 'lo', segmentRanges: '5000-5999' })
      .returning({ id: schema.fabrics.id });
    return { small: small!.id, large: large!.id, image: image!.id, fabric: fabric!.id };
  });
}

export const roomy: Partial<ResourceCounts> = {
  vcpus: 64,
  ramMiB: 65_536,
  diskGiB: 1024,
  vms: 50,
  volumes: 50,
  snapshots: 50,
  networks: 10,
};

export function quota(db: Db, tenantId: string, limits: Partial<ResourceCounts>) {
  return withPlatform(db, 'test fixture: quota', (tx) => setQuota(tx, { tenantId, limits }));
}

/** What a worker does when it ends an operation. */
export function endOperation(
  db: Db,
  id: string,
  state: 'running' | 'succeeded' | 'failed' = 'succeeded',
) {
  const done = state !== 'running';
  return withPlatform(db, 'test fixture: worker ends operation', (tx) =>
    tx
      .update(schema.operations)
      .set({
        state,
        progress: done ? 100 : 50,
        ...(state === 'failed' && { errorCode: 'host.unreachable', errorMessage: 'host down' }),
        finishedAt: done ? new Date() : null,
        updatedAt: new Date(),
      })
      .where(eq(schema.operations.id, id)),
  );
}

/** What a host's agent reports, as the worker records it. */
export function observe(db: Db, vmId: string, observedState: 'running' | 'stopped') {
  return withPlatform(db, 'test fixture: host reports state', (tx) =>
    tx.update(schema.vms).set({ observedState }).where(eq(schema.vms.id, vmId)),
  );
}
