/**
 * The data-volume workflows: `volume.create`, `volume.attach`, `volume.detach`, `volume.extend`
 * and `volume.delete`. The API has already changed the rows and the quota when it accepted the
 * operation (apps/api/src/trpc/procedures/volumes); these make the host agree, or undo the change.
 *
 * Where a volume lives (docs/operations/volumes.md): a data volume is a host-local LUKS qcow2.
 * `volume.create` only makes its key (random, stored wrapped); the file is made on the host of
 * the VM it is first attached to, and the volume lives there from then on (`volumes.host_id`).
 * Attaching it to a VM on another host is refused: nothing copies volumes between hosts yet.
 * Attach and detach change a stopped VM's definition (no hot-plug); the host refuses a running
 * VM and the workflow gives the change back.
 *
 * Each step is idempotent for its operation: host calls converge, rows are read before they are
 * written, and quota moves only with the row change that proves it is due (operations/quota.ts).
 *
 * Must never: put a key in job data, a log or an error; leave the quota ledger different from
 * the volumes that exist after a compensation.
 */
import { ErrorCode } from '@palisade/contracts';
import {
  getHostById,
  getVolume,
  removeVolume,
  requestDetailsOf,
  updateVolume,
  type OperationRow,
  type VolumeRow,
} from '@palisade/db';
import { StepRefused, type Workflow } from '../operations/engine';
import { giveBackQuota } from '../operations/quota';
import { GiB, vmHost, type VmContext, type VmWorkflowDeps } from '../vms/vm-host';
import { newVolumeKey, wrapVolumeKey } from '../vms/volume-keys';

export interface VolumeContext {
  op: OperationRow;
  tenantId: string;
  volumeId: string;
  /** What the API recorded about the request (the VM of an attach or detach, an extend's sizes). */
  request: Record<string, unknown>;
}

