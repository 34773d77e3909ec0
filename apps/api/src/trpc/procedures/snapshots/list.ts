import { pageOf, snapshotListInput, snapshotSchema } from '@palisade/contracts';
import { listSnapshots, withTenant } from '@palisade/db';
import { decodeCursor, pageResult } from '../../../resources/cursor';
import { tenantProcedure } from '../../trpc';
import { toSnapshot } from './to-dto';

/** The tenant's snapshots, newest first; optionally those of one VM. */
export const list = tenantProcedure('snapshot.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/snapshots',
      protect: true,
      tags: ['snapshots'],
      summary: 'List snapshots',
    },
  })
  .input(snapshotListInput)
  .output(pageOf(snapshotSchema))
  .query(({ ctx, input }) => {
    const after = decodeCursor(input.cursor);
    return withTenant(ctx.db, ctx.tenant.id, async (tx) =>
      pageResult(
        await listSnapshots(tx, {
          tenantId: ctx.tenant.id,
          limit: input.limit,
          after,
          vmId: input.vmId,
        }),
        toSnapshot,
      ),
    );
  });
