import { quarantineListInput, quarantineListOutput } from '@palisade/contracts';
import { listQuarantine, withPlatform } from '@palisade/db';
import { decodeCursor, pageResult } from '../../../resources/cursor';
import { platformProcedure } from '../../trpc';
import { toQuarantinedItem } from './to-dto';

/** What hosts hold that no row accounts for, newest first; left on the host for a person. */
export const quarantine = platformProcedure('platform.host.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/admin/reconciler/quarantine',
      protect: true,
      tags: ['admin: reconciler'],
      summary: 'List quarantined domains, volumes and bridges',
      description:
        'Found on a host by the reconciler and never deleted by it. state=present (default) lists items still on their host; resolved, those no longer found there; all, both.',
    },
  })
  .input(quarantineListInput)
  .output(quarantineListOutput)
  .query(({ ctx, input }) => {
    const after = decodeCursor(input.cursor);
    return withPlatform(ctx.db, 'list quarantined items', async (tx) =>
      pageResult(
        await listQuarantine(tx, {
          limit: input.limit,
          after,
          hostId: input.hostId,
          state: input.state,
        }),
        toQuarantinedItem,
      ),
    );
  });
