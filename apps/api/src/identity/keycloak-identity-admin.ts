/**
 * IdentityAdmin on Keycloak's admin API (@keycloak/keycloak-admin-client, the version of the
 * server), authenticated as the realm's confidential client `palisade-identity-admin` with
 * client_credentials. That client holds only realm-management's user, group and client roles
 * (infra/keycloak/README.md says which and why).
 *
 * Tenants are mirrored as groups `/tenants/<slug>`, not as Keycloak organizations: Keycloak 26.4
 * has organizations, but its organization endpoints require realm-management `manage-realm`
 * (measured on 26.4.7: 403 with manage-users + manage-clients), which would let this client
 * rewrite the realm itself — keys, flows, its own roles. Groups need only manage-users.
 *
 * Every Keycloak failure becomes an AppError: 409 → common.conflict, anything else (including
 * Keycloak being down) → common.unavailable, so callers can retry; nothing else leaks.
 */
import KcAdminClient from '@keycloak/keycloak-admin-client';
import { AppError, API_AUDIENCE, ErrorCode, TENANT_CLAIM } from '@palisade/contracts';
import type { CreatedApiClient, IdentityAdmin } from './identity-admin';

export interface KeycloakIdentityAdminOptions {
  /** Keycloak's base URL, e.g. http://localhost:19080 */
  baseUrl: string;
  realm: string;
  clientId: string;
  clientSecret: string;
}

const TENANTS_GROUP = 'tenants';
/** Re-authenticate this long before the admin token expires, so no call races the expiry. */
const TOKEN_MARGIN_MS = 30_000;

/** The HTTP status of a failed admin API call, if it got that far. */
function statusOf(e: unknown): number | undefined {
  const status = (e as { response?: { status?: unknown } })?.response?.status;
  return typeof status === 'number' ? status : undefined;
}

function keycloakError(what: string, e: unknown): AppError {
  const status = statusOf(e);
  const detail = `${what}: ${status === undefined ? String(e) : `HTTP ${status} ${JSON.stringify((e as { responseData?: unknown }).responseData ?? null)}`}`;
  if (status === 409)
    return new AppError(ErrorCode.CONFLICT, `keycloak conflict while ${detail}`, { cause: e });
  return new AppError(ErrorCode.UNAVAILABLE, `keycloak admin API failed while ${detail}`, {
    userMessage: 'The identity provider could not complete the change; try again.',
    cause: e,
  });
}

export class KeycloakIdentityAdmin implements IdentityAdmin {
  readonly tokenUrl: string;
  private readonly kc: KcAdminClient;
  private token: { value: string; renewAt: number } | null = null;
  private pending: Promise<string> | null = null;
  private tenantsGroupId: string | null = null;

  constructor(private readonly opts: KeycloakIdentityAdminOptions) {
    this.tokenUrl = `${opts.baseUrl}/realms/${opts.realm}/protocol/openid-connect/token`;
    this.kc = new KcAdminClient({ baseUrl: opts.baseUrl, realmName: opts.realm });
    this.kc.registerTokenProvider({ getAccessToken: () => this.accessToken() });
  }

  /** A cached admin token, renewed before it expires; concurrent callers share one request. */
  private accessToken(): Promise<string> {
    if (this.token && Date.now() < this.token.renewAt) return Promise.resolve(this.token.value);
    this.pending ??= (async () => {
      try {
        const res = await fetch(this.tokenUrl, {
          method: 'POST',
          headers: { 'content-type': 'application/x-www-form-urlencoded' },
          body: new URLSearchParams({
            grant_type: 'client_credentials',
            client_id: this.opts.clientId,
            client_secret: this.opts.clientSecret,
          }),
          signal: AbortSignal.timeout(5000),
        });
        const body = (await res.json().catch(() => ({}))) as {
          access_token?: string;
          expires_in?: number;
          error?: string;
        };
        if (!res.ok || !body.access_token)
          throw new Error(
            `${this.opts.clientId} could not log in: HTTP ${res.status} ${body.error ?? ''}`,
          );
        this.token = {
          value: body.access_token,
          renewAt: Date.now() + (body.expires_in ?? 60) * 1000 - TOKEN_MARGIN_MS,
        };
        return body.access_token;
      } finally {
        this.pending = null;
      }
    })();
    return this.pending;
  }

