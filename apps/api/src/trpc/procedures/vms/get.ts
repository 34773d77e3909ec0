import { byIdInput, vmSchema } from '@palisade/contracts';
import { getVm, withTenant } from '@palisade/db';
import { notFound } from '../../../resources/errors';
import { tenantProcedure } from '../../trpc';
import { toVm, vmParts } from './to-dto';

/** One VM of the tenant; another tenant's id is not found. */
export const get = tenantProcedure('vm.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/vms/{id}',
      protect: true,
      tags: ['vms'],
      summary: 'Get a VM',
    },
  })
  .input(byIdInput)
  .output(vmSchema)
  .query(({ ctx, input }) =>
    withTenant(ctx.db, ctx.tenant.id, async (tx) => {
      const row = await getVm(tx, { tenantId: ctx.tenant.id, id: input.id });
      if (!row) throw notFound('VM', input.id);
      return toVm(row, await vmParts(tx, ctx.tenant.id, [row.id]));
    }),
  );
