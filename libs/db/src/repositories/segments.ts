/**
 * Where tenant segments live on hosts, as the control plane knows it. A segment (a bridge with
 * its VXLAN or VLAN uplink) is made lazily on a host when a VM there first needs it; these
 * queries tell the workflows when a host no longer needs one, and which hosts may hold one of a
 * network that goes away. Also the last steps of a network's life (removing its row).
 *
 * Platform scope: a host's bridge is named after the segment (type and ID), not its tenant, so
 * users are counted across tenants.
 */
import { and, eq, ne, sql } from 'drizzle-orm';
import type { Tx } from '../scope';
import { hostFabrics, hosts, networks, nics, vms } from '../schema';

/**
 * VMs other than `exceptVmId` that hold `hostId` and have a NIC on the segment. A VM whose
 * domain a delete has destroyed (observed `deleted`) no longer counts: of two VMs deleted at
 * once, the later check then sees neither, so the bridge is removed once.
 */
export async function segmentUsersOnHost(
  tx: Tx,
  p: {
    hostId: string;
    segmentType: 'vlan' | 'vxlan';
    segmentId: number;
    exceptVmId?: string;
  },
): Promise<number> {
  const [row] = await tx
    .select({ n: sql<number>`count(DISTINCT ${vms.id})::int` })
    .from(vms)
    .innerJoin(nics, eq(nics.vmId, vms.id))
    .innerJoin(networks, eq(networks.id, nics.networkId))
    .where(
      and(
        eq(vms.hostId, p.hostId),
        eq(networks.segmentType, p.segmentType),
        eq(networks.segmentId, p.segmentId),
        ne(vms.observedState, 'deleted'),
        p.exceptVmId ? ne(vms.id, p.exceptVmId) : undefined,
      ),
    );
  return row?.n ?? 0;
}

/** Hosts wired to a fabric: the only ones that can hold a segment of the fabric's networks. */
export function hostsOfFabric(tx: Tx, p: { fabricId: string }) {
  return tx
    .select({ id: hosts.id, name: hosts.name, state: hosts.state, agentUrl: hosts.agentUrl })
    .from(hosts)
    .innerJoin(hostFabrics, eq(hostFabrics.hostId, hosts.id))
    .where(eq(hostFabrics.fabricId, p.fabricId))
    .orderBy(hosts.name);
}

/** Every NIC row on the network, including those of VMs a delete has not removed yet (the API's
 *  `countNicsOnNetwork` leaves those out; the row's foreign key does not). */
export async function nicRowsOnNetwork(
  tx: Tx,
  p: { tenantId: string; networkId: string },
): Promise<number> {
  const [row] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(nics)
    .where(and(eq(nics.tenantId, p.tenantId), eq(nics.networkId, p.networkId)));
  return row?.n ?? 0;
}

/** Removes a network's row, which frees its segment ID (VNI or VLAN) on its fabric. True when
 *  this call removed it: callers give quota back only then, so a repeat gives nothing twice. */
export async function removeNetwork(tx: Tx, p: { tenantId: string; id: string }) {
  const rows = await tx
    .delete(networks)
    .where(and(eq(networks.tenantId, p.tenantId), eq(networks.id, p.id)))
    .returning({ id: networks.id });
  return rows.length === 1;
}
