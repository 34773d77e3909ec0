import type { Network } from '@palisade/contracts';
import { getNetwork, type NetworkRow, type Tx } from '@palisade/db';
import { notFound } from '../../../resources/errors';

export const toNetwork = (r: NetworkRow): Network => ({
  id: r.id,
  name: r.name,
  cidr: r.cidr,
  gateway: r.gateway?.replace(/\/32$/, '') ?? null,
  segmentType: r.segmentType,
  segmentId: r.segmentId,
  fabricId: r.fabricId,
  status: r.status,
  createdAt: r.createdAt.toISOString(),
});

export async function networkView(tx: Tx, tenantId: string, id: string) {
  const row = await getNetwork(tx, { tenantId, id, includeDeleted: true });
  if (!row) throw notFound('network', id);
  return { network: toNetwork(row) };
}
