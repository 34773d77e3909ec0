import {
  AppError,
  apiClientCreateInput,
  apiClientWithSecretSchema,
  ErrorCode,
} from '@palisade/contracts';
import { insertApiClient, recordAudit, uniqueViolation, withTenant } from '@palisade/db';
import { auditOf } from '../../audit';
import { tenantProcedure } from '../../trpc';
import { toApiClient } from './to-dto';

const nameTaken = (name: string, cause?: unknown) =>
  new AppError(ErrorCode.CONFLICT, `API client ${name} exists`, {
    userMessage: `name: an API client named ${name} exists or existed in this tenant`,
    details: { field: 'name' },
    cause,
  });

/**
 * Creates an API client: a confidential Keycloak client, client_credentials only, whose tokens
 * carry this tenant's id and the API audience. Its secret is in the response and nowhere else:
 * Palisade does not store it. If recording the client fails, the Keycloak client is deleted again.
 */
export const create = tenantProcedure('apiclient.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/api-clients',
      protect: true,
      tags: ['api-clients'],
      summary: 'Create an API client (the secret is shown once)',
    },
  })
  .input(apiClientCreateInput)
  .output(apiClientWithSecretSchema)
  .mutation(async ({ ctx, input }) => {
    // Slugs and names have no dots, so `palisade.<slug>.<name>` never collides across tenants.
    const clientId = `palisade.${ctx.tenant.slug}.${input.name}`;
    const created = await ctx.identity
      .createApiClient({
        clientId,
        tenantId: ctx.tenant.id,
        description: `API client ${input.name} of tenant ${ctx.tenant.slug} (managed by Palisade)`,
      })
      .catch((e: unknown) => {
        throw e instanceof AppError && e.code === ErrorCode.CONFLICT ? nameTaken(input.name, e) : e;
      });
    try {
      const row = await withTenant(ctx.db, ctx.tenant.id, async (tx) => {
        const client = await insertApiClient(tx, {
          tenantId: ctx.tenant.id,
          name: input.name,
          role: input.role,
          keycloakClientId: clientId,
          keycloakId: created.keycloakId,
          createdBy: ctx.principal.subject,
        });
        await recordAudit(
          tx,
          auditOf(
            ctx,
            'apiclient.create',
            { type: 'api_client', id: client.id },
            { name: client.name, role: client.role, clientId },
          ),
        );
        return client;
      });
      return { ...toApiClient(row), clientSecret: created.secret, tokenUrl: ctx.identity.tokenUrl };
    } catch (e) {
      await ctx.identity.deleteApiClient(created.keycloakId);
      if (uniqueViolation(e)) throw nameTaken(input.name, e);
      throw e;
    }
  });
