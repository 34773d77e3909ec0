import { hostByIdInput, hostSchema } from '@palisade/contracts';
import { setHostState, withPlatform } from '@palisade/db';
import { auditOf } from '../../audit';
import { platformProcedure } from '../../trpc';
import { auditHostChange, lockedHost } from './lifecycle';
import { toHost } from './to-dto';

/**
 * Takes a host out of placement (operators) without touching its state or its VMs: they keep
 * running and reporting. `enable` undoes it.
 */
export const disable = platformProcedure('platform.host.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/admin/hosts/{id}/disable',
      protect: true,
      tags: ['admin: hosts'],
      summary: 'Disable a host: no new VMs are placed on it, nothing else changes',
    },
  })
  .input(hostByIdInput)
  .output(hostSchema)
  .mutation(({ ctx, input }) =>
    withPlatform(ctx.db, `disable host ${input.id}`, async (tx) => {
      const host = await lockedHost(tx, input.id);
      const after = await setHostState(tx, { id: host.id, enabled: false });
      await auditHostChange(
        tx,
        (details) =>
          auditOf({ ...ctx, tenant: null }, 'host.disable', { type: 'host', id: host.id }, details),
        host,
        after,
      );
      return toHost(after);
    }),
  );
