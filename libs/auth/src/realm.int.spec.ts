/**
 * The realm as code (infra/keycloak/palisade-realm.json), checked on the REAL Keycloak it was
 * imported into: the properties the verifier and the UIs rely on, and the doors that must stay
 * shut (password grant on the UI clients, implicit flow, PKCE plain, loose redirect URIs).
 *
 * Needs .data/test/stack.json; skipped with the reason otherwise. After editing the realm file the
 * test stack must be reset (`npm run stack -- reset --profile test`): Keycloak's import skips a
 * realm that already exists.
 */
import { decodeJwt } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_AUDIENCE, PLATFORM_ADMIN_ROLE } from '@palisade/contracts';
// Test-only: integration specs need the stack harness; the lib's runtime never imports testkit.
import { adminToken, loadStack, loginWithPassword, type StackInfo } from '@palisade/testkit';

let stack: StackInfo | undefined;
try {
  stack = loadStack('test');
} catch (e) {
  console.warn(`[auth] skipping the realm integration tests: ${(e as Error).message}`);
}

const UI_CLIENTS = [
  { clientId: 'palisade-portal', dev: 'http://localhost:5173/', test: 'http://localhost:15173/' },
  { clientId: 'palisade-admin', dev: 'http://localhost:5174/', test: 'http://localhost:15174/' },
] as const;

// Any well-formed S256 challenge: these requests are refused or stop at the login page.
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';