  private async call<T>(what: string, fn: () => Promise<T>): Promise<T> {
    try {
      return await fn();
    } catch (e) {
      throw keycloakError(what, e);
    }
  }

  /** Deletes that treat "already gone" as done. */
  private async gone(what: string, fn: () => Promise<unknown>): Promise<void> {
    try {
      await fn();
    } catch (e) {
      if (statusOf(e) === 404) return;
      throw keycloakError(what, e);
    }
  }

  private async tenantsGroup(): Promise<string> {
    if (this.tenantsGroupId) return this.tenantsGroupId;
    const found = await this.call('finding the tenants group', () =>
      this.kc.groups.find({ search: TENANTS_GROUP, exact: true, briefRepresentation: true }),
    );
    const id =
      found.find((g) => g.path === `/${TENANTS_GROUP}`)?.id ??
      (
        await this.call('creating the tenants group', () =>
          this.kc.groups.create({ name: TENANTS_GROUP }),
        )
      ).id;
    this.tenantsGroupId = id;
    return id;
  }

  async ensureTenantGroup(slug: string): Promise<string> {
    const parentId = await this.tenantsGroup();
    try {
      return (await this.kc.groups.createChildGroup({ id: parentId }, { name: slug })).id;
    } catch (e) {
      if (statusOf(e) !== 409) throw keycloakError(`creating group /tenants/${slug}`, e);
    }
    const children = await this.call(`finding group /tenants/${slug}`, () =>
      this.kc.groups.listSubGroups({ parentId, search: slug, max: 100 }),
    );
    const group = children.find((g) => g.name === slug);
    if (!group?.id)
      throw new AppError(ErrorCode.CONFLICT, `group /tenants/${slug} exists but cannot be found`);
    return group.id;
  }

  deleteTenantGroup(groupId: string): Promise<void> {
    return this.gone(`deleting group ${groupId}`, () => this.kc.groups.del({ id: groupId }));
  }

  async ensureUser(email: string): Promise<{ subject: string; created: boolean }> {
    const find = async () =>
      (
        await this.call(`finding user ${email}`, () => this.kc.users.find({ email, exact: true }))
      ).find((u) => u.email?.toLowerCase() === email.toLowerCase())?.id;
    const existing = await find();
    if (existing) return { subject: existing, created: false };
    try {
      const { id } = await this.kc.users.create({
        username: email,
        email,
        enabled: true,
        emailVerified: false,
        // The invitee sets a password and proves the address at first login. Palisade sends no
        // email here: the realm has no SMTP server configured (see docs/api/onboarding.md).
        requiredActions: ['VERIFY_EMAIL', 'UPDATE_PASSWORD'],
      });
      return { subject: id, created: true };
    } catch (e) {
      // Two invitations of one new address at once: the other one created the user.
      if (statusOf(e) === 409) {
        const raced = await find();
        if (raced) return { subject: raced, created: false };
      }
      throw keycloakError(`creating user ${email}`, e);
    }
  }

  addToGroup(subject: string, groupId: string): Promise<void> {
    return this.call(`adding ${subject} to group ${groupId}`, () =>
      this.kc.users.addToGroup({ id: subject, groupId }),
    ).then(() => undefined);
  }

  removeFromGroup(subject: string, groupId: string): Promise<void> {
    return this.gone(`removing ${subject} from group ${groupId}`, () =>
      this.kc.users.delFromGroup({ id: subject, groupId }),
    );
  }

