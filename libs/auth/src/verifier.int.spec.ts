/**
 * The verifier against REAL Keycloak tokens from the test stack's realm, obtained through the real
 * login flow. Each bad case starts from a real token and changes one thing.
 */
import { decodeJwt, decodeProtectedHeader, SignJWT } from 'jose';
import { beforeAll, describe, expect, it } from 'vitest';
import { API_AUDIENCE, ErrorCode } from '@palisade/contracts';
import { loadStack, loginWithPassword, type Tokens } from '@palisade/testkit';
import { createTokenVerifier, jwksUriFor } from './verifier';

describe('verifier with real Keycloak tokens', () => {
  const stack = loadStack('test');
  const jwksUri = jwksUriFor(stack.keycloak.issuer);
  const verifier = createTokenVerifier({
    issuer: stack.keycloak.issuer,
    audience: API_AUDIENCE,
    jwksUri,
  });
  let alice: Tokens;
  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (e: { code?: string }) => e.code,
    );

  beforeAll(async () => {
    alice = await loginWithPassword({
      keycloakUrl: stack.keycloak.url,
      realm: stack.keycloak.realm,
      clientId: 'palisade-portal',
      redirectUri: 'http://localhost:15173/',
      username: 'alice',
      password: 'alice-dev-password',
    });
  });

  it('accepts a fresh access token and maps the principal', async () => {
    expect(await verifier.verify(alice.accessToken)).toMatchObject({
      kind: 'user',
      username: 'alice',
      name: 'Alice Anders',
      email: 'alice@acme.test',
      clientId: 'palisade-portal',
    });
  });

  it('rejects the same token once it has expired', async () => {
    const exp = decodeJwt(alice.accessToken).exp!;
    const later = createTokenVerifier({
      issuer: stack.keycloak.issuer,
      audience: API_AUDIENCE,
      jwksUri,
      now: () => new Date((exp + 60) * 1000),
    });
    expect(await codeOf(later.verify(alice.accessToken))).toBe(ErrorCode.AUTH_TOKEN_EXPIRED);
  });

  it('rejects a validly signed token from an issuer URL it was not configured for', async () => {
    const elsewhere = createTokenVerifier({
      issuer: stack.keycloak.issuer.replace('localhost', '127.0.0.1'),
      audience: API_AUDIENCE,
      jwksUri,
    });
    expect(await codeOf(elsewhere.verify(alice.accessToken))).toBe(ErrorCode.AUTH_WRONG_ISSUER);
  });

  it('rejects the ID token (aud is the client, not the API)', async () => {
    expect(await codeOf(verifier.verify(alice.idToken))).toBe(ErrorCode.AUTH_WRONG_AUDIENCE);
  });

  it('rejects alg none carrying the real payload', async () => {
    const payload = alice.accessToken.split('.')[1];
    const none = `${Buffer.from('{"alg":"none","typ":"JWT"}').toString('base64url')}.${payload}.`;
    expect(await codeOf(verifier.verify(none))).toBe(ErrorCode.AUTH_UNSUPPORTED_ALG);
  });

  it('rejects HS256 signed with the realm public key', async () => {
    const { kid } = decodeProtectedHeader(alice.accessToken);
    const realmJwks = await (await fetch(jwksUri)).text();
    const forged = await new SignJWT(decodeJwt(alice.accessToken))
      .setProtectedHeader({ alg: 'HS256', kid })
      .sign(new TextEncoder().encode(realmJwks));
    expect(await codeOf(verifier.verify(forged))).toBe(ErrorCode.AUTH_UNSUPPORTED_ALG);
  });

  it('rejects a token whose payload was altered after signing', async () => {
    const [h, , sig] = alice.accessToken.split('.');
    const tampered = Buffer.from(
      JSON.stringify({
        ...decodeJwt(alice.accessToken),
        realm_access: { roles: ['platform-admin'] },
      }),
    ).toString('base64url');
    expect(await codeOf(verifier.verify(`${h}.${tampered}.${sig}`))).toBe(
      ErrorCode.AUTH_INVALID_SIGNATURE,
    );
  });
});
