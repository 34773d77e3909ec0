import { AppError, ErrorCode, flavorSchema, flavorSetDisabledInput } from '@palisade/contracts';
import { recordAudit, setFlavorDisabled, withPlatform } from '@palisade/db';
import { auditOf } from '../../audit';
import { platformProcedure } from '../../trpc';
import { toFlavor } from './to-dto';

/** Hides a flavor from new VMs (or shows it again). Existing VMs keep their flavor. */
export const setDisabled = platformProcedure('platform.catalog.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/admin/flavors/{id}/disabled',
      protect: true,
      tags: ['admin: flavors'],
      summary: 'Disable or enable a flavor',
    },
  })
  .input(flavorSetDisabledInput)
  .output(flavorSchema)
  .mutation(async ({ ctx, input }) =>
    toFlavor(
      await withPlatform(
        ctx.db,
        `set flavor ${input.id} disabled=${input.disabled}`,
        async (tx) => {
          const row = await setFlavorDisabled(tx, input);
          if (!row)
            throw new AppError(ErrorCode.NOT_FOUND, `flavor ${input.id}`, {
              userMessage: 'Flavor not found.',
            });
          await recordAudit(
            tx,
            auditOf({ ...ctx, tenant: null }, input.disabled ? 'flavor.disable' : 'flavor.enable', {
              type: 'flavor',
              id: row.id,
            }),
          );
          return row;
        },
      ),
    ),
  );
