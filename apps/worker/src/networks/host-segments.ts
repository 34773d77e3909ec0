/**
 * Segment cleanup on a VM's host: when a VM leaves a host (its delete, or the compensation of a
 * failed create), each segment of its networks that no other VM on that host uses is removed
 * there (bridge and uplink), so no empty bridge stays behind. Segments are made lazily, on the
 * hosts where a VM needs one (`vm.create`'s `segment` step, and `ensure-running` on every start),
 * so removing an idle one costs nothing later.
 *
 * Users are counted in the database (segments.ts: VMs holding the host with a NIC on the segment,
 * a destroyed one no longer counting), and the host has the last word: it refuses (409) while a
 * domain's interface is still on the bridge, and that refusal leaves the bridge in place instead
 * of failing the VM's operation. A start that loses a race with a removal (the bridge goes
 * between its `ensure-running`'s segment step and the domain's start) fails, and its retry makes
 * the bridge again: `ensure-running` ensures every segment of the VM first.
 *
 * Known gap: two creates failing on one host at the same time each still count the other (both
 * hold the host while compensating), so their bridge can stay; the next VM to leave that host
 * over the segment, or the reconciler (`GET /v1/segments`), removes it.
 *
 * Must never: fail a VM's delete because a bridge is still someone else's; remove a bridge of a
 * segment another VM on the host still has.
 */
import { Logger } from '@nestjs/common';
import { ErrorCode } from '@palisade/contracts';
import { getNetwork, nicsOf, segmentUsersOnHost } from '@palisade/db';
import { StepRefused } from '../operations/engine';
import type { AgentClient } from '../vms/agent-client';
import { vmHost, type VmContext, type VmWorkflowDeps } from '../vms/vm-host';

const log = new Logger('host-segments');

export type SegmentRef = { type: 'vlan' | 'vxlan'; id: number };

/** Removes the segment from one host; false (and the bridge stays) when the host refuses
 *  because something still uses it. */
export async function removeSegmentFrom(
  agent: AgentClient,
  operationId: string,
  segment: SegmentRef,
  where: string,
): Promise<boolean> {
  try {
    await agent.removeSegment({ operationId, segment });
    return true;
  } catch (e) {
    if (e instanceof StepRefused && e.code === ErrorCode.CONFLICT) {
      log.warn(`segment ${segment.type}:${segment.id} stays on ${where}: ${e.message}`);
      return false;
    }
    throw e;
  }
}

export function hostSegments(deps: VmWorkflowDeps) {
  const { tx, vmOf, agentOf } = vmHost(deps);

  /** The segments of the VM's networks, read even while a network is being deleted. */
  const segmentsOfVm = (c: VmContext) =>
    tx(`vm ${c.vmId}: segments`, async (t) => {
      const rows = await nicsOf(t, { tenantId: c.tenantId, vmIds: [c.vmId] });
      const out = new Map<string, SegmentRef>();
      // One query at a time: a transaction is one connection.
      for (const n of rows) {
        const net = await getNetwork(t, {
          tenantId: c.tenantId,
          id: n.networkId,
          includeDeleted: true,
        });
        if (net)
          out.set(`${net.segmentType}:${net.segmentId}`, {
            type: net.segmentType,
            id: net.segmentId,
          });
      }
      return [...out.values()];
    });

  /**
   * Removes from the VM's host every segment of the VM's networks that no other VM there uses.
   * Idempotent: an absent bridge is removed successfully, and the count does not change on a
   * repeat. A VM that holds no host has nothing to clean.
   */
  async function releaseIdleSegments(c: VmContext): Promise<void> {
    const vm = await vmOf(c);
    if (!vm.hostId) return;
    const hostId = vm.hostId;
    const agent = await agentOf(vm);
    if (!agent) return;
    for (const segment of await segmentsOfVm(c)) {
      const users = await tx(`host ${hostId}: users of ${segment.type}:${segment.id}`, (t) =>
        segmentUsersOnHost(t, {
          hostId,
          segmentType: segment.type,
          segmentId: segment.id,
          exceptVmId: vm.id,
        }),
      );
      if (users === 0) await removeSegmentFrom(agent, c.op.id, segment, `host ${hostId}`);
    }
  }

  return { releaseIdleSegments };
}
