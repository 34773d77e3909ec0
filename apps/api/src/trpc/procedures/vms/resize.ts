import { vmAcceptedSchema, vmResizeInput } from '@palisade/contracts';
import { applyDelta, checkQuota, resourceDelta } from '@palisade/domain';
import { lockUsage, writeUsage } from '@palisade/db';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { invalidState } from '../../../resources/errors';
import { quotaError } from '../../../resources/ledger';
import { tenantProcedure } from '../../trpc';
import { vmAction } from './action';
import { footprintOf, usableFlavor, usableFlavorOrAny } from './refs';

/**
 * Resizes a stopped VM to another flavor. Only growth is checked against quota (a smaller flavor
 * always fits); the ledger moves by the difference in the same transaction.
 */
export const resize = tenantProcedure('vm.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/vms/{id}/resize',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['vms'],
      summary: 'Resize a stopped VM to another flavor (202)',
    },
  })
  .input(vmResizeInput)
  .output(vmAcceptedSchema)
  .mutation(({ ctx, input }) =>
    vmAction(ctx, input, 'resize', async (tx, vm) => {
      const tenantId = ctx.tenant.id;
      if (vm.flavorId === input.flavorId)
        throw invalidState(`flavorId: the VM already has this flavor`);
      const from = await usableFlavorOrAny(tx, vm.flavorId);
      const to = await usableFlavor(tx, input.flavorId);
      const delta = resourceDelta(footprintOf(from), footprintOf(to));
      const { usage, limits } = await lockUsage(tx, { tenantId });
      const check = checkQuota(limits, usage, delta.grow);
      if (!check.ok) throw quotaError(check);
      await writeUsage(tx, { tenantId, usage: applyDelta(usage, delta) });
      return {
        // The old flavor stays on the row until the worker's vm.resize commits: its compensation
        // puts it back with the quota difference (apps/worker vm-change-workflows.ts).
        set: { flavorId: to.id, resizeFromFlavorId: from.id, specRevision: vm.specRevision + 1 },
        audit: { from: from.name, to: to.name },
      };
    }),
  );
