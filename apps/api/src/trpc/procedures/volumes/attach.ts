import { volumeAcceptedSchema, volumeAttachInput } from '@palisade/contracts';
import { getVm } from '@palisade/db';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { invalidState, notFound } from '../../../resources/errors';
import { tenantProcedure } from '../../trpc';
import { volumeChange } from './change';
import { requireStoppedVm } from './stopped-vm';

/** Attaches an available volume to a stopped VM of the same tenant. */
export const attach = tenantProcedure('volume.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/volumes/{id}/attach',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['volumes'],
      summary: 'Attach a volume to a VM (202)',
    },
  })
  .input(volumeAttachInput)
  .output(volumeAcceptedSchema)
  .mutation(({ ctx, input }) =>
    volumeChange(ctx, 'volume.attach', input, async (tx, volume) => {
      // Locked so a concurrent VM delete either finishes first (and the VM is not found) or
      // waits for the attach: a volume never ends up attached to a deleted VM.
      const vm = await getVm(tx, { tenantId: ctx.tenant.id, id: input.vmId, forUpdate: true });
      if (!vm) throw notFound('VM', input.vmId, 'vmId');
      if (volume.vmId) throw invalidState(`volume ${volume.name} is already attached`);
      if (volume.status !== 'available')
        throw invalidState(`volume ${volume.name} is ${volume.status}, not available`);
      await requireStoppedVm(tx, vm, 'attach');
      return { set: { vmId: vm.id }, audit: { vmId: vm.id } };
    }),
  );
