import { z } from 'zod';
import { OPERATION_STATES, operationSchema, pageInput, pageOf } from '@palisade/contracts';
import { listOperations, withTenant } from '@palisade/db';
import { decodeCursor, pageResult } from '../../../resources/cursor';
import { toOperation } from '../../../resources/operation';
import { tenantProcedure } from '../../trpc';

/** The tenant's operations, newest first; filter by target, state or kind. */
export const list = tenantProcedure('operation.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/operations',
      protect: true,
      tags: ['operations'],
      summary: 'List operations',
    },
  })
  .input(
    pageInput.extend({
      targetId: z.uuid('must be a UUID').optional(),
      state: z.enum(OPERATION_STATES).optional(),
      kind: z.string().max(63, 'must be at most 63 characters').optional(),
    }),
  )
  .output(pageOf(operationSchema))
  .query(({ ctx, input }) => {
    const after = decodeCursor(input.cursor);
    return withTenant(ctx.db, ctx.tenant.id, async (tx) =>
      pageResult(
        await listOperations(tx, {
          tenantId: ctx.tenant.id,
          limit: input.limit,
          after,
          targetId: input.targetId,
          state: input.state,
          kind: input.kind || undefined,
        }),
        toOperation,
      ),
    );
  });
