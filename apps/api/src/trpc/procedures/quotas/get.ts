import { z } from 'zod';
import { quotaSchema } from '@palisade/contracts';
import { readLimits, readUsage, withTenant } from '@palisade/db';
import { tenantProcedure } from '../../trpc';

/** The tenant's limits and what it uses now (the ledger). */
export const get = tenantProcedure('quota.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/quota',
      protect: true,
      tags: ['quota'],
      summary: 'Quota and usage',
    },
  })
  .input(z.void())
  .output(quotaSchema)
  .query(({ ctx }) =>
    withTenant(ctx.db, ctx.tenant.id, async (tx) => ({
      limits: await readLimits(tx, { tenantId: ctx.tenant.id }),
      usage: await readUsage(tx, { tenantId: ctx.tenant.id }),
    })),
  );
