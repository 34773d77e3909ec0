import { quotaSchema, quotaSetInput } from '@palisade/contracts';
import { readUsage, recordAudit, setQuota, tenantExists, withPlatform } from '@palisade/db';
import { notFound } from '../../../resources/errors';
import { auditOf } from '../../audit';
import { platformProcedure } from '../../trpc';

/**
 * Sets a tenant's limits (operators). Resources not named keep their limit. A limit below the
 * current usage is allowed: it stops growth and never takes anything away (libs/domain quota).
 */
export const set = platformProcedure('platform.tenant.write')
  .meta({
    openapi: {
      method: 'PUT',
      path: '/admin/tenants/{tenantId}/quota',
      protect: true,
      tags: ['admin: quotas'],
      summary: "Set a tenant's quota",
    },
  })
  .input(quotaSetInput)
  .output(quotaSchema)
  .mutation(({ ctx, input }) =>
    withPlatform(ctx.db, `set quota of tenant ${input.tenantId}`, async (tx) => {
      if (!(await tenantExists(tx, { tenantId: input.tenantId })))
        throw notFound('tenant', input.tenantId, 'tenantId');
      const tenant = { id: input.tenantId };
      const limits = await setQuota(tx, { tenantId: tenant.id, limits: input.limits });
      await recordAudit(
        tx,
        auditOf(
          { ...ctx, tenant: null },
          'quota.set',
          { type: 'tenant', id: tenant.id },
          {
            limits: input.limits,
          },
        ),
      );
      return { limits, usage: await readUsage(tx, { tenantId: tenant.id }) };
    }),
  );
