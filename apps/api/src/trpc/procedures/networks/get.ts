import { byIdInput, networkSchema } from '@palisade/contracts';
import { getNetwork, withTenant } from '@palisade/db';
import { notFound } from '../../../resources/errors';
import { tenantProcedure } from '../../trpc';
import { toNetwork } from './to-dto';

/** One network of the tenant. */
export const get = tenantProcedure('network.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/networks/{id}',
      protect: true,
      tags: ['networks'],
      summary: 'Get a network',
    },
  })
  .input(byIdInput)
  .output(networkSchema)
  .query(async ({ ctx, input }) => {
    const row = await withTenant(ctx.db, ctx.tenant.id, (tx) =>
      getNetwork(tx, { tenantId: ctx.tenant.id, id: input.id }),
    );
    if (!row) throw notFound('network', input.id);
    return toNetwork(row);
  });
