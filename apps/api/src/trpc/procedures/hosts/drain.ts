import { drainHostOutput, hostByIdInput } from '@palisade/contracts';
import { insertOperation, setHostState, withPlatform } from '@palisade/db';
import { auditOf } from '../../audit';
import { platformProcedure } from '../../trpc';
import { auditHostChange, lockedHost, refuseEnrolling } from './lifecycle';
import { toHost } from './to-dto';

/** How long a recorded drain may stay open; it ends at once today (nothing is migrated). */
const DRAIN_DEADLINE_MS = 60 * 60_000;

/**
 * Marks a host `draining` (operators): placement stops choosing it at once (its filter refuses
 * draining hosts), and its VMs keep running. A `host.drain` operation records the request with a
 * `migrate-vms` step that is skipped: live migration workflows do not exist yet, so the operator
 * moves or stops the VMs, then puts the host in maintenance. Idempotent: draining a draining host
 * records nothing new and answers the last drain operation's id.
 */
export const drain = platformProcedure('platform.host.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/admin/hosts/{id}/drain',
      protect: true,
      tags: ['admin: hosts'],
      summary: 'Drain a host: no new VMs are placed on it',
    },
  })
  .input(hostByIdInput)
  .output(drainHostOutput)
  .mutation(({ ctx, input }) =>
    withPlatform(ctx.db, `drain host ${input.id}`, async (tx) => {
      const host = await lockedHost(tx, input.id);
      refuseEnrolling(host, 'drain');
      const after = await setHostState(tx, { id: host.id, state: 'draining' });
      const now = new Date();
      const op = await insertOperation(tx, {
        tenantId: null,
        kind: 'host.drain',
        targetType: 'host',
        targetId: host.id,
        state: 'succeeded',
        steps: [
          {
            name: 'mark-draining',
            state: 'done',
            startedAt: now.toISOString(),
            finishedAt: now.toISOString(),
          },
          { name: 'migrate-vms', state: 'skipped', error: 'live migration is not implemented' },
        ],
        progress: 100,
        deadline: new Date(now.getTime() + DRAIN_DEADLINE_MS),
        requestId: ctx.requestId,
        actor: ctx.principal.subject,
        startedAt: now,
        finishedAt: now,
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
