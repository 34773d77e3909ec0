import { z } from 'zod';
import { apiClientSchema } from '@palisade/contracts';
import { listApiClients, withTenant } from '@palisade/db';
import { tenantProcedure } from '../../trpc';
import { toApiClient } from './to-dto';

/** The active tenant's API clients, revoked ones included (never their secrets). */
export const list = tenantProcedure('apiclient.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/api-clients',
      protect: true,
      tags: ['api-clients'],
      summary: 'List API clients',
    },
  })
  .input(z.void())
  .output(z.array(apiClientSchema))
  .query(async ({ ctx }) =>
    (
      await withTenant(ctx.db, ctx.tenant.id, (tx) =>
        listApiClients(tx, { tenantId: ctx.tenant.id }),
      )
    ).map(toApiClient),
  );
