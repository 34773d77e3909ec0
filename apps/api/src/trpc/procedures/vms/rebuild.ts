import { vmAcceptedSchema, vmRebuildInput } from '@palisade/contracts';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { tenantProcedure } from '../../trpc';
import { vmAction } from './action';
import { usableImage } from './refs';

/** Reimages a VM's root disk, from its image or another one (its data volumes stay). */
export const rebuild = tenantProcedure('vm.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/vms/{id}/rebuild',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['vms'],
      summary: 'Rebuild a VM from an image (202)',
    },
  })
  .input(vmRebuildInput)
  .output(vmAcceptedSchema)
  .mutation(({ ctx, input }) =>
    vmAction(ctx, input, 'rebuild', async (tx, vm) => {
      const image = await usableImage(tx, ctx.tenant.id, input.imageId ?? vm.imageId);
      return {
        set: { imageId: image.id, specRevision: vm.specRevision + 1 },
        audit: { imageId: image.id },
      };
    }),
  );
