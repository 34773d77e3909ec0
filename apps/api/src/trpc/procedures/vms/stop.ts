import { vmAcceptedSchema, vmActionInput } from '@palisade/contracts';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { tenantProcedure } from '../../trpc';
import { vmAction } from './action';

/** Stop a VM (ACPI shutdown): an operation (202); refused while another runs or when the VM's state forbids it. */
export const stop = tenantProcedure('vm.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/vms/{id}/stop',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['vms'],
      summary: 'Stop a VM (ACPI shutdown)',
    },
  })
  .input(vmActionInput)
  .output(vmAcceptedSchema)
  .mutation(({ ctx, input }) => vmAction(ctx, input, 'stop'));
