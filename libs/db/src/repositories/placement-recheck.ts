/**
 * Re-checking the host a VM already holds, for a change of its footprint (a resize): under the
 * host's row lock, as a claim is made (placement-claims.ts), so a resize and a concurrent
 * placement on the same host serialise and never overcommit it together.
 *
 * A VM's claim on its host is `vms.host_id` with the VM's flavor (allocations are summed from
 * the flavors of the VMs a host holds), so the claim follows `vms.flavor_id`; this only answers
 * whether the host can still hold the VM at the requested size, with the per-filter reason when
 * it cannot.
 *
 * Platform scope: the host's other VMs are other tenants'.
 */
import { eq } from 'drizzle-orm';
import {
  rejectHost,
  type PlaceOptions,
  type PlacementRequest,
  type Rejection,
} from '@palisade/domain';
import type { Db } from '../client';
import { withPlatform } from '../scope';
import { flavors, hosts, vms } from '../schema';
import { toPlacementHost } from './placement-claims';

export type RecheckResult =
  | { ok: true; hostId: string | null }
  | { ok: false; hostId: string; hostName: string; rejection: Rejection };

/**
 * Whether the VM's host fits `request` in place of the VM's current flavor. A VM that holds no
 * host fits trivially (it is placed when it is next created or migrated).
 */
export async function recheckHeldHost(
  db: Db,
  p: { vmId: string; request: PlacementRequest; options: PlaceOptions },
): Promise<RecheckResult> {
  return withPlatform(db, `placement of vm ${p.vmId}: recheck held host`, async (tx) => {
    const [vm] = await tx
      .select({
        hostId: vms.hostId,
        vcpus: flavors.vcpus,
        ramMiB: flavors.ramMib,
        diskGiB: flavors.diskGib,
      })
      .from(vms)
      .innerJoin(flavors, eq(flavors.id, vms.flavorId))
      .where(eq(vms.id, p.vmId));
    if (!vm?.hostId) return { ok: true, hostId: null };
    const [h] = await tx.select().from(hosts).where(eq(hosts.id, vm.hostId)).for('update');
    if (!h) throw new Error(`vm ${p.vmId}: its host ${vm.hostId} vanished`);
    const host = await toPlacementHost(tx, h);
    // The sum already counts this VM at its current flavor: take it out, then ask for the request.
    const others = {
      ...host,
      allocated: {
        vcpus: host.allocated.vcpus - vm.vcpus,
        ramMiB: host.allocated.ramMiB - vm.ramMiB,
        diskGiB: host.allocated.diskGiB - vm.diskGiB,
      },
    };
    const rejection = rejectHost(others, p.request, p.options);
    return rejection
      ? { ok: false, hostId: h.id, hostName: h.name, rejection }
      : { ok: true, hostId: h.id };
  });
}
