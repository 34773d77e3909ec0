import { pageOf, vmListInput, vmSchema } from '@palisade/contracts';
import { listVms, withTenant } from '@palisade/db';
import { decodeCursor, pageResult } from '../../../resources/cursor';
import { tenantProcedure } from '../../trpc';
import { toVm, vmParts } from './to-dto';

/** The tenant's VMs, newest first, a page at a time; filters by desired state, tag, name prefix. */
export const list = tenantProcedure('vm.read')
  .meta({
    openapi: { method: 'GET', path: '/vms', protect: true, tags: ['vms'], summary: 'List VMs' },
  })
  .input(vmListInput)
  .output(pageOf(vmSchema))
  .query(({ ctx, input }) => {
    const tenantId = ctx.tenant.id;
    const after = decodeCursor(input.cursor);
    return withTenant(ctx.db, tenantId, async (tx) => {
      const page = await listVms(tx, {
        tenantId,
        limit: input.limit,
        after,
        state: input.state,
        tag: input.tag || undefined,
        namePrefix: input.name || undefined,
      });
      const parts = await vmParts(
        tx,
        tenantId,
        page.items.map((v) => v.id),
      );
      return pageResult(page, (r) => toVm(r, parts));
    });
  });
