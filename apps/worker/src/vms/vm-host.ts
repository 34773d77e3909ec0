/**
 * What every workflow that acts on a VM's host shares: reading the VM and its references, the
 * agent of its host, the root volume and its key, crypto-erase, and the two power moves
 * (`startOnHost` converges the host to running with the keys; `stopOnHost` stops and records).
 * Workflows (vm, volume, snapshot, migration) build on these instead of their own copies.
 * A VM's definition always lists its root volume and every data volume attached to it.
 *
 * Must never: put a key in job data, a log or an error; guess a VM's state.
 */

import {
  ErrorCode,
  type AgentEnsureVmRunningInput,
  type IsolationReport,
} from '@palisade/contracts';
import {
  authorizedKeysOfVm,
  getFlavor,
  getHostById,
  getNetwork,
  getVisibleImage,
  getVm,
  nicsOf,
  removeVolume,
  saveIsolationReport,
  updateVm,
  updateVolume,
  volumesOfVm,
  withPlatform,
  type Db,
  type OperationRow,
  type VmRow,
  type VolumeRow,
} from '@palisade/db';
import { ipv4Subnet } from '@palisade/domain';
import { StepRefused } from '../operations/engine';
import { AgentClient, type ClientTls } from './agent-client';
import { unwrapVolumeKey } from './volume-keys';

export interface VmWorkflowDeps {
  db: Db;
  tls: ClientTls;
  /** VOLUME_MASTER_KEY: wraps the per-tenant keys that wrap volume keys. */
  masterKey: Buffer;
}

export interface VmContext {
  op: OperationRow;
  tenantId: string;
  vmId: string;
}

export const GiB = 1024 ** 3;

export async function context(op: OperationRow): Promise<VmContext> {
  if (!op.tenantId) throw new StepRefused(`operation ${op.id} has no tenant`, 'operation.invalid');
  return { op, tenantId: op.tenantId, vmId: op.targetId };
}

/** What placement is asked for a VM of this flavor on these networks (create, resize, migrate). */
export function placementRequestOf(
  flavor: { vcpus: number; ramMib: number; diskGib: number; svirtRequired: boolean },
  nics: { network: { fabricId: string } }[],
) {
  return {
    vcpus: flavor.vcpus,
    ramMiB: flavor.ramMib,
    diskGiB: flavor.diskGib,
    svirt: flavor.svirtRequired ? ('required' as const) : ('preferred' as const),
    fabrics: [...new Set(nics.map((n) => n.network.fabricId))],
  };
}

