/**
 * The API's one port to Keycloak's admin API: the few identity changes Palisade makes (a group per
 * tenant, invited users, one confidential client per tenant API client). Procedures see only this
 * interface, on their context; the Keycloak implementation is in keycloak-identity-admin.ts.
 *
 * It must never decide who may do what (that is the policy table and the memberships in
 * Postgres) and never keep an API client's secret: secrets pass through once, to the caller.
 */
export const IDENTITY_ADMIN = Symbol('IDENTITY_ADMIN');

export interface CreatedApiClient {
  /** Keycloak's internal id of the new client (for rotation and deletion). */
  keycloakId: string;
  secret: string;
}

export interface IdentityAdmin {
  /** The realm's token endpoint, where API clients exchange their credentials for tokens. */
  readonly tokenUrl: string;
  /**
   * The group `/tenants/<slug>` that mirrors a tenant; its id. An existing group of that name is
   * adopted, so a retried onboarding after a partial failure succeeds.
   */
  ensureTenantGroup(slug: string): Promise<string>;
  /** Deletes the group; a group that is already gone is fine. */
  deleteTenantGroup(groupId: string): Promise<void>;
  /**
   * The Keycloak user with this email, created (enabled, email not verified, required actions
   * VERIFY_EMAIL and UPDATE_PASSWORD) when there is none. Sends no email.
   */
  ensureUser(email: string): Promise<{ subject: string; created: boolean }>;
  addToGroup(subject: string, groupId: string): Promise<void>;
  /** A user or group that is already gone is fine. */
  removeFromGroup(subject: string, groupId: string): Promise<void>;
  /**
   * A confidential client with a service account and only client_credentials enabled, whose access
   * tokens carry `palisade_tenant: <tenantId>` and `aud: palisade-api`.
   */
  createApiClient(p: {
    clientId: string;
    tenantId: string;
    description: string;
  }): Promise<CreatedApiClient>;
  /** A new secret; the old one stops working at once. */
  rotateApiClientSecret(keycloakId: string): Promise<string>;
  /** Deletes the client (Keycloak issues no more tokens for it); already gone is fine. */
  deleteApiClient(keycloakId: string): Promise<void>;
}
