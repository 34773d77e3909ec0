import { byIdInput, snapshotSchema } from '@palisade/contracts';
import { getSnapshot, withTenant } from '@palisade/db';
import { notFound } from '../../../resources/errors';
import { tenantProcedure } from '../../trpc';
import { toSnapshot } from './to-dto';

/** One snapshot of the tenant. */
export const get = tenantProcedure('snapshot.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/snapshots/{id}',
      protect: true,
      tags: ['snapshots'],
      summary: 'Get a snapshot',
    },
  })
  .input(byIdInput)
  .output(snapshotSchema)
  .query(async ({ ctx, input }) => {
    const row = await withTenant(ctx.db, ctx.tenant.id, (tx) =>
      getSnapshot(tx, { tenantId: ctx.tenant.id, id: input.id }),
    );
    if (!row) throw notFound('snapshot', input.id);
    return toSnapshot(row);
  });