describe.skipIf(!stack)('realm palisade on the real Keycloak', () => {
  let kc: StackInfo['keycloak'];
  let admin: (path: string) => Promise<unknown>;

  /** The authorization endpoint's answer: 200 is the login page, anything else a refusal. */
  const authorize = async (params: Record<string, string>) => {
    const url = new URL(`${kc.issuer}/protocol/openid-connect/auth`);
    url.search = new URLSearchParams({
      scope: 'openid',
      response_type: 'code',
      ...params,
    }).toString();
    const res = await fetch(url, { redirect: 'manual' });
    const to = res.headers.get('location');
    return {
      status: res.status,
      error: to
        ? (new URL(to).searchParams.get('error') ??
          new URL(to.replace('#', '?')).searchParams.get('error'))
        : null,
    };
  };

  beforeAll(async () => {
    kc = stack!.keycloak;
    const token = await adminToken(kc);
    admin = async (path) => {
      const res = await fetch(`${kc.url}/admin/realms/${kc.realm}${path}`, {
        headers: { authorization: `Bearer ${token}` },
      });
      if (!res.ok) throw new Error(`admin GET ${path}: HTTP ${res.status}`);
      return res.json();
    };
  });

  it('has brute-force protection, TLS outside loopback and 5-minute access tokens', async () => {
    expect(await admin('')).toMatchObject({
      enabled: true,
      bruteForceProtected: true,
      permanentLockout: false,
      sslRequired: 'external',
      accessTokenLifespan: 300,
      registrationAllowed: false,
    });
  });

  it.each(UI_CLIENTS)(
    '$clientId is public, standard flow only, PKCE S256, exact redirect URIs',
    async (c) => {
      const [rep] = (await admin(`/clients?clientId=${c.clientId}`)) as Record<string, unknown>[];
      expect(rep).toMatchObject({
        publicClient: true,
        standardFlowEnabled: true,
        implicitFlowEnabled: false,
        directAccessGrantsEnabled: false,
        serviceAccountsEnabled: false,
        attributes: expect.objectContaining({ 'pkce.code.challenge.method': 'S256' }),
      });
      expect((rep!['redirectUris'] as string[]).sort()).toEqual([c.dev, c.test].sort());
      expect(rep!['defaultClientScopes'] as string[]).toContain('palisade-api-audience');
    },
  );

  it('palisade-api is a resource server with no login flow of its own', async () => {
    const [rep] = (await admin('/clients?clientId=palisade-api')) as Record<string, unknown>[];
    expect(rep).toMatchObject({
      bearerOnly: true,
      publicClient: false,
      standardFlowEnabled: false,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: false,
      serviceAccountsEnabled: false,
    });
  });

  it.each(UI_CLIENTS)('$clientId refuses the password grant', async (c) => {
    const res = await fetch(`${kc.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: c.clientId,
        username: 'alice',
        password: 'alice-dev-password',
      }),
    });
    expect(res.status).toBe(400);
    expect(await res.json()).toMatchObject({ error: 'unauthorized_client' });
  });

  it('the portal shows its login page only for a well-formed PKCE S256 request to an exact redirect URI', async () => {
    const ok = { client_id: 'palisade-portal', redirect_uri: 'http://localhost:15173/' };
    const s256 = { code_challenge: CHALLENGE, code_challenge_method: 'S256' };
    expect(await authorize({ ...ok, ...s256 })).toEqual({ status: 200, error: null });
    // refusals Keycloak can send back to the (valid) redirect URI
    expect(await authorize(ok)).toMatchObject({ status: 302, error: 'invalid_request' });
    expect(
      await authorize({ ...ok, code_challenge: CHALLENGE, code_challenge_method: 'plain' }),
    ).toMatchObject({ status: 302, error: 'invalid_request' });
    expect(await authorize({ ...ok, ...s256, response_type: 'token' })).toMatchObject({
      status: 302,
      error: 'unauthorized_client',
    });
    // redirect URIs that are not listed exactly: an error page, no redirect at all
    for (const redirect_uri of [
      'http://localhost:15173',
      'http://localhost:15173/evil',
      'http://localhost:15173/?next=http://evil.test/',
      'http://127.0.0.1:15173/',
      'http://localhost:15174/',
    ]) {
      expect(await authorize({ ...ok, ...s256, redirect_uri }), redirect_uri).toEqual({
        status: 400,
        error: null,
      });
    }
  });

  it('the resource server cannot be used to log in', async () => {
    const r = await authorize({
      client_id: 'palisade-api',
      redirect_uri: 'http://localhost:15173/',
      code_challenge: CHALLENGE,
      code_challenge_method: 'S256',
    });
    expect(r.status).not.toBe(200);
  });

  it.each(UI_CLIENTS)(
    '$clientId access tokens carry aud palisade-api and no tenant claim',
    async (c) => {
      const t = await loginWithPassword({
        keycloakUrl: kc.url,
        realm: kc.realm,
        clientId: c.clientId,
        redirectUri: c.test,
        username: 'bob',
        password: 'bob-dev-password',
      });
      const claims = decodeJwt(t.accessToken);
      expect(claims.aud).toContain(API_AUDIENCE);
      expect(claims.exp! - claims.iat!).toBe(300);
      // tenancy lives in Postgres memberships; the demo attribute must not leak into tokens yet
      expect(claims).not.toHaveProperty('tenant');
      expect(decodeJwt(t.idToken).aud).toBe(c.clientId);
      expect(decodeJwt(t.refreshToken)['typ']).toBe('Refresh');
    },
  );

  it('palisade-identity-admin: client_credentials only, exactly its user/group/client roles, no API audience', async () => {
    const [client] = (await admin('/clients?clientId=palisade-identity-admin')) as {
      id: string;
      secret?: string;
      [k: string]: unknown;
    }[];
    expect(client).toMatchObject({
      publicClient: false,
      serviceAccountsEnabled: true,
      standardFlowEnabled: false,
      implicitFlowEnabled: false,
      directAccessGrantsEnabled: false,
    });
    const sa = (await admin(`/clients/${client!.id}/service-account-user`)) as { id: string };
    const mappings = (await admin(`/users/${sa.id}/role-mappings`)) as {
      realmMappings?: { name: string }[];
      clientMappings?: Record<string, { mappings: { name: string }[] }>;
    };
    // No realm-admin, no manage-realm (which organizations would need), no impersonation.
    expect(
      mappings.clientMappings?.['realm-management']?.mappings.map((r) => r.name).sort(),
    ).toEqual([
      'manage-clients',
      'manage-users',
      'query-clients',
      'query-groups',
      'view-clients',
      'view-users',
    ]);
    expect((mappings.realmMappings ?? []).map((r) => r.name)).not.toContain(PLATFORM_ADMIN_ROLE);
    expect(Object.keys(mappings.clientMappings ?? {})).toEqual(['realm-management']);

    const secret = ((await admin(`/clients/${client!.id}/client-secret`)) as { value: string })
      .value;
    const res = await fetch(`${kc.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: 'palisade-identity-admin',
        client_secret: secret,
      }),
    });
    const claims = decodeJwt(((await res.json()) as { access_token: string }).access_token);
    // Its tokens are for Keycloak's admin API only: the Palisade API refuses them.
    expect([claims.aud].flat()).not.toContain(API_AUDIENCE);
  });

  it('has the demo users: olivia the operator, alice of acme, bob of globex', async () => {
    const user = async (username: string) => {
      const [u] = (await admin(
        `/users?username=${username}&exact=true&briefRepresentation=false`,
      )) as {
        id: string;
        [k: string]: unknown;
      }[];
      const groups = ((await admin(`/users/${u!.id}/groups`)) as { path: string }[]).map(
        (g) => g.path,
      );
      const roles = (
        (await admin(`/users/${u!.id}/role-mappings/realm`)) as { name: string }[]
      ).map((r) => r.name);
      return { ...u, groups, roles };
    };
    const olivia = await user('olivia');
    expect(olivia).toMatchObject({
      firstName: 'Olivia',
      lastName: 'Operator',
      email: 'olivia@palisade.test',
      emailVerified: true,
      requiredActions: [],
    });
    expect(olivia.roles).toContain(PLATFORM_ADMIN_ROLE);
    for (const [name, first, last, tenant] of [
      ['alice', 'Alice', 'Anders', 'acme'],
      ['bob', 'Bob', 'Brown', 'globex'],
    ] as const) {
      const u = await user(name);
      expect(u).toMatchObject({
        firstName: first,
        lastName: last,
        emailVerified: true,
        requiredActions: [],
        attributes: expect.objectContaining({ tenant: [tenant] }),
      });
      expect(u.groups).toEqual([`/tenants/${tenant}`]);
      expect(u.roles).not.toContain(PLATFORM_ADMIN_ROLE);
    }
  });
});
