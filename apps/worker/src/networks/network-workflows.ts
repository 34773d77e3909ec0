/**
 * The `network.create` and `network.delete` workflows.
 *
 * A network's host side is made lazily: the bridge and uplink of its segment appear on a host
 * when a VM there first needs them (`vm.create`'s `segment` step, `ensure-running`), and go when
 * the last VM there leaves (host-segments.ts). So:
 *
 * network.create: validate (what hosts will need: the fabric exists and is of the network's
 * segment type, the segment ID is inside the fabric's ranges, the subnet and gateway are sound)
 * -> activate (status `active`). Compensation gives the allocation back: the row goes (freeing
 * the VNI or VLAN ID) and one network of quota with it, unless a VM already has a NIC on it;
 * then it stays, in `error`, for the tenant to delete.
 *
 * network.delete (the API refused it while a VM not being deleted has a NIC on it, marked it
 * `deleting` and gave the quota back): nics (wait, retrying, for the NICs of VMs still being
 * deleted to go) -> segments (removed from every reachable host of the fabric) -> remove (the
 * row: the segment ID is free again). Compensation puts the network back to `active` and takes
 * its quota again, once (guarded by the `deleting` status in the same transaction).
 *
 * Must never: give a segment ID back while a NIC may still use it; give quota back twice.
 */
import { Logger } from '@nestjs/common';
import { ErrorCode } from '@palisade/contracts';
import {
  getFabric,
  getNetwork,
  hostsOfFabric,
  lockUsage,
  nicRowsOnNetwork,
  removeNetwork,
  setNetworkStatus,
  withPlatform,
  writeUsage,
  type NetworkRow,
  type OperationRow,
} from '@palisade/db';
import {
  addResources,
  ipv4Subnet,
  isSegmentIdInRanges,
  parseSegmentRanges,
  subtractResources,
} from '@palisade/domain';
import { StepRefused, type Workflow } from '../operations/engine';
import { AgentClient } from '../vms/agent-client';
import type { VmWorkflowDeps } from '../vms/vm-host';
import { removeSegmentFrom } from './host-segments';

export interface NetworkContext {
  op: OperationRow;
  tenantId: string;
  networkId: string;
}

/** Hosts whose agent cannot answer now; their bridges are the reconciler's to remove later (a
 *  bridge of a segment no NIC uses carries nothing, and is what a later network with the same
 *  segment ID would use anyway). */
const UNREACHABLE = new Set(['enrolling', 'unreachable']);

async function networkContext(op: OperationRow): Promise<NetworkContext> {
  if (!op.tenantId) throw new StepRefused(`operation ${op.id} has no tenant`, 'operation.invalid');
  return { op, tenantId: op.tenantId, networkId: op.targetId };
}

