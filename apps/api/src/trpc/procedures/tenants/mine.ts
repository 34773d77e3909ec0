import { z } from 'zod';
import { myTenantSchema } from '@palisade/contracts';
import { authedProcedure, tenantsOf } from '../../trpc';

/**
 * The tenants the caller may act in, with their role in each: what the portal's tenant switcher
 * offers, and the values X-Palisade-Tenant accepts. Read the same way as tenant procedures resolve
 * the header, so the list never offers a tenant they would refuse (suspended ones are listed with
 * their status: the API, not the UI, refuses them).
 */
export const mine = authedProcedure
  .meta({
    openapi: {
      method: 'GET',
      path: '/me/tenants',
      protect: true,
      tags: ['identity'],
      summary: 'My tenants',
    },
  })
  .input(z.void())
  .output(z.array(myTenantSchema))
  .query(async ({ ctx }) =>
    (await tenantsOf(ctx.db, ctx.principal)).map((m) => ({
      id: m.tenantId,
      slug: m.tenantSlug,
      name: m.tenantName,
      status: m.tenantStatus,
      role: m.role,
    })),
  );
