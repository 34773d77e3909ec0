import { vmAcceptedSchema, vmActionInput } from '@palisade/contracts';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { tenantProcedure } from '../../trpc';
import { vmAction } from './action';

/** Reboot a VM: an operation (202); refused while another runs or when the VM's state forbids it. */
export const reboot = tenantProcedure('vm.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/vms/{id}/reboot',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['vms'],
      summary: 'Reboot a VM',
    },
  })
  .input(vmActionInput)
  .output(vmAcceptedSchema)
  .mutation(({ ctx, input }) => vmAction(ctx, input, 'reboot'));
