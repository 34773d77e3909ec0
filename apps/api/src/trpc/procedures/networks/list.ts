import { networkListInput, networkSchema, pageOf } from '@palisade/contracts';
import { listNetworks, withTenant } from '@palisade/db';
import { decodeCursor, pageResult } from '../../../resources/cursor';
import { tenantProcedure } from '../../trpc';
import { toNetwork } from './to-dto';

/** The tenant's networks, newest first. */
export const list = tenantProcedure('network.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/networks',
      protect: true,
      tags: ['networks'],
      summary: 'List networks',
    },
  })
  .input(networkListInput)
  .output(pageOf(networkSchema))
  .query(({ ctx, input }) => {
    const after = decodeCursor(input.cursor);
    return withTenant(ctx.db, ctx.tenant.id, async (tx) =>
      pageResult(
        await listNetworks(tx, { tenantId: ctx.tenant.id, limit: input.limit, after }),
        toNetwork,
      ),
    );
  });
