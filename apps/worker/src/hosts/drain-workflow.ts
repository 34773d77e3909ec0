/**
 * The `host.drain` workflow: moves every VM off a host that an operator set `draining`, then puts
 * the host in `maintenance`. `admin.hosts.enable` brings it back (`up`); enabling it while the
 * drain runs stops the drain before its next VM.
 *
 * migrate-vms: for each VM on the host, one `vm.migrate` operation (migrate-workflow.ts) on the
 * VM, in its tenant's timeline, run here to its end before the next VM starts: the drain owns its
 * migrations, so the outbox relay never enqueues them (they are written already marked
 * enqueued) and a crashed drain resumes the one it was running. Once a migration has succeeded,
 * the VM's leftovers on this host (domain, seed, volume files and secrets) are removed; the
 * migration cannot do that itself, because its commit point is its last step and a step after it
 * would be undone on failure. The first migration that fails ends the drain with that
 * migration's reason (e.g. placement's per-filter reasons); the host stays draining, and the VMs
 * that had not moved were not touched.
 * maintenance: no VM left on the host -> `maintenance`.
 *
 * Must never: remove anything from this host for a VM that has not switched to another host;
 * run two operations on one VM at once.
 */
import { ErrorCode } from '@palisade/contracts';
import {
  activeOperationOf,
  childOperations,
  getHostById,
  insertOperation,
  listVmsOnHost,
  lockHost,
  setHostState,
  uniqueViolation,
  volumesOfVm,
  type OperationRow,
} from '@palisade/db';
import { StepRefused, WorkflowEngine, type Workflow } from '../operations/engine';
import { AgentClient } from '../vms/agent-client';
import { vmHost, type VmWorkflowDeps } from '../vms/vm-host';
import { MIGRATE_KIND, migrateWorkflow } from './migrate-workflow';

export const DRAIN_KIND = 'host.drain';

export interface DrainContext {
  op: OperationRow;
  hostId: string;
}

export interface DrainOptions {
  /** Attempts per migration (then it compensates), and the first retry's delay (doubling). */
  migrationAttempts: number;
  migrationBackoffMs: number;
}

