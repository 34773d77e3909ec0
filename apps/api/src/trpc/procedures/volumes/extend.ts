import { AppError, ErrorCode, volumeAcceptedSchema, volumeExtendInput } from '@palisade/contracts';
import { getVm } from '@palisade/db';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { consume } from '../../../resources/ledger';
import { tenantProcedure } from '../../trpc';
import { volumeChange } from './change';
import { requireStoppedVm } from './stopped-vm';

/** Grows a volume (never shrinks: that would cut a filesystem); the growth comes from quota. */
export const extend = tenantProcedure('volume.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/volumes/{id}/extend',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['volumes'],
      summary: 'Extend a volume (202)',
    },
  })
  .input(volumeExtendInput)
  .output(volumeAcceptedSchema)
  .mutation(({ ctx, input }) =>
    volumeChange(ctx, 'volume.extend', input, async (tx, volume) => {
      if (input.sizeGiB <= volume.sizeGib)
        throw new AppError(ErrorCode.VALIDATION_FAILED, 'volume shrink', {
          userMessage: `sizeGiB: must be more than the current ${volume.sizeGib} GiB (volumes only grow)`,
          details: { field: 'sizeGiB' },
        });
      if (volume.vmId) {
        const vm = await getVm(tx, { tenantId: ctx.tenant.id, id: volume.vmId, forUpdate: true });
        if (vm) await requireStoppedVm(tx, vm, 'extend');
      }
      await consume(tx, ctx.tenant.id, { diskGiB: input.sizeGiB - volume.sizeGib });
      return {
        set: { sizeGib: input.sizeGiB },
        audit: { from: volume.sizeGib, to: input.sizeGiB },
      };
    }),
  );
