import { vmAcceptedSchema, vmActionInput } from '@palisade/contracts';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { tenantProcedure } from '../../trpc';
import { vmAction } from './action';

/** Start a VM: an operation (202); refused while another runs or when the VM's state forbids it. */
export const start = tenantProcedure('vm.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/vms/{id}/start',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['vms'],
      summary: 'Start a VM',
    },
  })
  .input(vmActionInput)
  .output(vmAcceptedSchema)
  .mutation(({ ctx, input }) => vmAction(ctx, input, 'start'));