export function drainWorkflows(
  deps: VmWorkflowDeps,
  options: DrainOptions = { migrationAttempts: 3, migrationBackoffMs: 5_000 },
): Workflow<DrainContext>[] {
  const { db } = deps;
  const { tx } = vmHost(deps);
  const migrations = new WorkflowEngine(db, new Map([[MIGRATE_KIND, migrateWorkflow(deps)]]));
  const keyPrefix = (c: DrainContext) => `${DRAIN_KIND}:${c.op.id}:`;

  const hostOf = async (c: DrainContext) => {
    const host = await tx(`host ${c.hostId}: read`, (t) => getHostById(t, { id: c.hostId }));
    if (!host) throw new StepRefused(`Host ${c.hostId} no longer exists.`, ErrorCode.NOT_FOUND);
    return host;
  };
  const stillDraining = async (c: DrainContext) => {
    const host = await hostOf(c);
    if (host.state !== 'draining')
      throw new StepRefused(
        `Host ${host.name} is ${host.state}, no longer draining: the drain stopped.`,
        ErrorCode.INVALID_STATE,
      );
    return host;
  };

  /** Runs one migration to its end here, retrying with backoff like the queue would. */
  async function runMigration(id: string): Promise<void> {
    for (let attempt = 0; ; attempt++) {
      try {
        await migrations.run(id, {
          attemptsMade: attempt,
          maxAttempts: options.migrationAttempts,
        });
        return;
      } catch (e) {
        // Only a non-final attempt throws (the final one compensates and ends the operation).
        if (e instanceof StepRefused || attempt + 1 >= options.migrationAttempts) throw e;
        await new Promise((r) => setTimeout(r, options.migrationBackoffMs * 2 ** attempt));
      }
    }
  }

  /** Removes what a migrated VM left on this host; only once the VM lives elsewhere. */
  async function cleanSource(c: DrainContext, child: OperationRow): Promise<void> {
    const tenantId = child.tenantId!;
    const rows = await tx(`vm ${child.targetId}: volumes`, (t) =>
      volumesOfVm(t, { tenantId, vmId: child.targetId }),
    );
    const onHost = await tx(`host ${c.hostId}: vms`, (t) => listVmsOnHost(t, { hostId: c.hostId }));
    if (onHost.some((v) => v.id === child.targetId))
      throw new Error(`vm ${child.targetId} still lives on host ${c.hostId} after its migration`);
    const host = await hostOf(c);
    if (!host.agentUrl)
      throw new StepRefused(`Host ${host.name} has no agent address.`, ErrorCode.HOST_NOT_ENROLLED);
    const source = new AgentClient(host.agentUrl, deps.tls, host.name);
    await source.destroy(child.id, child.targetId);
    // The secret first, then the file (the agent's order): the copy on the target stays.
    for (const v of rows) await source.deleteVolume(child.id, v.id);
  }

  /** The VM's migration for this drain: the one recorded, or a new one. */
  async function migrationOf(
    c: DrainContext,
    vm: { id: string; tenantId: string; name: string },
  ): Promise<OperationRow> {
    const key = `${keyPrefix(c)}${vm.id}`;
    const found = (
      await tx(`drain ${c.op.id}: migrations`, (t) =>
        childOperations(t, { kind: MIGRATE_KIND, keyPrefix: key }),
      )
    )[0];
    if (found) return found;
    try {
      return await tx(`vm ${vm.id}: migrate for drain ${c.op.id}`, (t) =>
        insertOperation(t, {
          tenantId: vm.tenantId,
          kind: MIGRATE_KIND,
          targetType: 'vm',
          targetId: vm.id,
          state: 'pending',
          deadline: c.op.deadline,
          idempotencyKey: key,
          requestId: c.op.requestId,
          actor: c.op.actor,
          // The drain runs it: marked enqueued so the outbox relay leaves it alone.
          enqueuedAt: new Date(),
        }),
      );
    } catch (e) {
      if (!uniqueViolation(e)) throw e;
      const busy = await tx(`vm ${vm.id}: active operation`, (t) =>
        activeOperationOf(t, { tenantId: vm.tenantId, targetId: vm.id }),
      );
      // Not interleaved: the drain waits (retries with backoff) for the VM's own operation.
      throw new Error(
        `VM ${vm.name} has an operation in progress (${busy?.kind ?? 'unknown'}); the drain waits for it`,
      );
    }
  }

  const drain: Workflow<DrainContext> = {
    kind: DRAIN_KIND,
    context: async (op) => ({ op, hostId: op.targetId }),
    steps: [
      {
        name: 'migrate-vms',
        async run(c) {
          await stillDraining(c);
          // A drain resumed after a crash first finishes the clean-up of VMs that already moved.
          for (const child of await tx(`drain ${c.op.id}: migrations`, (t) =>
            childOperations(t, { kind: MIGRATE_KIND, keyPrefix: keyPrefix(c) }),
          ))
            if (child.state === 'succeeded') await cleanSource(c, child);
          for (;;) {
            const [vm] = await tx(`host ${c.hostId}: vms`, (t) =>
              listVmsOnHost(t, { hostId: c.hostId }),
            );
            if (!vm) return;
            await stillDraining(c);
            let child = await migrationOf(c, vm);
            if (
              child.state === 'pending' ||
              child.state === 'running' ||
              child.state === 'compensating'
            ) {
              await runMigration(child.id);
              child = await migrationOf(c, vm);
            }
            if (child.state !== 'succeeded')
              throw new StepRefused(
                `VM ${vm.name} could not be moved: ${child.errorMessage ?? child.state}`,
                child.errorCode ?? 'operation.failed',
              );
            await cleanSource(c, child);
          }
        },
      },
      {
        name: 'maintenance',
        async run(c) {
          await tx(`host ${c.hostId}: maintenance`, async (t) => {
            const host = await lockHost(t, { id: c.hostId });
            if (host?.state === 'maintenance') return;
            if (host?.state !== 'draining')
              throw new StepRefused(
                `Host ${host?.name ?? c.hostId} is ${host?.state ?? 'gone'}, no longer draining.`,
                ErrorCode.INVALID_STATE,
              );
            const left = await listVmsOnHost(t, { hostId: c.hostId });
            if (left.length > 0)
              throw new Error(`host ${host.name} still has ${left.length} VMs after the drain`);
            await setHostState(t, { id: c.hostId, state: 'maintenance' });
          });
        },
      },
    ],
  };
  return [drain];
}
