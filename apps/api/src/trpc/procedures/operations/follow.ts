import { operationFollowInput, operationSchema } from '@palisade/contracts';
import { getOperation, withTenant } from '@palisade/db';
import { notFound } from '../../../resources/errors';
import { isFinished, pollOperation, toOperation } from '../../../resources/operation';
import { tenantProcedure } from '../../trpc';

/**
 * Follows an operation by long-polling: answers as soon as the operation's `updatedAt` differs
 * from `since` (or it has ended), or after `waitSeconds` with it unchanged. Call again with the
 * answer's `updatedAt` to follow the next change. A long-poll rather than a subscription because
 * it works the same over tRPC and REST, through any proxy, with one code path.
 */
export const follow = tenantProcedure('operation.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/operations/{id}/follow',
      protect: true,
      tags: ['operations'],
      summary: 'Wait for the next change of an operation (long-poll)',
    },
  })
  .input(operationFollowInput)
  .output(operationSchema)
  .query(async ({ ctx, input, signal }) => {
    const tenantId = ctx.tenant.id;
    const first = await withTenant(ctx.db, tenantId, (tx) =>
      getOperation(tx, { tenantId, id: input.id }),
    );
    if (!first) throw notFound('operation', input.id);
    const op = toOperation(first);
    const since = input.since ? new Date(input.since).toISOString() : op.updatedAt;
    const changed = (o: typeof op) => isFinished(o) || o.updatedAt !== since;
    if (input.since && changed(op)) return op;
    return (
      (await pollOperation(ctx.db, tenantId, input.id, input.waitSeconds, changed, signal)) ?? op
    );
  });
