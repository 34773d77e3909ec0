import { AppError, ErrorCode, drainHostOutput, hostByIdInput } from '@palisade/contracts';
import { activeOperationOnTarget, insertOperation, setHostState, withPlatform } from '@palisade/db';
import { auditOf } from '../../audit';
import { platformProcedure } from '../../trpc';
import { auditHostChange, lockedHost, refuseEnrolling } from './lifecycle';
import { toHost } from './to-dto';

/** How long a drain may run: each VM's cold migration copies its disks (the sweeper ends a drain
 *  past this, with the reason). */
const DRAIN_DEADLINE_MS = 6 * 60 * 60_000;

/**
 * Drains a host (operators): it becomes `draining` at once, so placement stops choosing it, and a
 * `host.drain` operation is recorded for the worker (apps/worker/src/hosts/drain-workflow.ts),
 * which cold-migrates every VM away, one `vm.migrate` operation per VM, then puts the host in
 * `maintenance`. Idempotent: while a drain of the host is unfinished, draining again records
 * nothing new and answers that drain's id; after a failed drain it starts a new one.
 */
export const drain = platformProcedure('platform.host.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/admin/hosts/{id}/drain',
      protect: true,
      tags: ['admin: hosts'],
      summary: 'Drain a host: no new VMs are placed on it, its VMs move away, then maintenance',
    },
  })
  .input(hostByIdInput)
  .output(drainHostOutput)
  .mutation(({ ctx, input }) =>
    withPlatform(ctx.db, `drain host ${input.id}`, async (tx) => {
      const host = await lockedHost(tx, input.id);
      refuseEnrolling(host, 'drain');
      const running = await activeOperationOnTarget(tx, { targetId: host.id });
      if (running?.kind === 'host.drain') return { host: toHost(host), operationId: running.id };
      if (running)
        throw new AppError(ErrorCode.OPERATION_IN_PROGRESS, `host ${host.name}: ${running.kind}`, {
          userMessage: `Host ${host.name} has an operation in progress (${running.kind}).`,
        });
      const after = await setHostState(tx, { id: host.id, state: 'draining' });
      const op = await insertOperation(tx, {
        tenantId: null,
        kind: 'host.drain',
        targetType: 'host',
        targetId: host.id,
        state: 'pending',
        deadline: new Date(Date.now() + DRAIN_DEADLINE_MS),
        requestId: ctx.requestId,
        actor: ctx.principal.subject,
      });
      await auditHostChange(
        tx,
        (details) =>
          auditOf({ ...ctx, tenant: null }, 'host.drain', { type: 'host', id: host.id }, details),
        host,
        after,
        { operationId: op.id },
      );
      return { host: toHost(after), operationId: op.id };
    }),
  );