export function networkWorkflows(deps: VmWorkflowDeps): Workflow<NetworkContext>[] {
  const { db, tls } = deps;
  const log = new Logger('network-workflows');
  const tx = <T>(why: string, fn: Parameters<typeof withPlatform<T>>[2]) =>
    withPlatform(db, why, fn);

  const networkOf = async (c: NetworkContext): Promise<NetworkRow> => {
    const row = await tx(`network ${c.networkId}: read`, (t) =>
      getNetwork(t, { tenantId: c.tenantId, id: c.networkId, includeDeleted: true }),
    );
    if (!row)
      throw new StepRefused(`Network ${c.networkId} no longer exists.`, ErrorCode.NOT_FOUND);
    return row;
  };

  /** Compensation of a create: the allocation and its quota go back, or the row stays in error
   *  when a VM already uses it. Ledger first, then the network (ledger.ts, lock order). */
  async function giveBack(c: NetworkContext): Promise<void> {
    await tx(`network ${c.networkId}: undo create`, async (t) => {
      const { usage } = await lockUsage(t, { tenantId: c.tenantId });
      const net = await getNetwork(t, {
        tenantId: c.tenantId,
        id: c.networkId,
        forUpdate: true,
        includeDeleted: true,
      });
      if (!net) return;
      if ((await nicRowsOnNetwork(t, { tenantId: c.tenantId, networkId: net.id })) > 0) {
        await setNetworkStatus(t, { tenantId: c.tenantId, id: net.id, status: 'error' });
        return;
      }
      // The row's removal is the guard: a repeat finds no row and gives nothing back.
      if (await removeNetwork(t, { tenantId: c.tenantId, id: net.id }))
        await writeUsage(t, {
          tenantId: c.tenantId,
          usage: subtractResources(usage, { networks: 1 }).value,
        });
    });
  }

  const create: Workflow<NetworkContext> = {
    kind: 'network.create',
    context: networkContext,
    steps: [
      {
        name: 'validate',
        async run(c) {
          const net = await networkOf(c);
          const fabric = await tx(`fabric ${net.fabricId}: read`, (t) =>
            getFabric(t, { id: net.fabricId }),
          );
          const refuse = (why: string) =>
            new StepRefused(
              `Network ${net.name} cannot be built: ${why}.`,
              ErrorCode.INVALID_STATE,
            );
          if (!fabric) throw refuse(`its fabric ${net.fabricId} no longer exists`);
          if (fabric.type !== net.segmentType)
            throw refuse(`fabric ${fabric.name} carries ${fabric.type}, not ${net.segmentType}`);
          const ranges = parseSegmentRanges(fabric.type, fabric.segmentRanges);
          if (!ranges.ok) throw refuse(`fabric ${fabric.name}: ${ranges.detail}`);
          if (!isSegmentIdInRanges(ranges.value, net.segmentId))
            throw refuse(
              `segment ${net.segmentId} is outside fabric ${fabric.name}'s ranges ${fabric.segmentRanges}`,
            );
          const subnet = ipv4Subnet(
            net.cidr,
            net.gateway === null ? null : net.gateway.replace(/\/32$/, ''),
          );
          if (!subnet.ok) throw refuse(`${subnet.field}: ${subnet.detail}`);
        },
        undo: giveBack,
      },
      {
        name: 'activate',
        async run(c) {
          await tx(`network ${c.networkId}: active`, (t) =>
            setNetworkStatus(t, { tenantId: c.tenantId, id: c.networkId, status: 'active' }),
          );
        },
      },
    ],
  };

  const remove: Workflow<NetworkContext> = {
    kind: 'network.delete',
    context: networkContext,
    steps: [
      {
        name: 'nics',
        async run(c) {
          const n = await tx(`network ${c.networkId}: nics`, (t) =>
            nicRowsOnNetwork(t, { tenantId: c.tenantId, networkId: c.networkId }),
          );
          // The VMs' own deletes remove these; retried with backoff until they have.
          if (n > 0)
            throw new Error(
              `network ${c.networkId} still has ${n} NICs of VMs being deleted; waiting for them`,
            );
        },
        async undo(c) {
          await tx(`network ${c.networkId}: undo delete`, async (t) => {
            const { usage } = await lockUsage(t, { tenantId: c.tenantId });
            const net = await getNetwork(t, {
              tenantId: c.tenantId,
              id: c.networkId,
              forUpdate: true,
              includeDeleted: true,
            });
            if (net?.status !== 'deleting') return;
            await setNetworkStatus(t, { tenantId: c.tenantId, id: net.id, status: 'active' });
            // Not checked against the limits: the network exists, so it counts.
            await writeUsage(t, {
              tenantId: c.tenantId,
              usage: addResources(usage, { networks: 1 }),
            });
          });
        },
      },
      {
        name: 'segments',
        async run(c) {
          const net = await tx(`network ${c.networkId}: read`, (t) =>
            getNetwork(t, { tenantId: c.tenantId, id: c.networkId, includeDeleted: true }),
          );
          // Gone: `remove` ran, and it runs only after the bridges went.
          if (!net) return;
          const segment = { type: net.segmentType, id: net.segmentId };
          const hosts = await tx(`fabric ${net.fabricId}: hosts`, (t) =>
            hostsOfFabric(t, { fabricId: net.fabricId }),
          );
          for (const h of hosts) {
            if (!h.agentUrl || UNREACHABLE.has(h.state)) {
              log.warn(`network ${net.id}: host ${h.name} is ${h.state}; its bridge stays for now`);
              continue;
            }
            await removeSegmentFrom(
              new AgentClient(h.agentUrl, tls, h.name),
              c.op.id,
              segment,
              h.name,
            );
          }
        },
      },
      {
        name: 'remove',
        async run(c) {
          await tx(`network ${c.networkId}: remove`, (t) =>
            removeNetwork(t, { tenantId: c.tenantId, id: c.networkId }),
          );
        },
      },
    ],
  };

  return [create, remove];
}
