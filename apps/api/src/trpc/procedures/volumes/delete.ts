import { AppError, ErrorCode, volumeActionInput, volumeAcceptedSchema } from '@palisade/contracts';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { release } from '../../../resources/ledger';
import { tenantProcedure } from '../../trpc';
import { volumeChange } from './change';

/**
 * Deletes a detached volume: its quota is released at once; the worker crypto-erases it (the
 * wrapped key first, then the file).
 */
export const remove = tenantProcedure('volume.write')
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/volumes/{id}',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['volumes'],
      summary: 'Delete a volume (202)',
    },
  })
  .input(volumeActionInput)
  .output(volumeAcceptedSchema)
  .mutation(({ ctx, input }) =>
    volumeChange(ctx, 'volume.delete', input, async (tx, volume) => {
      if (volume.vmId)
        throw new AppError(ErrorCode.RESOURCE_IN_USE, `volume ${volume.id} attached`, {
          userMessage: `Volume ${volume.name} is attached to a VM; detach it first.`,
          details: { vmId: volume.vmId },
        });
      await release(tx, ctx.tenant.id, { volumes: 1, diskGiB: volume.sizeGib });
      return { set: { status: 'deleting' } };
    }),
  );
