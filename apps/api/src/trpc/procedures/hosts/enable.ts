import { hostByIdInput, hostSchema } from '@palisade/contracts';
import { setHostState, withPlatform } from '@palisade/db';
import { auditOf } from '../../audit';
import { platformProcedure } from '../../trpc';
import { auditHostChange, lockedHost, refuseEnrolling } from './lifecycle';
import { toHost } from './to-dto';

/**
 * Puts a host back into service (operators): enabled again, and a draining host or one in
 * maintenance is `up`. If its agent is in fact silent, the monitor marks it unreachable again
 * once the heartbeat timeout passes; an unreachable host stays unreachable until it reports.
 */
export const enable = platformProcedure('platform.host.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/admin/hosts/{id}/enable',
      protect: true,
      tags: ['admin: hosts'],
      summary: 'Re-enable a host for placement (ends a drain)',
    },
  })
  .input(hostByIdInput)
  .output(hostSchema)
  .mutation(({ ctx, input }) =>
    withPlatform(ctx.db, `enable host ${input.id}`, async (tx) => {
      const host = await lockedHost(tx, input.id);
      refuseEnrolling(host, 'enable');
      const back = host.state === 'draining' || host.state === 'maintenance';
      const after = await setHostState(tx, {
        id: host.id,
        enabled: true,
        ...(back ? { state: 'up' as const } : {}),
      });
      await auditHostChange(
        tx,
        (details) =>
          auditOf({ ...ctx, tenant: null }, 'host.enable', { type: 'host', id: host.id }, details),
        host,
        after,
      );
      return toHost(after);
    }),
  );
