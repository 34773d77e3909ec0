import { AppError, ErrorCode, type ApiClient } from '@palisade/contracts';
import type { ApiClientRow } from '@palisade/db';

export const toApiClient = (r: ApiClientRow): ApiClient => ({
  id: r.id,
  name: r.name,
  role: r.role,
  clientId: r.keycloakClientId,
  status: r.status,
  createdAt: r.createdAt.toISOString(),
  secretRotatedAt: r.secretRotatedAt?.toISOString() ?? null,
  revokedAt: r.revokedAt?.toISOString() ?? null,
});

export const apiClientNotFound = (id: string, tenantId: string) =>
  new AppError(ErrorCode.NOT_FOUND, `API client ${id} not in tenant ${tenantId}`, {
    userMessage: 'API client not found.',
  });
