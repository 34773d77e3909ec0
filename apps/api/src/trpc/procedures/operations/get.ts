import { byIdInput, operationSchema } from '@palisade/contracts';
import { getOperation, withTenant } from '@palisade/db';
import { notFound } from '../../../resources/errors';
import { toOperation } from '../../../resources/operation';
import { tenantProcedure } from '../../trpc';

/** One operation: its state, steps, progress and, when it failed, why. */
export const get = tenantProcedure('operation.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/operations/{id}',
      protect: true,
      tags: ['operations'],
      summary: 'Get an operation',
    },
  })
  .input(byIdInput)
  .output(operationSchema)
  .query(async ({ ctx, input }) => {
    const row = await withTenant(ctx.db, ctx.tenant.id, (tx) =>
      getOperation(tx, { tenantId: ctx.tenant.id, id: input.id }),
    );
    if (!row) throw notFound('operation', input.id);
    return toOperation(row);
  });
