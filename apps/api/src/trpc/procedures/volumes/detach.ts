import { volumeActionInput, volumeAcceptedSchema } from '@palisade/contracts';
import { getVm } from '@palisade/db';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { invalidState } from '../../../resources/errors';
import { tenantProcedure } from '../../trpc';
import { volumeChange } from './change';
import { requireStoppedVm } from './stopped-vm';

/** Detaches a volume from its stopped VM. */
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
    volumeChange(ctx, 'volume.detach', input, async (tx, volume) => {
      if (!volume.vmId) throw invalidState(`volume ${volume.name} is not attached`);
      const vm = await getVm(tx, { tenantId: ctx.tenant.id, id: volume.vmId, forUpdate: true });
      if (vm) await requireStoppedVm(tx, vm, 'detach');
      return { set: { vmId: null }, audit: { vmId: volume.vmId } };
    }),
  );