  async createApiClient(p: {
    clientId: string;
    tenantId: string;
    description: string;
  }): Promise<CreatedApiClient> {
    const { id } = await this.call(`creating client ${p.clientId}`, () =>
      this.kc.clients.create({
        clientId: p.clientId,
        name: p.clientId,
        description: p.description,
        enabled: true,
        protocol: 'openid-connect',
        publicClient: false,
        bearerOnly: false,
        clientAuthenticatorType: 'client-secret',
        serviceAccountsEnabled: true,
        standardFlowEnabled: false,
        implicitFlowEnabled: false,
        directAccessGrantsEnabled: false,
        frontchannelLogout: false,
        // No realm or client roles in its tokens: what it may do is its row's role in Palisade.
        fullScopeAllowed: false,
        attributes: {
          'oauth2.device.authorization.grant.enabled': 'false',
          'oidc.ciba.grant.enabled': 'false',
          'client_credentials.use_refresh_token': 'false',
        },
        // `profile` names the service account (service-account-<clientId>) and `service_account`
        // adds client_id: together they mark the token as a service's (see @palisade/auth).
        defaultClientScopes: ['basic', 'profile', 'service_account'],
        optionalClientScopes: [],
        protocolMappers: [
          {
            name: 'palisade tenant',
            protocol: 'openid-connect',
            protocolMapper: 'oidc-hardcoded-claim-mapper',
            config: {
              'claim.name': TENANT_CLAIM,
              'claim.value': p.tenantId,
              'jsonType.label': 'String',
              'access.token.claim': 'true',
              'id.token.claim': 'false',
              'userinfo.token.claim': 'false',
              'introspection.token.claim': 'true',
            },
          },
          {
            name: `audience ${API_AUDIENCE}`,
            protocol: 'openid-connect',
            protocolMapper: 'oidc-audience-mapper',
            config: {
              'included.client.audience': API_AUDIENCE,
              'access.token.claim': 'true',
              'id.token.claim': 'false',
              'introspection.token.claim': 'true',
            },
          },
        ],
      }),
    );
    try {
      const { value } = await this.call(`reading the secret of ${p.clientId}`, () =>
        this.kc.clients.getClientSecret({ id }),
      );
      if (!value) throw new AppError(ErrorCode.UNAVAILABLE, `${p.clientId} has no secret`);
      return { keycloakId: id, secret: value };
    } catch (e) {
      await this.deleteApiClient(id).catch(() => undefined);
      throw e;
    }
  }

  async rotateApiClientSecret(keycloakId: string): Promise<string> {
    const { value } = await this.call(`rotating the secret of ${keycloakId}`, () =>
      this.kc.clients.generateNewClientSecret({ id: keycloakId }),
    );
    if (!value) throw new AppError(ErrorCode.UNAVAILABLE, `${keycloakId}: no new secret returned`);
    return value;
  }

  deleteApiClient(keycloakId: string): Promise<void> {
    return this.gone(`deleting client ${keycloakId}`, () =>
      this.kc.clients.del({ id: keycloakId }),
    );
  }
}

/** When the API runs without KEYCLOAK_ADMIN_CLIENT_SECRET: identity changes answer 503, saying why. */
export class UnconfiguredIdentityAdmin implements IdentityAdmin {
  constructor(readonly tokenUrl: string) {}
  private refuse(): never {
    throw new AppError(
      ErrorCode.UNAVAILABLE,
      'identity administration is not configured: set KEYCLOAK_ADMIN_CLIENT_SECRET',
      { userMessage: 'Identity administration is not configured on this API.' },
    );
  }
  ensureTenantGroup = async (): Promise<string> => this.refuse();
  deleteTenantGroup = async (): Promise<void> => this.refuse();
  ensureUser = async (): Promise<{ subject: string; created: boolean }> => this.refuse();
  addToGroup = async (): Promise<void> => this.refuse();
  removeFromGroup = async (): Promise<void> => this.refuse();
  createApiClient = async (): Promise<CreatedApiClient> => this.refuse();
  rotateApiClientSecret = async (): Promise<string> => this.refuse();
  deleteApiClient = async (): Promise<void> => this.refuse();
}
