import { z } from 'zod';
import { tenantSchema } from '@palisade/contracts';
import { listTenants, withPlatform } from '@palisade/db';
import { platformProcedure } from '../../trpc';
import { toTenant } from './to-dto';

/** Every tenant, whatever its status, by slug (operators). */
export const list = platformProcedure('platform.tenant.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/admin/tenants',
      protect: true,
      tags: ['admin: tenants'],
      summary: 'List tenants',
    },
  })
  .input(z.void())
  .output(z.array(tenantSchema))
  .query(async ({ ctx }) =>
    (await withPlatform(ctx.db, 'list tenants', (tx) => listTenants(tx))).map(toTenant),
  );
