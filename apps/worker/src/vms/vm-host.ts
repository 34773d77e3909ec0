/**
 * What every workflow that acts on a VM's host shares: reading the VM and its references, the
 * agent of its host, the root volume and its key, crypto-erase, and the two power moves
 * (`startOnHost` converges the host to running with the keys; `stopOnHost` stops and records).
 * Workflows (vm, volume, snapshot, migration) build on these instead of their own copies.
 *
 * Must never: put a key in job data, a log or an error; guess a VM's state.
 */

import { ErrorCode } from '@palisade/contracts';
import {
  authorizedKeysOfVm,
  getFlavor,
  getHostById,
  getNetwork,
  getVisibleImage,
  getVm,
  nicsOf,
  removeVolume,
  updateVm,
  updateVolume,
  volumesOfVm,
  withPlatform,
  type Db,
  type OperationRow,
  type VmRow,
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

  /** The agent of the VM's host, or null when the VM holds no host. */
  const agentOf = async (vm: VmRow): Promise<AgentClient | null> => {
    if (!vm.hostId) return null;
    const host = await tx(`host ${vm.hostId}: read`, (t) => getHostById(t, { id: vm.hostId! }));
    if (!host?.agentUrl)
      throw new StepRefused(
        `Host ${host?.name ?? vm.hostId} has no agent address.`,
        ErrorCode.HOST_NOT_ENROLLED,
      );
    return new AgentClient(host.agentUrl, deps.tls, host.name);
  };
  const mustAgent = async (vm: VmRow) => {
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

  /** Removes a root volume from its host and the database: crypto-erase first. */
  const eraseVolume = async (
    c: VmContext,
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

  /** Defines and starts the VM on its host with its keys, and records what the host answers
   *  (its state, and what it weakened).
   *  Create, start and reboot share it: `ensure-running` converges whatever the host holds. */
  async function startOnHost(c: VmContext): Promise<void> {
    const vm = await vmOf(c);
    const { flavor, nics } = await refs(vm, c.tenantId);
    const root = await rootVolume(c);
    if (!root) throw new Error(`vm ${vm.id}: root volume missing`);
    if (vm.mcsC1 === null || vm.mcsC2 === null) throw new Error(`vm ${vm.id} has no MCS pair`);
    // The snapshots taken at create: a key the tenant deleted since still reaches the seed.
    const sshAuthorizedKeys = await tx(`vm ${vm.id}: ssh keys`, (t) =>
      authorizedKeysOfVm(t, { tenantId: c.tenantId, vmId: vm.id }),
    );
    const status = await (
      await mustAgent(vm)
    ).ensureRunning({
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
          {
            id: root.id,
            volumeId: root.id,
            bootOrder: 1,
            iotune: {
              ...(flavor.diskIops ? { totalIops: flavor.diskIops } : {}),
              ...(flavor.diskBytesSec ? { totalBytesSec: flavor.diskBytesSec } : {}),
            },
          },
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
      keys: { [root.id]: keyOf(root) },
    });
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
  };
}

export type VmHost = ReturnType<typeof vmHost>;
