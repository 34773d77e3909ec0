/**
 * The two bad-token cases api.int.spec.ts does not cover at the API's edge (alg none, unknown kid,
 * wrong audience and wrong issuer are there; libs/auth covers all of them against the verifier):
 * the HS256 "public key as HMAC secret" confusion, and a real Keycloak token that has expired.
 * Both must be 401 with their stable code, never a 403 or a 500.
 */
import { createPublicKey } from 'node:crypto';
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { API_AUDIENCE, ErrorCode } from '@palisade/contracts';
import { adminToken } from '@palisade/testkit';
import { startTestApi, type TestApi } from './testing/harness';

describe('bad tokens at the API edge (real Keycloak)', () => {
  let api: TestApi;
  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(() => api?.close());

  it('HS256 signed with the realm’s RSA public key as the HMAC secret → 401 auth.unsupported_alg', async () => {
    const { kid } = decodeProtectedHeader(api.token.alice);
    const jwks = (await (
      await fetch(`${api.stack.keycloak.issuer}/protocol/openid-connect/certs`)
    ).json()) as { keys: ({ kid: string } & Record<string, unknown>)[] };
    const jwk = jwks.keys.find((k) => k.kid === kid)!;
    const pem = createPublicKey({ key: jwk, format: 'jwk' }).export({
      type: 'spki',
      format: 'pem',
    });
    for (const secret of [pem, JSON.stringify(jwk)]) {
      const forged = await new SignJWT(decodeJwt(api.token.alice))
        .setProtectedHeader({ alg: 'HS256', kid, typ: 'JWT' })
        .sign(new TextEncoder().encode(String(secret)));
      expect(await api.call({ bearer: forged }, 'me')).toMatchObject({
        status: 401,
        code: ErrorCode.AUTH_UNSUPPORTED_ALG,
      });
    }
  });

  it('a real token, accepted until it expires, is then refused → 401 auth.token_expired', async () => {
    // A throwaway service client whose access tokens live 1 s (the realm's are 5 min).
    const kc = api.stack.keycloak;
    const admin = `${kc.url}/admin/realms/${kc.realm}`;
    const headers = async () => ({
      authorization: `Bearer ${await adminToken(kc)}`,
      'content-type': 'application/json',
    });
    const clientId = `expiry-probe-${Math.random().toString(36).slice(2, 8)}`;
    const secret = `expiry-probe-secret-${Math.random().toString(36).slice(2)}`;
    const created = await fetch(`${admin}/clients`, {
      method: 'POST',
      headers: await headers(),
      body: JSON.stringify({
        clientId,
        secret,
        publicClient: false,
        serviceAccountsEnabled: true,
        standardFlowEnabled: false,
        directAccessGrantsEnabled: false,
        attributes: { 'access.token.lifespan': '1' },
        protocolMappers: [
          {
            name: 'audience',
            protocol: 'openid-connect',
            protocolMapper: 'oidc-audience-mapper',
            config: { 'included.client.audience': API_AUDIENCE, 'access.token.claim': 'true' },
          },
        ],
      }),
    });
    expect(created.status).toBe(201);
    const id = created.headers.get('location')!.split('/').pop()!;
    try {
      const res = await fetch(`${kc.issuer}/protocol/openid-connect/token`, {
        method: 'POST',
        body: new URLSearchParams({
          grant_type: 'client_credentials',
          client_id: clientId,
          client_secret: secret,
        }),
      });
      const token = ((await res.json()) as { access_token: string }).access_token;
      const claims = decodeJwt(token);
      expect(claims.exp! - claims.iat!).toBe(1);
      expect((await api.call({ bearer: token }, 'me')).status).toBe(200);
      // Wait out the expiry plus the verifier's clock tolerance; the test timeout bounds the loop.
      let after = await api.call({ bearer: token }, 'me');
      while (after.status === 200) {
        await new Promise((r) => setTimeout(r, 500));
        after = await api.call({ bearer: token }, 'me');
      }
      expect(after).toMatchObject({ status: 401, code: ErrorCode.AUTH_TOKEN_EXPIRED });
    } finally {
      await fetch(`${admin}/clients/${id}`, { method: 'DELETE', headers: await headers() });
    }
  });
});
