import { pageOf, volumeListInput, volumeSchema } from '@palisade/contracts';
import { listVolumes, withTenant } from '@palisade/db';
import { decodeCursor, pageResult } from '../../../resources/cursor';
import { tenantProcedure } from '../../trpc';
import { toVolume } from './to-dto';

/** The tenant's volumes, newest first; optionally those of one VM. */
export const list = tenantProcedure('volume.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/volumes',
      protect: true,
      tags: ['volumes'],
      summary: 'List volumes',
    },
  })
  .input(volumeListInput)
  .output(pageOf(volumeSchema))
  .query(({ ctx, input }) => {
    const after = decodeCursor(input.cursor);
    return withTenant(ctx.db, ctx.tenant.id, async (tx) =>
      pageResult(
        await listVolumes(tx, {
          tenantId: ctx.tenant.id,
          limit: input.limit,
          after,
          vmId: input.vmId,
        }),
        toVolume,
      ),
    );
  });
