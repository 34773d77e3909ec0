import type { Snapshot } from '@palisade/contracts';
import type { SnapshotRow } from '@palisade/db';

export const toSnapshot = (r: SnapshotRow): Snapshot => ({
  id: r.id,
  vmId: r.vmId,
  name: r.name,
  status: r.status,
  sizeBytes: r.sizeBytes,
  createdAt: r.createdAt.toISOString(),
});
