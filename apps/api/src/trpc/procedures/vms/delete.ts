import { vmAcceptedSchema, vmActionInput } from '@palisade/contracts';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { release } from '../../../resources/ledger';
import { tenantProcedure } from '../../trpc';
import { vmAction } from './action';
import { footprintOf, usableFlavorOrAny } from './refs';

/**
 * Deletes a VM: desired state `deleted` and a vm.delete operation. The VM leaves the tenant's
 * lists and its quota is released at once; the worker removes it from its host, then the row.
 */
export const remove = tenantProcedure('vm.write')
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/vms/{id}',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['vms'],
      summary: 'Delete a VM (202)',
    },
  })
  .input(vmActionInput)
  .output(vmAcceptedSchema)
  .mutation(({ ctx, input }) =>
    vmAction(ctx, input, 'delete', async (tx, vm) => {
      const flavor = await usableFlavorOrAny(tx, vm.flavorId);
      await release(tx, ctx.tenant.id, footprintOf(flavor));
      return {};
    }),
  );
