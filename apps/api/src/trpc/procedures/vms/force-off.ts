import { vmAcceptedSchema, vmActionInput } from '@palisade/contracts';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { tenantProcedure } from '../../trpc';
import { vmAction } from './action';

/** Force a VM off (power cut): an operation (202); refused while another runs or when the VM's state forbids it. */
export const forceOff = tenantProcedure('vm.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/vms/{id}/force-off',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['vms'],
      summary: 'Force a VM off (power cut)',
    },
  })
  .input(vmActionInput)
  .output(vmAcceptedSchema)
  .mutation(({ ctx, input }) => vmAction(ctx, input, 'forceOff'));
