import type { Volume } from '@palisade/contracts';
import { getVolume, type Tx, type VolumeRow } from '@palisade/db';
import { notFound } from '../../../resources/errors';

export const toVolume = (r: VolumeRow): Volume => ({
  id: r.id,
  name: r.name,
  sizeGiB: r.sizeGib,
  vmId: r.vmId,
  status: r.status,
  createdAt: r.createdAt.toISOString(),
});

export async function volumeView(tx: Tx, tenantId: string, id: string) {
  const row = await getVolume(tx, { tenantId, id, includeDeleted: true });
  if (!row) throw notFound('volume', id);
  return { volume: toVolume(row) };
}
