import { bigint, pgEnum, pgTable, text, unique, uuid } from 'drizzle-orm/pg-core';
import { id, timestamps } from './columns';
import { tenantId, tenantIsolation } from './tenant-columns';
import { vms } from './vms';

export const snapshotStatus = pgEnum('snapshot_status', [
  'pending',
  'available',
  'deleting',
  'error',
]);

/** A disk snapshot of a VM (internal qcow2 snapshots on its encrypted disks). */
export const snapshots = pgTable(
  'snapshots',
  {
    id: id(),
    tenantId: tenantId(),
    vmId: uuid()
      .notNull()
      .references(() => vms.id, { onDelete: 'restrict' }),
    name: text().notNull(),
    status: snapshotStatus().notNull().default('pending'),
    sizeBytes: bigint({ mode: 'number' }),
    ...timestamps(),
  },
  (t) => [unique('snapshots_vm_name').on(t.vmId, t.name), tenantIsolation('snapshots')],
).enableRLS();
