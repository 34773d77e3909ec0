import { AppError, byIdInput, ErrorCode, tenantSchema } from '@palisade/contracts';
import { getTenant, withPlatform } from '@palisade/db';
import { platformProcedure } from '../../trpc';
import { toTenant } from './to-dto';

/** One tenant (operators). */
export const get = platformProcedure('platform.tenant.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/admin/tenants/{id}',
      protect: true,
      tags: ['admin: tenants'],
      summary: 'Get a tenant',
    },
  })
  .input(byIdInput)
  .output(tenantSchema)
  .query(async ({ ctx, input }) => {
    const row = await withPlatform(ctx.db, `read tenant ${input.id}`, (tx) =>
      getTenant(tx, { id: input.id }),
    );
    if (!row)
      throw new AppError(ErrorCode.NOT_FOUND, `tenant ${input.id} not found`, {
        userMessage: 'Tenant not found.',
      });
    return toTenant(row);
  });
