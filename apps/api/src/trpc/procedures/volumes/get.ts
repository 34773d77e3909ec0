import { byIdInput, volumeSchema } from '@palisade/contracts';
import { getVolume, withTenant } from '@palisade/db';
import { notFound } from '../../../resources/errors';
import { tenantProcedure } from '../../trpc';
import { toVolume } from './to-dto';

/** One volume of the tenant. */
export const get = tenantProcedure('volume.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/volumes/{id}',
      protect: true,
      tags: ['volumes'],
      summary: 'Get a volume',
    },
  })
  .input(byIdInput)
  .output(volumeSchema)
  .query(async ({ ctx, input }) => {
    const row = await withTenant(ctx.db, ctx.tenant.id, (tx) =>
      getVolume(tx, { tenantId: ctx.tenant.id, id: input.id }),
    );
    if (!row) throw notFound('volume', input.id);
    return toVolume(row);
  });