export function vmHost(deps: VmWorkflowDeps) {
  const { db } = deps;
  const tx = <T>(why: string, fn: Parameters<typeof withPlatform<T>>[2]) =>
    withPlatform(db, why, fn);

  const vmOf = async (c: VmContext): Promise<VmRow> => {
    const vm = await tx(`vm ${c.vmId}: read`, (t) =>
      getVm(t, { tenantId: c.tenantId, id: c.vmId, includeDeleted: true }),
    );
    if (!vm) throw new StepRefused(`VM ${c.vmId} no longer exists.`, ErrorCode.NOT_FOUND);
    return vm;
  };

  /** The agent of the VM's (or volume's) host, or null when it holds no host. */
  const agentOf = async (vm: { hostId: string | null }): Promise<AgentClient | null> => {
    if (!vm.hostId) return null;
    const host = await tx(`host ${vm.hostId}: read`, (t) => getHostById(t, { id: vm.hostId! }));
    if (!host?.agentUrl)
      throw new StepRefused(
        `Host ${host?.name ?? vm.hostId} has no agent address.`,
        ErrorCode.HOST_NOT_ENROLLED,
      );
    return new AgentClient(host.agentUrl, deps.tls, host.name);
  };
  const mustAgent = async (vm: { id: string; hostId: string | null }) => {
    const a = await agentOf(vm);
    if (!a) throw new Error(`vm ${vm.id} has no host yet`);
    return a;
  };

  const rootVolume = async (c: VmContext) => {
    const rows = await tx(`vm ${c.vmId}: volumes`, (t) =>
      volumesOfVm(t, { tenantId: c.tenantId, vmId: c.vmId }),
    );
    return rows.find((v) => v.name === `root-${c.vmId}`);
  };
  const keyOf = (v: { id: string; tenantId: string; wrappedKey: Buffer | null }) => {
    if (!v.wrappedKey)
      throw new StepRefused(`volume ${v.id} was crypto-erased`, ErrorCode.INVALID_STATE);
    return unwrapVolumeKey(deps.masterKey, {
      tenantId: v.tenantId,
      volumeId: v.id,
      wrapped: v.wrappedKey,
    });
  };

  const refs = async (vm: VmRow, tenantId: string) =>
    tx(`vm ${vm.id}: references`, async (t) => {
      const flavor = await getFlavor(t, { id: vm.flavorId });
      const image = await getVisibleImage(t, { tenantId, id: vm.imageId });
      const nicRows = await nicsOf(t, { tenantId, vmIds: [vm.id] });
      // One query at a time: a transaction is one connection.
      const networks: Awaited<ReturnType<typeof getNetwork>>[] = [];
      for (const n of nicRows) networks.push(await getNetwork(t, { tenantId, id: n.networkId }));
      if (!flavor || !image) throw new Error(`vm ${vm.id}: flavor or image vanished`);
      return {
        flavor,
        image,
        nics: nicRows.map((n, i) => {
          const net = networks[i];
          if (!net) throw new Error(`nic ${n.id}: network vanished`);
          return { nic: n, network: net };
        }),
      };
    });

  /** Removes a volume from its host and the database: crypto-erase first. */
  const eraseVolume = async (
    c: { op: OperationRow },
    agent: AgentClient | null,
    v: { id: string; tenantId: string },
  ) => {
    await tx(`volume ${v.id}: crypto-erase`, (t) =>
      updateVolume(t, {
        tenantId: v.tenantId,
        id: v.id,
        set: { wrappedKey: null, status: 'deleting' },
      }),
    );
    await agent?.deleteVolume(c.op.id, v.id);
    await tx(`volume ${v.id}: remove`, (t) => removeVolume(t, { tenantId: v.tenantId, id: v.id }));
  };

  /** The tenant's data volumes attached to the VM (made on its host), oldest first so their
   *  device names stay put from one definition to the next. The root volume is not among them. */
  const dataVolumes = async (c: VmContext) => {
    const rows = await tx(`vm ${c.vmId}: volumes`, (t) =>
      volumesOfVm(t, { tenantId: c.tenantId, vmId: c.vmId }),
    );
    return rows
      .filter((v) => v.name !== `root-${c.vmId}` && v.status === 'attached')
      .sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || a.id.localeCompare(b.id));
  };

  /** The key of every disk the VM's definition has (root first), by volume ID. */
  const diskKeysOf = async (c: VmContext): Promise<Record<string, string>> => {
    const root = await rootVolume(c);
    if (!root) throw new Error(`vm ${c.vmId}: root volume missing`);
    const keys: Record<string, string> = { [root.id]: keyOf(root) };
    for (const v of await dataVolumes(c)) keys[v.id] = keyOf(v);
    return keys;
  };

  /** What the host is sent to define the VM: its definition (root disk, then every attached
   *  data volume, then `also`: a volume being attached) and the key of each disk. */
  async function definitionOf(
    c: VmContext,
    also: VolumeRow[] = [],
  ): Promise<AgentEnsureVmRunningInput> {
    const vm = await vmOf(c);
    const { flavor, nics } = await refs(vm, c.tenantId);
    const root = await rootVolume(c);
    if (!root) throw new Error(`vm ${vm.id}: root volume missing`);
    if (vm.mcsC1 === null || vm.mcsC2 === null) throw new Error(`vm ${vm.id} has no MCS pair`);
    const attached = await dataVolumes(c);
    const data = [...attached, ...also.filter((v) => !attached.some((a) => a.id === v.id))];
    // The snapshots taken at create: a key the tenant deleted since still reaches the seed.
    const sshAuthorizedKeys = await tx(`vm ${vm.id}: ssh keys`, (t) =>
      authorizedKeysOfVm(t, { tenantId: c.tenantId, vmId: vm.id }),
    );
    const iotune = {
      ...(flavor.diskIops ? { totalIops: flavor.diskIops } : {}),
      ...(flavor.diskBytesSec ? { totalBytesSec: flavor.diskBytesSec } : {}),
    };
    return {
      operationId: c.op.id,
      vm: {
        vmId: vm.id,
        tenantId: vm.tenantId,
        name: vm.name,
        specRevision: vm.specRevision,
        vcpus: flavor.vcpus,
        memoryMiB: flavor.ramMib,
        cpu: {
          shares: flavor.cpuShares,
          quotaUs: flavor.cpuQuotaUs ?? -1,
          periodUs: flavor.cpuPeriodUs,
        },
        blkio: { weight: 500 },
        isolation: {
          svirt: flavor.svirtRequired ? 'required' : 'preferred',
          mcs: { c1: vm.mcsC1, c2: vm.mcsC2 },
        },
        console: { vnc: 'none' },
        disks: [
          { id: root.id, volumeId: root.id, bootOrder: 1, iotune },
          ...data.map((v) => ({ id: v.id, volumeId: v.id, iotune })),
        ],
        nics: nics.map(({ nic, network }) => {
          const subnet = ipv4Subnet(network.cidr, network.gateway);
          return {
            id: nic.id,
            mac: nic.mac,
            ip: nic.ip,
            prefixLength: subnet.ok ? subnet.value.cidr.prefixLength : 24,
            ...(network.gateway ? { gateway: network.gateway } : {}),
            segment: { type: network.segmentType, id: network.segmentId },
            bandwidth: {
              averageKBps: Math.max(1, Math.floor((flavor.netAverageKbps ?? 1_000_000) / 8)),
            },
          };
        }),
        boot: { kind: 'disk' },
        ...(vm.userData ? { userData: vm.userData } : {}),
        sshAuthorizedKeys,
      },
      keys: Object.fromEntries([root, ...data].map((v) => [v.id, keyOf(v)])),
    };
  }

  /** Defines and starts the VM on its host (or on `on`, a migration's target) with its keys,
   *  and records what the host answers. Create, start, reboot and migrate share it:
   *  `ensure-running` converges whatever the host holds. */
  async function startOnHost(c: VmContext, on?: AgentClient): Promise<void> {
    const vm = await vmOf(c);
    const agent = on ?? (await mustAgent(vm));
    const status = await agent.ensureRunning(await definitionOf(c));
    await tx(`vm ${vm.id}: observed`, (t) =>
      updateVm(t, {
        tenantId: c.tenantId,
        id: vm.id,
        // What the host weakened (no sVirt, no bandwidth limit) is the VM's, for its tenant to
        // see; every start replaces it, because another host may enforce more or less.
        set: {
          observedState: status.state === 'running' ? 'running' : 'error',
          weakenings: status.weakenings,
        },
      }),
    );
    if (status.state !== 'running')
      throw new Error(`vm ${vm.id} is ${status.state} on its host after start`);
    await measureIsolation(vm, agent, on ? vm.migrationHostId : vm.hostId, status.weakenings);
  }

  /** Stores what the host that just started the VM measures of its isolation, or why it could
   *  not: a failed measurement is recorded for the tenant to read, and never fails the start
   *  (the VM runs either way; an unmeasured VM reads `unknown`, not `isolated`). */
  async function measureIsolation(
    vm: VmRow,
    agent: AgentClient,
    hostId: string | null,
    weakenings: { mechanism: string; reason: string }[],
  ): Promise<void> {
    let report: IsolationReport | null = null;
    let error: string | null = null;
    try {
      report = await agent.isolation(vm.id);
    } catch (e) {
      error = `the host could not measure it: ${e instanceof Error ? e.message : String(e)}`;
    }
    await tx(`vm ${vm.id}: isolation report`, (t) =>
      saveIsolationReport(t, {
        tenantId: vm.tenantId,
        vmId: vm.id,
        hostId,
        measuredAt: report ? new Date(report.measuredAt) : null,
        report,
        weakenings,
        error,
      }),
    );
  }

  /** Redefines a stopped VM on its host with the disks its rows say (attach, detach); the host
   *  refuses (409) while the VM runs. */
  async function defineOnHost(c: VmContext, also: VolumeRow[] = []): Promise<void> {
    const vm = await vmOf(c);
    await (await mustAgent(vm)).defineStopped(await definitionOf(c, also));
  }

  /** Stops the VM (ACPI, then forced after the agent's timeout, or forced at once) and records
   *  the state the host reports. */
  const stopOnHost = (force: boolean) => async (c: VmContext) => {
    const vm = await vmOf(c);
    const status = await (await mustAgent(vm)).stop(c.op.id, vm.id, force);
    await tx(`vm ${vm.id}: observed`, (t) =>
      updateVm(t, {
        tenantId: c.tenantId,
        id: vm.id,
        set: { observedState: status.state === 'shutoff' ? 'stopped' : 'error' },
      }),
    );
    if (status.state !== 'shutoff')
      throw new Error(`vm ${vm.id} is ${status.state} on its host after stop`);
  };

  return {
    tx,
    vmOf,
    agentOf,
    mustAgent,
    rootVolume,
    keyOf,
    refs,
    eraseVolume,
    startOnHost,
    stopOnHost,
    dataVolumes,
    diskKeysOf,
    definitionOf,
    defineOnHost,
  };
}

export type VmHost = ReturnType<typeof vmHost>;
