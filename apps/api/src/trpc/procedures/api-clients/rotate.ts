import { AppError, apiClientWithSecretSchema, byIdInput, ErrorCode } from '@palisade/contracts';
import { getApiClient, markApiClientRotated, recordAudit, withTenant } from '@palisade/db';
import { auditOf } from '../../audit';
import { tenantProcedure } from '../../trpc';
import { apiClientNotFound, toApiClient } from './to-dto';

/**
 * A new secret for an API client, shown once; the old secret stops working at once (tokens
 * already issued with it stay valid until they expire, at most the realm's 5 minutes).
 */
export const rotate = tenantProcedure('apiclient.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/api-clients/{id}/rotate',
      protect: true,
      tags: ['api-clients'],
      summary: 'Rotate an API client’s secret (the new secret is shown once)',
    },
  })
  .input(byIdInput)
  .output(apiClientWithSecretSchema)
  .mutation(async ({ ctx, input }) => {
    const client = await withTenant(ctx.db, ctx.tenant.id, (tx) =>
      getApiClient(tx, { tenantId: ctx.tenant.id, id: input.id }),
    );
    if (!client) throw apiClientNotFound(input.id, ctx.tenant.id);
    if (client.status !== 'active')
      throw new AppError(ErrorCode.CONFLICT, `API client ${client.id} is revoked`, {
        userMessage: 'This API client is revoked; create a new one.',
      });
    const secret = await ctx.identity.rotateApiClientSecret(client.keycloakId);
    const row = await withTenant(ctx.db, ctx.tenant.id, async (tx) => {
      const rotated = (await markApiClientRotated(tx, { tenantId: ctx.tenant.id, id: client.id }))!;
      await recordAudit(
        tx,
        auditOf(
          ctx,
          'apiclient.rotate',
          { type: 'api_client', id: client.id },
          { name: client.name },
        ),
      );
      return rotated;
    });
    return { ...toApiClient(row), clientSecret: secret, tokenUrl: ctx.identity.tokenUrl };
  });
