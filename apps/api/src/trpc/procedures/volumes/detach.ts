import { volumeActionInput, volumeAcceptedSchema } from '@palisade/contracts';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { invalidState } from '../../../resources/errors';
import { tenantProcedure } from '../../trpc';
import { volumeChange } from './change';

/** Detaches a volume from its VM. */
export const detach = tenantProcedure('volume.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/volumes/{id}/detach',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['volumes'],
      summary: 'Detach a volume (202)',
    },
  })
  .input(volumeActionInput)
  .output(volumeAcceptedSchema)
  .mutation(({ ctx, input }) =>
    volumeChange(ctx, 'volume.detach', input, async (_tx, volume) => {
      if (!volume.vmId) throw invalidState(`volume ${volume.name} is not attached`);
      return { set: { vmId: null }, audit: { vmId: volume.vmId } };
    }),
  );
