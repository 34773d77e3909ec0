/**
 * Tenants' API clients. The row is the authority on an API client: its tenant, its role and
 * whether it is still active. Keycloak holds the credential (Palisade never stores the secret);
 * a token of a client whose row is revoked is refused even while Keycloak's signature is valid.
 */
import { and, asc, eq, sql } from 'drizzle-orm';
import type { Db } from '../client';
import { withPlatform, type Tx } from '../scope';
import { apiClients, tenants } from '../schema';
import type { MembershipView } from './memberships';

export type ApiClientRow = typeof apiClients.$inferSelect;

export async function insertApiClient(
  tx: Tx,
  p: {
    tenantId: string;
    name: string;
    role: ApiClientRow['role'];
    keycloakClientId: string;
    keycloakId: string;
    createdBy: string;
  },
): Promise<ApiClientRow> {
  const [row] = await tx.insert(apiClients).values(p).returning();
  return row!;
}

export function listApiClients(tx: Tx, p: { tenantId: string }): Promise<ApiClientRow[]> {
  return tx
    .select()
    .from(apiClients)
    .where(eq(apiClients.tenantId, p.tenantId))
    .orderBy(asc(apiClients.name));
}

export async function getApiClient(
  tx: Tx,
  p: { tenantId: string; id: string },
): Promise<ApiClientRow | undefined> {
  const [row] = await tx
    .select()
    .from(apiClients)
    .where(and(eq(apiClients.tenantId, p.tenantId), eq(apiClients.id, p.id)));
  return row;
}

export async function markApiClientRotated(
  tx: Tx,
  p: { tenantId: string; id: string },
): Promise<ApiClientRow | undefined> {
  const [row] = await tx
    .update(apiClients)
    .set({ secretRotatedAt: sql`now()`, updatedAt: sql`now()` })
    .where(
      and(
        eq(apiClients.tenantId, p.tenantId),
        eq(apiClients.id, p.id),
        eq(apiClients.status, 'active'),
      ),
    )
    .returning();
  return row;
}

export async function markApiClientRevoked(
  tx: Tx,
  p: { tenantId: string; id: string },
): Promise<ApiClientRow | undefined> {
  const [row] = await tx
    .update(apiClients)
    .set({ status: 'revoked', revokedAt: sql`now()`, updatedAt: sql`now()` })
    .where(and(eq(apiClients.tenantId, p.tenantId), eq(apiClients.id, p.id)))
    .returning();
  return row;
}

export interface ApiClientAccess extends MembershipView {
  clientStatus: ApiClientRow['status'];
}

/**
 * What a token of the Keycloak client `keycloakClientId` may do: its tenant (and that tenant's
 * status), its role and whether it is still active. Like membershipsOf, this resolves the caller
 * before any tenant is chosen, so it reads in the platform scope, for exactly one client.
 */
export async function apiClientAccessOf(
  db: Db,
  keycloakClientId: string,
): Promise<ApiClientAccess | undefined> {
  const [row] = await withPlatform(db, `resolve API client ${keycloakClientId}`, (tx) =>
    tx
      .select({
        tenantId: tenants.id,
        tenantSlug: tenants.slug,
        tenantName: tenants.name,
        tenantStatus: tenants.status,
        role: apiClients.role,
        clientStatus: apiClients.status,
      })
      .from(apiClients)
      .innerJoin(tenants, eq(tenants.id, apiClients.tenantId))
      .where(eq(apiClients.keycloakClientId, keycloakClientId)),
  );
  return row;
}
