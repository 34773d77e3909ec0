/**
 * The snapshot workflows: `snapshot.create`, `snapshot.revert` and `snapshot.delete`. They target
 * the VM (one operation at a time on it); the snapshot is the one the API's audit record of the
 * request names. On the host a snapshot is an internal qcow2 snapshot of every disk of the
 * stopped VM (root and attached data volumes), named by the snapshot's ID, taken with every
 * disk's key: QEMU 7.2 aborts on live snapshots of LUKS disks, so the host refuses running VMs.
 *
 * The snapshot row's status follows the host's answer (the list of names every disk has), never
 * what the worker hoped. Compensation gives back the row and the quota the API moved at accept,
 * once, under the row's lock (operations/quota.ts).
 *
 * Must never: put a key in job data, a log or an error; revert a running VM.
 */
import { ErrorCode } from '@palisade/contracts';
import {
  getSnapshot,
  removeSnapshot,
  requestDetailsOf,
  updateSnapshot,
  type OperationRow,
} from '@palisade/db';
import { StepRefused, type Workflow } from '../operations/engine';
import { giveBackQuota, takeBackQuota } from '../operations/quota';
import { context as vmContext, vmHost, type VmContext, type VmWorkflowDeps } from '../vms/vm-host';

export interface SnapshotContext extends VmContext {
  snapshotId: string;
}

type Action = 'create' | 'revert' | 'delete';

const VERB: Record<Action, string> = { create: 'take', revert: 'revert to', delete: 'delete' };

export function snapshotWorkflows(deps: VmWorkflowDeps): Workflow<SnapshotContext>[] {
  const { tx, vmOf, agentOf, mustAgent, diskKeysOf } = vmHost(deps);

  async function context(op: OperationRow): Promise<SnapshotContext> {
    const c = await vmContext(op);
    const request = await tx(`operation ${op.id}: request`, (t) =>
      requestDetailsOf(t, { tenantId: c.tenantId, operationId: op.id }),
    );
    const snapshotId = request?.['snapshotId'];
    if (typeof snapshotId !== 'string')
      throw new StepRefused(`operation ${op.id} names no snapshot`, 'operation.invalid');
    return { ...c, snapshotId };
  }

  const snapshotOf = (c: SnapshotContext, forUpdate = false) =>
    tx(`snapshot ${c.snapshotId}: read`, (t) =>
      getSnapshot(t, { tenantId: c.tenantId, id: c.snapshotId, includeDeleted: true, forUpdate }),
    );

  /** Runs one snapshot action on the VM's host with every disk's key; the host's refusals become
   *  messages a tenant can act on. Answers the names every disk has afterwards. */
  async function onHost(c: SnapshotContext, action: Action): Promise<string[]> {
    const vm = await vmOf(c);
    try {
      const list = await (
        await mustAgent(vm)
      ).snapshot(vm.id, action, {
        operationId: c.op.id,
        name: c.snapshotId,
        keys: await diskKeysOf(c),
      });
      return list.items;
    } catch (e) {
      // The port's `domain_active` (409): snapshots are of stopped VMs only.
      if (e instanceof StepRefused && e.code === ErrorCode.CONFLICT)
        throw new StepRefused(
          `VM ${vm.name} is running on its host; stop it to ${VERB[action]} a snapshot.`,
          ErrorCode.INVALID_STATE,
        );
      if (e instanceof StepRefused && e.code === ErrorCode.NOT_FOUND && action === 'revert')
        throw new StepRefused(
          `A disk of VM ${vm.name} lacks this snapshot (a volume attached after it was taken?); detach that volume to revert.`,
          ErrorCode.NOT_FOUND,
        );
      throw e;
    }
  }

  /** The names the VM's host has now: none when the VM, its host or its domain is gone. An
   *  unreachable host throws (the undo is then recorded as incomplete, never guessed). */
  async function namesOnHost(c: SnapshotContext): Promise<string[]> {
    const vm = await vmOf(c).catch(() => undefined);
    const agent = vm ? await agentOf(vm) : null;
    if (!vm || !agent || !(await agent.get(vm.id))) return [];
    return (await agent.listSnapshots(vm.id)).items;
  }

  const create: Workflow<SnapshotContext> = {
    kind: 'snapshot.create',
    context,
    steps: [
      {
        name: 'snapshot',
        async run(c) {
          const row = await snapshotOf(c);
          if (!row)
            throw new StepRefused(
              `Snapshot ${c.snapshotId} no longer exists.`,
              ErrorCode.NOT_FOUND,
            );
          const names = await onHost(c, 'create');
          if (!names.includes(c.snapshotId))
            throw new Error(`snapshot ${c.snapshotId}: the host does not list it after create`);
          await tx(`snapshot ${c.snapshotId}: available`, (t) =>
            updateSnapshot(t, {
              tenantId: c.tenantId,
              id: c.snapshotId,
              set: { status: 'available' },
            }),
          );
        },
        // Off the host if it got there, then the row and its quota, once.
        async undo(c) {
          if ((await namesOnHost(c)).includes(c.snapshotId)) await onHost(c, 'delete');
          await tx(`snapshot ${c.snapshotId}: create undone`, async (t) => {
            const row = await getSnapshot(t, {
              tenantId: c.tenantId,
              id: c.snapshotId,
              includeDeleted: true,
              forUpdate: true,
            });
            if (!row) return;
            await removeSnapshot(t, { tenantId: c.tenantId, id: row.id });
            await giveBackQuota(t, c.tenantId, { snapshots: 1 });
          });
        },
      },
    ],
  };

  const revert: Workflow<SnapshotContext> = {
    kind: 'snapshot.revert',
    context,
    // No undo: the host refuses before touching a disk, or reverts every disk (the agent
    // memoises the revert by operation ID, so a repeat does not throw newer writes away).
    steps: [
      {
        name: 'revert',
        async run(c) {
          const row = await snapshotOf(c);
          if (!row || row.status !== 'available')
            throw new StepRefused(
              `Snapshot ${c.snapshotId} is ${row?.status ?? 'gone'}, not available.`,
              ErrorCode.INVALID_STATE,
            );
          await onHost(c, 'revert');
        },
      },
    ],
  };

  const remove: Workflow<SnapshotContext> = {
    kind: 'snapshot.delete',
    context,
    steps: [
      {
        name: 'delete',
        async run(c) {
          const names = await onHost(c, 'delete');
          if (names.includes(c.snapshotId))
            throw new Error(`snapshot ${c.snapshotId}: the host still lists it after delete`);
          await tx(`snapshot ${c.snapshotId}: remove`, (t) =>
            removeSnapshot(t, { tenantId: c.tenantId, id: c.snapshotId }),
          );
        },
        // The API released the quota at accept. A snapshot the host still has is the tenant's
        // again (row available, quota taken back); one the host no longer has is removed.
        async undo(c) {
          const names = await namesOnHost(c);
          await tx(`snapshot ${c.snapshotId}: delete undone`, async (t) => {
            const row = await getSnapshot(t, {
              tenantId: c.tenantId,
              id: c.snapshotId,
              includeDeleted: true,
              forUpdate: true,
            });
            if (!row || row.status !== 'deleting') return;
            if (names.includes(c.snapshotId)) {
              await updateSnapshot(t, {
                tenantId: c.tenantId,
                id: row.id,
                set: { status: 'available' },
              });
              await takeBackQuota(t, c.tenantId, { snapshots: 1 });
            } else await removeSnapshot(t, { tenantId: c.tenantId, id: row.id });
          });
        },
      },
    ],
  };

  return [create, revert, remove];
}
