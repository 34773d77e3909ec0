import { apiClientSchema, byIdInput } from '@palisade/contracts';
import { getApiClient, markApiClientRevoked, recordAudit, withTenant } from '@palisade/db';
import { auditOf } from '../../audit';
import { tenantProcedure } from '../../trpc';
import { apiClientNotFound, toApiClient } from './to-dto';

/**
 * Revokes an API client: its Keycloak client is deleted (no new tokens) and its row is marked
 * revoked, which refuses the tokens it already holds on their next request. Revoking twice is fine.
 */
export const revoke = tenantProcedure('apiclient.write')
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/api-clients/{id}',
      protect: true,
      tags: ['api-clients'],
      summary: 'Revoke an API client',
    },
  })
  .input(byIdInput)
  .output(apiClientSchema)
  .mutation(async ({ ctx, input }) => {
    const client = await withTenant(ctx.db, ctx.tenant.id, (tx) =>
      getApiClient(tx, { tenantId: ctx.tenant.id, id: input.id }),
    );
    if (!client) throw apiClientNotFound(input.id, ctx.tenant.id);
    if (client.status === 'revoked') return toApiClient(client);
    await ctx.identity.deleteApiClient(client.keycloakId);
    const row = await withTenant(ctx.db, ctx.tenant.id, async (tx) => {
      const revoked = (await markApiClientRevoked(tx, { tenantId: ctx.tenant.id, id: client.id }))!;
      await recordAudit(
        tx,
        auditOf(
          ctx,
          'apiclient.revoke',
          { type: 'api_client', id: client.id },
          { name: client.name },
        ),
      );
      return revoked;
    });
    return toApiClient(row);
  });
