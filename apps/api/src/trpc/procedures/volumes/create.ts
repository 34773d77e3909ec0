import { volumeAcceptedSchema, volumeCreateInput } from '@palisade/contracts';
import { insertVolume } from '@palisade/db';
import { accept, ACCEPTED_OPENAPI } from '../../../resources/accept';
import { nameConflict } from '../../../resources/errors';
import { consume } from '../../../resources/ledger';
import { tenantProcedure } from '../../trpc';
import { volumeView } from './to-dto';

/**
 * Creates a volume: one volume and its size from the quota, a pending row, a volume.create
 * operation. The worker creates the LUKS qcow2 and its wrapped key on a host.
 */
export const create = tenantProcedure('volume.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/volumes',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['volumes'],
      summary: 'Create a volume (202)',
    },
  })
  .input(volumeCreateInput)
  .output(volumeAcceptedSchema)
  .mutation(({ ctx, input }) => {
    const tenantId = ctx.tenant.id;
    return accept(
      ctx,
      {
        kind: 'volume.create',
        targetType: 'volume',
        input,
        run: async (tx) => {
          await consume(tx, tenantId, { volumes: 1, diskGiB: input.sizeGiB });
          const row = await tx
            .transaction((sp) =>
              insertVolume(sp, { tenantId, name: input.name, sizeGib: input.sizeGiB }),
            )
            .catch((e: unknown) => nameConflict(e, 'volumes_tenant_name', 'volume', input.name));
          return { targetId: row.id, audit: { name: row.name, sizeGiB: row.sizeGib } };
        },
        view: (tx, id) => volumeView(tx, tenantId, id),
      },
      input,
    );
  });
