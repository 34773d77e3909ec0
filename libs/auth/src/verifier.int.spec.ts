/**
 * The verifier against REAL Keycloak tokens from the test stack's realm, obtained through the real
 * browser-style login. Each bad case starts from a real token (or a real Keycloak client) and
 * changes one thing, so a pass proves the verifier, not a hand-made fixture.
 *
 * Needs .data/test/stack.json (`npm run stack -- up --profile test`; `npm test` does it). Without
 * it the suite is skipped and says why.
 */
import { decodeJwt, decodeProtectedHeader, generateKeyPair, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_AUDIENCE, ErrorCode, PLATFORM_ADMIN_ROLE } from '@palisade/contracts';
// Test-only: integration specs need the stack harness; the lib's runtime never imports testkit.
import {
  adminToken,
  loadStack,
  loginWithPassword,
  refreshTokens,
  type StackInfo,
  type Tokens,
} from '@palisade/testkit';
import { checkJwks, createTokenVerifier, jwksUriFor, type TokenVerifier } from './verifier';

let stack: StackInfo | undefined;
try {
  stack = loadStack('test');
} catch (e) {
  console.warn(`[auth] skipping the Keycloak integration tests: ${(e as Error).message}`);
}

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: { code?: string }) => e.code ?? `not an AppError: ${String(e)}`,
  );

