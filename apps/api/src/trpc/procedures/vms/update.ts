import { vmSchema, vmUpdateInput } from '@palisade/contracts';
import { getVm, recordAudit, updateVm, withTenant } from '@palisade/db';
import { nameConflict, notFound } from '../../../resources/errors';
import { auditOf } from '../../audit';
import { tenantProcedure } from '../../trpc';
import { toVm, vmParts } from './to-dto';

/**
 * Renames or retags a VM, or sets its restart policy (what the reconciler does when the VM is
 * found off while it should run). Only control-plane metadata changes, so there is no operation:
 * the new name reaches libvirt with the next operation that redefines the domain.
 */
export const update = tenantProcedure('vm.write')
  .meta({
    openapi: {
      method: 'PATCH',
      path: '/vms/{id}',
      protect: true,
      tags: ['vms'],
      summary: 'Rename or retag a VM, or set its restart policy',
    },
  })
  .input(vmUpdateInput)
  .output(vmSchema)
  .mutation(({ ctx, input }) =>
    withTenant(ctx.db, ctx.tenant.id, async (tx) => {
      const tenantId = ctx.tenant.id;
      const vm = await getVm(tx, { tenantId, id: input.id, forUpdate: true });
      if (!vm) throw notFound('VM', input.id);
      const set = {
        ...(input.name !== undefined && { name: input.name }),
        ...(input.tags !== undefined && { tags: input.tags }),
        ...(input.restartPolicy !== undefined && { restartPolicy: input.restartPolicy }),
      };
      const row = await tx
        .transaction((sp) => updateVm(sp, { tenantId, id: vm.id, set }))
        .catch((e: unknown) => nameConflict(e, 'vms_tenant_name', 'VM', input.name ?? vm.name));
      await recordAudit(
        tx,
        auditOf(
          ctx,
          'vm.update',
          { type: 'vm', id: vm.id },
          { from: { name: vm.name, tags: vm.tags, restartPolicy: vm.restartPolicy }, to: set },
        ),
      );
      return toVm(row!, await vmParts(tx, tenantId, [vm.id]));
    }),
  );
