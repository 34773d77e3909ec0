import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { exportJWK, generateKeyPair, SignJWT, decodeJwt, decodeProtectedHeader } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@palisade/contracts';
import { loadStack, loginWithPassword } from '@palisade/testkit';
import { createApiApp } from './app';
import { apiConfigSchema } from './config';

/**
 * The API against the real test stack: Postgres, Redis and Keycloak, with access tokens obtained
 * through Keycloak's real login flow.
 */
describe('API against the real stack', () => {
  const stack = loadStack('test');
  let app: INestApplication;
  let base: string;
  let aliceToken: string;
  let aliceIdToken: string;
  let oliviaToken: string;

  const login = (username: string) =>
    loginWithPassword({
      keycloakUrl: stack.keycloak.url,
      realm: stack.keycloak.realm,
      clientId: 'palisade-portal',
      redirectUri: 'http://localhost:15173/',
      username,
      password: `${username}-dev-password`,
    });

  const me = (token?: string, headers: Record<string, string> = {}) =>
    fetch(`${base}/trpc/me`, {
      headers: { ...(token ? { authorization: `Bearer ${token}` } : {}), ...headers },
    });

  const errorCode = async (res: Response) =>
    ((await res.json()) as { error: { data: { code: string } } }).error.data.code;

  beforeAll(async () => {
    const config = apiConfigSchema.parse({
      DATABASE_URL: stack.postgres.appUrl,
      REDIS_URL: stack.redis.url,
      KEYCLOAK_ISSUER: stack.keycloak.issuer,
      LOG_LEVEL: 'silent',
    });
    app = await createApiApp(config);
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
    const [alice, olivia] = await Promise.all([login('alice'), login('olivia')]);
    aliceToken = alice.accessToken;
    aliceIdToken = alice.idToken;
    oliviaToken = olivia.accessToken;
  });
  afterAll(() => app?.close());

  it('is alive and ready when Postgres, Redis and the Keycloak JWKS answer', async () => {
    expect((await fetch(`${base}/healthz`)).status).toBe(200);
    const ready = await fetch(`${base}/readyz`);
    const body = (await ready.json()) as {
      ready: boolean;
      checks: Record<string, { ok: boolean }>;
    };
    expect(body.checks.postgres?.ok).toBe(true);
    expect(body.checks.redis?.ok).toBe(true);
    expect(body.checks.keycloakJwks?.ok).toBe(true);
    expect(ready.status).toBe(200);
  });

  it('answers me with the principal behind a real Keycloak token', async () => {
    const res = await me(aliceToken);
    expect(res.status).toBe(200);
    const { result } = (await res.json()) as {
      result: { data: { principal: Record<string, unknown>; isPlatformAdmin: boolean } };
    };
    expect(result.data.principal).toMatchObject({
      kind: 'user',
      username: 'alice',
      name: 'Alice Anders',
      email: 'alice@acme.test',
    });
    expect(result.data.isPlatformAdmin).toBe(false);
  });

  it('marks an operator as platform admin', async () => {
    const res = await me(oliviaToken);
    const { result } = (await res.json()) as {
      result: { data: { principal: { roles: string[] }; isPlatformAdmin: boolean } };
    };
    expect(result.data.isPlatformAdmin).toBe(true);
    expect(result.data.principal.roles).toContain('platform-admin');
  });

  it('echoes a well-formed X-Request-Id and puts it in error bodies', async () => {
    const res = await me(undefined, { 'x-request-id': 'req-test-0001' });
    expect(res.headers.get('x-request-id')).toBe('req-test-0001');
    const body = (await res.json()) as { error: { data: { requestId: string } } };
    expect(body.error.data.requestId).toBe('req-test-0001');
  });

  describe('rejects bad tokens with 401 and a stable code', () => {
    it('no token', async () => {
      const res = await me();
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe(ErrorCode.AUTH_MISSING_TOKEN);
    });

    it('garbage instead of a JWT', async () => {
      const res = await me('not-a-jwt');
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe(ErrorCode.AUTH_MALFORMED_TOKEN);
    });

    it('alg none with a real payload', async () => {
      const payload = Buffer.from(JSON.stringify(decodeJwt(aliceToken))).toString('base64url');
      const header = Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url');
      const res = await me(`${header}.${payload}.`);
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe(ErrorCode.AUTH_UNSUPPORTED_ALG);
    });

    it('a real payload signed by a key Keycloak never had, under the realm key id', async () => {
      const { privateKey, publicKey } = await generateKeyPair('RS256');
      await exportJWK(publicKey);
      const { kid } = decodeProtectedHeader(aliceToken);
      const forged = await new SignJWT(decodeJwt(aliceToken))
        .setProtectedHeader({ alg: 'RS256', kid })
        .sign(privateKey);
      const res = await me(forged);
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe(ErrorCode.AUTH_INVALID_SIGNATURE);
    });

    it('a real payload signed under an unknown key id', async () => {
      const { privateKey } = await generateKeyPair('RS256');
      const forged = await new SignJWT(decodeJwt(aliceToken))
        .setProtectedHeader({ alg: 'RS256', kid: 'not-a-realm-key' })
        .sign(privateKey);
      const res = await me(forged);
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe(ErrorCode.AUTH_UNKNOWN_KEY);
    });

    it('a real, validly signed token meant for another audience (the ID token)', async () => {
      const res = await me(aliceIdToken);
      expect(res.status).toBe(401);
      expect(await errorCode(res)).toBe(ErrorCode.AUTH_WRONG_AUDIENCE);
    });

    // The issuer is compared before any key lookup (rejecting on an unverified claim is safe;
    // accepting on one never happens), so another realm's token is named for what it is.
    it('a real token of another realm (master)', async () => {
      const res = await fetch(`${stack.keycloak.url}/realms/master/protocol/openid-connect/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'password',
          client_id: 'admin-cli',
          username: stack.keycloak.adminUsername,
          password: stack.keycloak.adminPassword,
        }),
      });
      const { access_token } = (await res.json()) as { access_token: string };
      const r = await me(access_token);
      expect(r.status).toBe(401);
      expect(await errorCode(r)).toBe(ErrorCode.AUTH_WRONG_ISSUER);
    });
  });

  it('answers unknown routes with a JSON 404, not an HTML page', async () => {
    const res = await fetch(`${base}/nope`);
    expect(res.status).toBe(404);
    expect(await res.json()).toMatchObject({ code: ErrorCode.NOT_FOUND });
  });
});