export function volumeWorkflows(deps: VmWorkflowDeps): Workflow<VolumeContext>[] {
  const { tx, vmOf, agentOf, keyOf, eraseVolume, defineOnHost } = vmHost(deps);

  async function context(op: OperationRow): Promise<VolumeContext> {
    if (!op.tenantId)
      throw new StepRefused(`operation ${op.id} has no tenant`, 'operation.invalid');
    const tenantId = op.tenantId;
    const request = await tx(`operation ${op.id}: request`, (t) =>
      requestDetailsOf(t, { tenantId, operationId: op.id }),
    );
    return { op, tenantId, volumeId: op.targetId, request: request ?? {} };
  }

  const volumeOf = async (c: VolumeContext): Promise<VolumeRow | undefined> =>
    tx(`volume ${c.volumeId}: read`, (t) =>
      getVolume(t, { tenantId: c.tenantId, id: c.volumeId, includeDeleted: true }),
    );
  const mustVolume = async (c: VolumeContext): Promise<VolumeRow> => {
    const v = await volumeOf(c);
    if (!v) throw new StepRefused(`Volume ${c.volumeId} no longer exists.`, ErrorCode.NOT_FOUND);
    return v;
  };
  const setVolume = (
    c: VolumeContext,
    why: string,
    set: Parameters<typeof updateVolume>[1]['set'],
  ) =>
    tx(`volume ${c.volumeId}: ${why}`, (t) =>
      updateVolume(t, { tenantId: c.tenantId, id: c.volumeId, set }),
    );

  /** The VM an attach or detach names (the API's audit record: the row may have moved on). */
  const vmContext = (c: VolumeContext): VmContext => {
    const vmId = c.request['vmId'];
    if (typeof vmId !== 'string')
      throw new StepRefused(`operation ${c.op.id} names no VM`, 'operation.invalid');
    return { op: c.op, tenantId: c.tenantId, vmId };
  };

  /** Whether the VM's domain is shut off on its host (a definition may be changed). */
  const shutOffOnHost = async (vm: { id: string; hostId: string | null }) => {
    const agent = await agentOf(vm);
    if (!agent) return false;
    const d = await agent.get(vm.id);
    return d !== null && (d.state === 'shutoff' || d.state === 'crashed');
  };

  const hostName = async (hostId: string) =>
    (await tx(`host ${hostId}: read`, (t) => getHostById(t, { id: hostId })))?.name ?? hostId;

  /** Puts an attach back: the volume is available and the VM's rows no longer list it. */
  const unattach = async (c: VolumeContext) => {
    const v = await volumeOf(c);
    const vm = vmContext(c);
    if (v && v.vmId === vm.vmId)
      await setVolume(c, 'attach undone', { vmId: null, status: 'available' });
  };

  const create: Workflow<VolumeContext> = {
    kind: 'volume.create',
    context,
    steps: [
      {
        name: 'key',
        // The key is made and wrapped here, inside the step: it never enters job data. No file
        // yet: it is made on the host of the first VM the volume is attached to.
        async run(c) {
          const v = await mustVolume(c);
          if (v.wrappedKey && v.status !== 'pending') return;
          const wrappedKey =
            v.wrappedKey ??
            wrapVolumeKey(deps.masterKey, {
              tenantId: c.tenantId,
              volumeId: v.id,
              key: newVolumeKey(),
            });
          await setVolume(c, 'key', { wrappedKey, status: 'available' });
        },
        // The row and its quota go together, under the row's lock: given back exactly once.
        async undo(c) {
          await tx(`volume ${c.volumeId}: create undone`, async (t) => {
            const v = await getVolume(t, {
              tenantId: c.tenantId,
              id: c.volumeId,
              includeDeleted: true,
              forUpdate: true,
            });
            if (!v || v.hostId) return;
            await removeVolume(t, { tenantId: c.tenantId, id: v.id });
            await giveBackQuota(t, c.tenantId, { volumes: 1, diskGiB: v.sizeGib });
          });
        },
      },
    ],
  };

  const attach: Workflow<VolumeContext> = {
    kind: 'volume.attach',
    context,
    steps: [
      {
        name: 'place',
        async run(c) {
          const v = await mustVolume(c);
          const vm = await vmOf(vmContext(c));
          if (!vm.hostId)
            throw new StepRefused(
              `VM ${vm.name} has no host yet; attach the volume once it is created.`,
              ErrorCode.INVALID_STATE,
            );
          if (v.hostId && v.hostId !== vm.hostId)
            throw new StepRefused(
              `Volume ${v.name} lives on host ${await hostName(v.hostId)} and VM ${vm.name} runs on host ${await hostName(vm.hostId)}; volumes do not move between hosts, so attach it to a VM on ${await hostName(v.hostId)}.`,
              ErrorCode.INVALID_STATE,
            );
          if (!(await shutOffOnHost(vm)))
            throw new StepRefused(
              `VM ${vm.name} is not stopped on its host; stop it to attach a volume (no hot-plug).`,
              ErrorCode.INVALID_STATE,
            );
        },
        undo: unattach,
      },
      {
        name: 'volume',
        // The file on the VM's host; from here on the volume lives there. Still `available`:
        // a start that reaches the host meanwhile defines the VM without it, so a guest never
        // holds a disk whose attach is then undone.
        async run(c) {
          const v = await mustVolume(c);
          const vm = await vmOf(vmContext(c));
          const agent = await agentOf(vm);
          if (!agent) throw new Error(`vm ${vm.id} has no host`);
          await agent.ensureVolume({
            operationId: c.op.id,
            volumeId: v.id,
            sizeBytes: v.sizeGib * GiB,
            key: keyOf(v),
          });
          await setVolume(c, 'made on host', { hostId: vm.hostId });
        },
        undo: unattach,
      },
      {
        name: 'define',
        // The stopped VM's definition now lists the volume; the host refuses while it runs.
        async run(c) {
          await defineOnHost(vmContext(c), [await mustVolume(c)]);
          await setVolume(c, 'attached', { status: 'attached' });
        },
        async undo(c) {
          await unattach(c);
          const vm = await vmOf(vmContext(c)).catch(() => undefined);
          // A running VM never took the definition; only a stopped one is defined again.
          if (vm && (await shutOffOnHost(vm))) await defineOnHost(vmContext(c));
        },
      },
    ],
  };

  const detach: Workflow<VolumeContext> = {
    kind: 'volume.detach',
    context,
    steps: [
      {
        name: 'define',
        // The API cleared the volume's VM: the definition sent now lacks it. A VM that is gone
        // or never reached a host has no definition to change.
        async run(c) {
          const vm = await vmOf(vmContext(c)).catch((e: unknown) => {
            if (e instanceof StepRefused && e.code === ErrorCode.NOT_FOUND) return undefined;
            throw e;
          });
          if (vm?.hostId && vm.desiredState !== 'deleted') await defineOnHost(vmContext(c));
        },
        async undo(c) {
          const v = await volumeOf(c);
          const vm = await vmOf(vmContext(c)).catch(() => undefined);
          if (!v || !vm || v.vmId !== null || vm.desiredState === 'deleted') return;
          await setVolume(c, 'detach undone', { vmId: vm.id, status: 'attached' });
          if (await shutOffOnHost(vm)) await defineOnHost(vmContext(c));
        },
      },
      {
        name: 'release',
        async run(c) {
          const v = await mustVolume(c);
          if (v.vmId === null && v.status === 'attached')
            await setVolume(c, 'detached', { status: 'available' });
        },
      },
    ],
  };

  const extend: Workflow<VolumeContext> = {
    kind: 'volume.extend',
    context,
    steps: [
      {
        name: 'resize',
        // A volume not yet made on a host has nothing to grow: its file is made at the new size.
        async run(c) {
          const v = await mustVolume(c);
          const agent = await agentOf(v);
          if (!agent) return;
          const r = await agent.resizeVolume({
            operationId: c.op.id,
            volumeId: v.id,
            sizeBytes: v.sizeGib * GiB,
            key: keyOf(v),
          });
          if (r.virtualSizeBytes < v.sizeGib * GiB)
            throw new Error(
              `volume ${v.id} is ${r.virtualSizeBytes} bytes on its host after resize`,
            );
        },
        // The size and the quota it took go back together, once: only while the row still has
        // the size this extend set.
        async undo(c) {
          const from = c.request['from'];
          const to = c.request['to'];
          if (typeof from !== 'number' || typeof to !== 'number') return;
          await tx(`volume ${c.volumeId}: extend undone`, async (t) => {
            const v = await getVolume(t, {
              tenantId: c.tenantId,
              id: c.volumeId,
              includeDeleted: true,
              forUpdate: true,
            });
            if (!v || v.sizeGib !== to) return;
            await updateVolume(t, { tenantId: c.tenantId, id: v.id, set: { sizeGib: from } });
            await giveBackQuota(t, c.tenantId, { diskGiB: to - from });
          });
        },
      },
    ],
  };

  const remove: Workflow<VolumeContext> = {
    kind: 'volume.delete',
    context,
    steps: [
      {
        name: 'erase',
        // Crypto-erase first (the wrapped key), then the file, then the row. No undo: once the
        // key is gone the data is too; the API gave the quota back at accept. A host that stays
        // unreachable leaves a keyless `deleting` row and its file for the reconciler.
        async run(c) {
          const v = await volumeOf(c);
          if (!v) return;
          await eraseVolume(c, await agentOf(v), v);
        },
      },
    ],
  };

  return [create, attach, detach, extend, remove];
}
