import { sql } from 'drizzle-orm';
import { check, pgEnum, pgTable, text, timestamp, unique } from 'drizzle-orm/pg-core';
import { id, timestamps } from './columns';
import { tenantRole } from './memberships';
import { tenantId, tenantIsolation } from './tenant-columns';

export const apiClientStatus = pgEnum('api_client_status', ['active', 'revoked']);

/**
 * A tenant's API client: a confidential Keycloak client with a service account whose tokens carry
 * the tenant id. The secret lives only in Keycloak and is shown once.
 */
export const apiClients = pgTable(
  'api_clients',
  {
    id: id(),
    tenantId: tenantId(),
    name: text().notNull(),
    role: tenantRole().notNull(),
    /** Keycloak `clientId` (what goes in client_credentials requests). */
    keycloakClientId: text().notNull().unique(),
    /** Keycloak's internal id of that client, for rotation and deletion. */
    keycloakId: text().notNull(),
    status: apiClientStatus().notNull().default('active'),
    createdBy: text().notNull(),
    secretRotatedAt: timestamp({ withTimezone: true }),
    revokedAt: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    unique('api_clients_tenant_name').on(t.tenantId, t.name),
    check('api_clients_role', sql`${t.role} <> 'owner'`),
    tenantIsolation('api_clients'),
  ],
).enableRLS();
