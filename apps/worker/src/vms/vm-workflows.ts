/**
 * The `vm.create` and `vm.delete` workflows: the control plane's side of a VM's life on a host.
 * Each step is idempotent for its operation (the agent's calls converge; rows are looked up
 * before they are written), and each step of create has an undo that gives back what it took.
 *
 * vm.create: place (claim a host) -> image (verified on the host) -> volume (root LUKS qcow2 on
 * the image; its key generated here and stored only wrapped) -> segment -> define-start ->
 * record (observed state from the agent's answer, never assumed).
 * vm.delete: destroy (domain, seed) -> volumes (crypto-erase, then the file) -> remove (the row:
 * MCS pair, MAC, IP and host claim go with it; quota was released by the API at accept).
 * vm.start / vm.stop / vm.force_off / vm.reboot: the power actions, state from the host.
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
  insertVolume,
  nicsOf,
  releasePlacement,
  removeDeletedVm,
  removeVolume,
  updateVm,
  updateVolume,
  volumesOfVm,
  claimPlacement,
  withPlatform,
  type Db,
  type OperationRow,
  type VmRow,
} from '@palisade/db';
import { ipv4Subnet } from '@palisade/domain';
import { StepRefused, type Workflow } from '../operations/engine';
import { AgentClient, type ClientTls } from './agent-client';
import { newVolumeKey, unwrapVolumeKey, wrapVolumeKey } from './volume-keys';

export interface VmWorkflowDeps {
  db: Db;
  tls: ClientTls;
  /** VOLUME_MASTER_KEY: wraps the per-tenant keys that wrap volume keys. */
  masterKey: Buffer;
}

interface VmContext {
  op: OperationRow;
  tenantId: string;
  vmId: string;
}

const GiB = 1024 ** 3;

async function context(op: OperationRow): Promise<VmContext> {
  if (!op.tenantId) throw new StepRefused(`operation ${op.id} has no tenant`, 'operation.invalid');
  return { op, tenantId: op.tenantId, vmId: op.targetId };
}