describe.skipIf(!stack)('verifier with real Keycloak tokens', () => {
  let kc: StackInfo['keycloak'];
  let jwksUri: string;
  let verifier: TokenVerifier;
  let alice: Tokens;
  let olivia: Tokens;

  const login = (username: string, clientId: string, redirectUri: string) =>
    loginWithPassword({
      keycloakUrl: kc.url,
      realm: kc.realm,
      clientId,
      redirectUri,
      username,
      password: `${username}-dev-password`,
    });

  /** Re-signs a real token's payload with another key and header. */
  const resign = (
    token: string,
    header: { alg: string; kid?: string },
    key: Parameters<SignJWT['sign']>[0],
  ) => new SignJWT(decodeJwt(token)).setProtectedHeader({ ...header, typ: 'JWT' }).sign(key);

  beforeAll(async () => {
    kc = stack!.keycloak;
    jwksUri = jwksUriFor(kc.issuer);
    verifier = createTokenVerifier({ issuer: kc.issuer, audience: API_AUDIENCE, jwksUri });
    [alice, olivia] = await Promise.all([
      login('alice', 'palisade-portal', 'http://localhost:15173/'),
      login('olivia', 'palisade-admin', 'http://localhost:15174/'),
    ]);
  });

  it('accepts alice’s access token from the portal and maps her principal', async () => {
    const p = await verifier.verify(alice.accessToken);
    expect(p).toMatchObject({
      subject: decodeJwt(alice.accessToken).sub,
      kind: 'user',
      username: 'alice',
      name: 'Alice Anders',
      email: 'alice@acme.test',
      clientId: 'palisade-portal',
    });
    expect(p.roles).toContain('default-roles-palisade');
    expect(p.roles).not.toContain(PLATFORM_ADMIN_ROLE);
  });

  it('accepts olivia’s token from the admin console, with platform-admin', async () => {
    const p = await verifier.verify(olivia.accessToken);
    expect(p).toMatchObject({
      username: 'olivia',
      name: 'Olivia Operator',
      email: 'olivia@palisade.test',
      clientId: 'palisade-admin',
    });
    expect(p.roles).toContain(PLATFORM_ADMIN_ROLE);
  });

  it('accepts the access token a refresh returns (what the UIs do every few minutes)', async () => {
    const next = await refreshTokens({
      keycloakUrl: kc.url,
      realm: kc.realm,
      clientId: 'palisade-portal',
      refreshToken: alice.refreshToken,
    });
    expect(next.accessToken).not.toBe(alice.accessToken);
    expect((await verifier.verify(next.accessToken)).username).toBe('alice');
  });

  it('the realm JWKS passes the readiness probe', async () => {
    expect(await checkJwks(jwksUri)).toMatchObject({ ok: true });
  });

  it('a real token past its exp → auth.token_expired', async () => {
    const exp = decodeJwt(alice.accessToken).exp!;
    const later = createTokenVerifier({
      issuer: kc.issuer,
      audience: API_AUDIENCE,
      jwksUri,
      now: () => new Date((exp + 60) * 1000),
    });
    expect(await codeOf(later.verify(alice.accessToken))).toBe(ErrorCode.AUTH_TOKEN_EXPIRED);
  });

  it('a palisade-realm token from a client without the API audience (admin-cli) → auth.wrong_audience', async () => {
    // admin-cli is Keycloak's built-in client of every realm; it allows the password grant but
    // does not carry the palisade-api-audience scope, which is exactly what the API must refuse.
    const res = await fetch(`${kc.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: 'admin-cli',
        username: 'alice',
        password: 'alice-dev-password',
      }),
    });
    const { access_token } = (await res.json()) as { access_token: string };
    expect(decodeJwt(access_token).iss).toBe(kc.issuer);
    expect(await codeOf(verifier.verify(access_token))).toBe(ErrorCode.AUTH_WRONG_AUDIENCE);
  });

  it('alice’s ID token (aud is the portal, not the API) → auth.wrong_audience', async () => {
    expect(await codeOf(verifier.verify(alice.idToken))).toBe(ErrorCode.AUTH_WRONG_AUDIENCE);
  });

  it('a master-realm token (the Keycloak admin’s) → auth.wrong_issuer', async () => {
    const master = await adminToken(kc);
    expect(await codeOf(verifier.verify(master))).toBe(ErrorCode.AUTH_WRONG_ISSUER);
  });

  it('a verifier configured for another issuer URL refuses a valid token → auth.wrong_issuer', async () => {
    const elsewhere = createTokenVerifier({
      issuer: kc.issuer.replace('localhost', '127.0.0.1'),
      audience: API_AUDIENCE,
      jwksUri,
    });
    expect(await codeOf(elsewhere.verify(alice.accessToken))).toBe(ErrorCode.AUTH_WRONG_ISSUER);
  });

  it('alg none carrying alice’s real payload → auth.unsupported_alg', async () => {
    const payload = alice.accessToken.split('.')[1];
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    expect(await codeOf(verifier.verify(none))).toBe(ErrorCode.AUTH_UNSUPPORTED_ALG);
  });

  it('HS256 signed with the realm’s public key (JWK and PEM forms) → auth.unsupported_alg', async () => {
    const { kid } = decodeProtectedHeader(alice.accessToken);
    const jwksText = await (await fetch(jwksUri)).text();
    const realm = (await (await fetch(kc.issuer)).json()) as { public_key: string };
    const pem = `-----BEGIN PUBLIC KEY-----\n${realm.public_key}\n-----END PUBLIC KEY-----\n`;
    for (const secret of [jwksText, pem, realm.public_key]) {
      const forged = await resign(
        olivia.accessToken,
        { alg: 'HS256', kid },
        new TextEncoder().encode(secret),
      );
      expect(await codeOf(verifier.verify(forged))).toBe(ErrorCode.AUTH_UNSUPPORTED_ALG);
    }
  });

  it('the refresh token presented as a bearer token (HS512) → auth.unsupported_alg', async () => {
    expect(decodeProtectedHeader(alice.refreshToken).alg).toMatch(/^HS/);
    expect(await codeOf(verifier.verify(alice.refreshToken))).toBe(ErrorCode.AUTH_UNSUPPORTED_ALG);
  });

  it('alice’s payload signed by our own RSA key under the realm’s kid → auth.invalid_signature', async () => {
    const { kid } = decodeProtectedHeader(alice.accessToken);
    const mine = await generateKeyPair('RS256');
    const forged = await resign(alice.accessToken, { alg: 'RS256', kid }, mine.privateKey);
    expect(await codeOf(verifier.verify(forged))).toBe(ErrorCode.AUTH_INVALID_SIGNATURE);
  });

  it('alice’s payload signed by our own RSA key under a new kid → auth.unknown_key', async () => {
    const mine = await generateKeyPair('RS256');
    const forged = await resign(
      alice.accessToken,
      { alg: 'RS256', kid: 'not-a-realm-key' },
      mine.privateKey,
    );
    expect(await codeOf(verifier.verify(forged))).toBe(ErrorCode.AUTH_UNKNOWN_KEY);
  });

  it('alice’s token with platform-admin added after signing → auth.invalid_signature', async () => {
    const [h, , sig] = alice.accessToken.split('.');
    const claims = decodeJwt(alice.accessToken);
    const escalated = Buffer.from(
      JSON.stringify({ ...claims, realm_access: { roles: [PLATFORM_ADMIN_ROLE] } }),
    ).toString('base64url');
    expect(await codeOf(verifier.verify(`${h}.${escalated}.${sig}`))).toBe(
      ErrorCode.AUTH_INVALID_SIGNATURE,
    );
    // and the original still verifies without the role: nothing was cached from the forgery
    expect((await verifier.verify(alice.accessToken)).roles).not.toContain(PLATFORM_ADMIN_ROLE);
  });
});