export function vmWorkflows(deps: VmWorkflowDeps): Workflow<VmContext>[] {
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

  /** Defines and starts the VM on its host with its keys, and records what the host answers.
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
        set: { observedState: status.state === 'running' ? 'running' : 'error' },
      }),
    );
    if (status.state !== 'running')
      throw new Error(`vm ${vm.id} is ${status.state} on its host after start`);
  }

  const create: Workflow<VmContext> = {
    kind: 'vm.create',
    context,
    steps: [
      {
        name: 'place',
        async run(c) {
          const vm = await vmOf(c);
          const { flavor, nics } = await refs(vm, c.tenantId);
          const claim = await claimPlacement(db, {
            vmId: vm.id,
            request: {
              vcpus: flavor.vcpus,
              ramMiB: flavor.ramMib,
              diskGiB: flavor.diskGib,
              svirt: flavor.svirtRequired ? 'required' : 'preferred',
              fabrics: [...new Set(nics.map((n) => n.network.fabricId))],
            },
            options: { weigher: 'spread' },
          });
          if (!claim.ok)
            throw new StepRefused(
              `No host can run this VM: ${claim.detail}.`,
              ErrorCode.PLACEMENT_NO_VALID_HOST,
            );
        },
        async undo(c) {
          await tx(`vm ${c.vmId}: release placement`, (t) => releasePlacement(t, c.vmId));
        },
      },
      {
        name: 'image',
        async run(c) {
          const vm = await vmOf(c);
          const { image } = await refs(vm, c.tenantId);
          await (
            await mustAgent(vm)
          ).ensureImage({
            operationId: c.op.id,
            checksum: image.checksum,
            format: image.format,
          });
        },
      },
      {
        name: 'volume',
        async run(c) {
          const vm = await vmOf(c);
          const { flavor, image } = await refs(vm, c.tenantId);
          let root = await rootVolume(c);
          if (!root) {
            // The key is made and wrapped here, inside the step: it never enters job data.
            const id = crypto.randomUUID();
            const wrapped = wrapVolumeKey(deps.masterKey, {
              tenantId: c.tenantId,
              volumeId: id,
              key: newVolumeKey(),
            });
            root = await tx(`vm ${c.vmId}: root volume`, (t) =>
              insertVolume(t, {
                id,
                tenantId: c.tenantId,
                name: `root-${c.vmId}`,
                sizeGib: Math.max(1, flavor.diskGib),
                vmId: c.vmId,
                hostId: vm.hostId,
                status: 'pending',
                wrappedKey: wrapped,
              }),
            );
          }
          await (
            await mustAgent(vm)
          ).ensureVolume({
            operationId: c.op.id,
            volumeId: root.id,
            sizeBytes: Math.max(root.sizeGib * GiB, image.sizeBytes),
            base: { checksum: image.checksum, format: image.format },
            key: keyOf(root),
          });
          await tx(`volume ${root.id}: attached`, (t) =>
            updateVolume(t, { tenantId: c.tenantId, id: root.id, set: { status: 'attached' } }),
          );
        },
        async undo(c) {
          const root = await rootVolume(c);
          if (root) await eraseVolume(c, await agentOf(await vmOf(c)), root);
        },
      },
      {
        name: 'segment',
        // No undo: a segment is the tenant network's, shared by its VMs on this host; empty
        // bridges are the reconciler's to remove.
        async run(c) {
          const vm = await vmOf(c);
          const agent = await mustAgent(vm);
          for (const { network } of (await refs(vm, c.tenantId)).nics)
            await agent.ensureSegment({
              operationId: c.op.id,
              segment: { type: network.segmentType, id: network.segmentId },
            });
        },
      },
      {
        name: 'define-start',
        run: startOnHost,
        async undo(c) {
          const vm = await vmOf(c);
          await (await agentOf(vm))?.destroy(c.op.id, vm.id);
        },
      },
    ],
  };

  const remove: Workflow<VmContext> = {
    kind: 'vm.delete',
    context,
    steps: [
      {
        name: 'destroy',
        async run(c) {
          const vm = await vmOf(c);
          await (await agentOf(vm))?.destroy(c.op.id, vm.id);
          await tx(`vm ${vm.id}: observed`, (t) =>
            updateVm(t, { tenantId: c.tenantId, id: vm.id, set: { observedState: 'deleted' } }),
          );
        },
      },
      {
        name: 'volumes',
        async run(c) {
          const vm = await vmOf(c);
          const agent = await agentOf(vm);
          const rows = await tx(`vm ${c.vmId}: volumes`, (t) =>
            volumesOfVm(t, { tenantId: c.tenantId, vmId: c.vmId }),
          );
          // Only the VM's own root volume: a tenant's attached data volumes outlive the VM.
          for (const v of rows.filter((r) => r.name === `root-${c.vmId}`))
            await eraseVolume(c, agent, v);
        },
      },
      {
        name: 'remove',
        async run(c) {
          await tx(`vm ${c.vmId}: remove`, (t) =>
            removeDeletedVm(t, { tenantId: c.tenantId, id: c.vmId }),
          );
        },
      },
    ],
  };

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

  const power: Workflow<VmContext>[] = [
    { kind: 'vm.start', context, steps: [{ name: 'start', run: startOnHost }] },
    { kind: 'vm.stop', context, steps: [{ name: 'stop', run: stopOnHost(false) }] },
    { kind: 'vm.force_off', context, steps: [{ name: 'force-off', run: stopOnHost(true) }] },
    // A cold reboot: power off (ACPI, forced after the timeout), then start with the keys
    // re-sent. The port has no in-guest reboot, and this also applies a changed definition.
    {
      kind: 'vm.reboot',
      context,
      steps: [
        { name: 'stop', run: stopOnHost(false) },
        { name: 'start', run: startOnHost },
      ],
    },
  ];

  return [create, remove, ...power];
}
