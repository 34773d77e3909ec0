/**
 * The verifier against locally generated keys, served by a real JWKS endpoint on 127.0.0.1 (as
 * Keycloak serves its certs). One case per failure code, each named for what it proves.
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { exportJWK, generateKeyPair, SignJWT, type CryptoKey, type JWK } from 'jose';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ErrorCode } from '@palisade/contracts';
import { checkJwks, createTokenVerifier, jwksUriFor, parseBearer } from './verifier';

const ISSUER = 'http://localhost:1/realms/palisade';
const AUDIENCE = 'palisade-api';

const codeOf = (p: Promise<unknown>) =>
  p.then(
    () => 'accepted',
    (e: { code?: string }) => e.code ?? `not an AppError: ${String(e)}`,
  );

const b64 = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url');

describe('createTokenVerifier', () => {
  let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
  let es: { privateKey: CryptoKey; publicKey: CryptoKey };
  let rsaJwk: JWK;
  let jwks: { keys: JWK[] };
  let server: http.Server;
  let base: string;
  let fetches: Record<string, number>;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    es = await generateKeyPair('ES256', { extractable: true });
    const encKey = await generateKeyPair('RSA-OAEP', { extractable: true });
    rsaJwk = { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' };
    jwks = {
      keys: [
        rsaJwk,
        { ...(await exportJWK(es.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
        // Keycloak also publishes an encryption key; it must never be used to verify.
        { ...(await exportJWK(encKey.publicKey)), kid: 'enc-1', alg: 'RSA-OAEP', use: 'enc' },
      ],
    };
    server = http.createServer((req, res) => {
      fetches[req.url!] = (fetches[req.url!] ?? 0) + 1;
      switch (req.url) {
        case '/certs':
          res.setHeader('content-type', 'application/json');
          return res.end(JSON.stringify(jwks));
        case '/empty':
          return res.end(JSON.stringify({ keys: [] }));
        case '/enc-only':
          return res.end(JSON.stringify({ keys: [jwks.keys[2]] }));
        case '/garbage':
          return res.end('<html>proxy error</html>');
        case '/hang':
          return; // never answers: a Keycloak stuck in GC, a black-holed route
        default:
          res.statusCode = 500;
          return res.end('down');
      }
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  beforeEach(() => {
    fetches = {};
  });
  afterAll(
    () =>
      new Promise<void>((r) => {
        server.closeAllConnections();
        server.close(() => r());
      }),
  );

  interface SignOpts {
    key?: CryptoKey | Uint8Array;
    alg?: string;
    kid?: string;
    exp?: string | number;
    iss?: string;
    aud?: string | string[];
    sub?: string | null;
  }
  const sign = (claims: Record<string, unknown> = {}, o: SignOpts = {}) => {
    const jwt = new SignJWT({
      preferred_username: 'alice',
      name: 'Alice Anders',
      email: 'alice@acme.test',
      realm_access: { roles: ['default-roles-palisade', 'platform-admin'] },
      azp: 'palisade-portal',
      typ: 'Bearer',
      ...claims,
    })
      .setProtectedHeader({ alg: o.alg ?? 'RS256', kid: o.kid ?? 'rsa-1', typ: 'JWT' })
      .setIssuer(o.iss ?? ISSUER)
      .setAudience(o.aud ?? [AUDIENCE, 'account'])
      .setIssuedAt()
      .setExpirationTime(o.exp ?? '5m');
    if (o.sub !== null) jwt.setSubject(o.sub ?? 'user-1');
    return jwt.sign(o.key ?? rsa.privateKey);
  };

  const verifier = (extra: Partial<Parameters<typeof createTokenVerifier>[0]> = {}) =>
    createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: `${base}/certs`, ...extra });

  it('accepts a good RS256 token and maps the principal from Keycloak claims', async () => {
    expect(await verifier().verify(await sign())).toEqual({
      subject: 'user-1',
      kind: 'user',
      username: 'alice',
      name: 'Alice Anders',
      email: 'alice@acme.test',
      roles: ['default-roles-palisade', 'platform-admin'],
      clientId: 'palisade-portal',
    });
  });

  it('accepts ES256 too', async () => {
    const token = await sign({}, { key: es.privateKey, alg: 'ES256', kid: 'ec-1' });
    expect((await verifier().verify(token)).subject).toBe('user-1');
  });

  it('fetches the JWKS once and serves later tokens from the cache', async () => {
    const v = verifier();
    for (let i = 0; i < 3; i++) await v.verify(await sign());
    expect(fetches['/certs']).toBe(1);
  });

  it('marks client-credentials tokens as services, and a user named like one as a user', async () => {
    const service = await sign({
      preferred_username: 'service-account-acme-ci',
      client_id: 'acme-ci',
      azp: 'acme-ci',
      name: undefined,
      email: undefined,
      realm_access: undefined,
    });
    expect(await verifier().verify(service)).toEqual({
      subject: 'user-1',
      kind: 'service',
      username: 'service-account-acme-ci',
      roles: [],
      clientId: 'acme-ci',
    });
    const impostor = await sign({ preferred_username: 'service-account-acme-ci' });
    expect((await verifier().verify(impostor)).kind).toBe('user');
  });

  it('takes the palisade_tenant claim from an API client’s token, never from a user’s', async () => {
    const claims = { palisade_tenant: 'tenant-1', client_id: 'acme-ci' };
    const service = await sign({ ...claims, preferred_username: 'service-account-acme-ci' });
    expect((await verifier().verify(service)).tenant).toBe('tenant-1');
    const user = await sign({ palisade_tenant: 'tenant-1' });
    expect((await verifier().verify(user)).tenant).toBeUndefined();
  });

  it('expired token → auth.token_expired', async () => {
    const token = await sign({}, { exp: Math.floor(Date.now() / 1000) - 60 });
    expect(await codeOf(verifier().verify(token))).toBe(ErrorCode.AUTH_TOKEN_EXPIRED);
  });

  it('honours the injected clock and the clock tolerance', async () => {
    const token = await sign({}, { exp: '5m' });
    const in10m = () => new Date(Date.now() + 10 * 60_000);
    expect(await codeOf(verifier({ now: in10m }).verify(token))).toBe(ErrorCode.AUTH_TOKEN_EXPIRED);
    expect(await codeOf(verifier({ now: in10m, clockToleranceSec: 15 * 60 }).verify(token))).toBe(
      'accepted',
    );
  });

  it('token with nbf in the future → auth.token_not_yet_valid', async () => {
    const token = await sign({ nbf: Math.floor(Date.now() / 1000) + 600 });
    expect(await codeOf(verifier().verify(token))).toBe(ErrorCode.AUTH_TOKEN_NOT_YET_VALID);
  });

  it('token from another realm → auth.wrong_issuer, without fetching any keys', async () => {
    const token = await sign({}, { iss: 'http://localhost:1/realms/master' });
    expect(await codeOf(verifier().verify(token))).toBe(ErrorCode.AUTH_WRONG_ISSUER);
    expect(fetches['/certs']).toBeUndefined();
  });

  it('token without the API audience → auth.wrong_audience', async () => {
    const token = await sign({}, { aud: 'account' });
    expect(await codeOf(verifier().verify(token))).toBe(ErrorCode.AUTH_WRONG_AUDIENCE);
  });

  it('alg none → auth.unsupported_alg', async () => {
    const payload = (await sign()).split('.')[1];
    const none = `${b64({ alg: 'none', typ: 'JWT' })}.${payload}.`;
    expect(await codeOf(verifier().verify(none))).toBe(ErrorCode.AUTH_UNSUPPORTED_ALG);
  });

  it('HS256 signed with the public key (algorithm confusion) → auth.unsupported_alg', async () => {
    // The attacker's usual secrets: the JWK JSON, and the PEM-ish SPKI bytes.
    const spki = new Uint8Array(await crypto.subtle.exportKey('spki', rsa.publicKey));
    for (const secret of [new TextEncoder().encode(JSON.stringify(rsaJwk)), spki]) {
      const forged = await sign({}, { alg: 'HS256', key: secret });
      expect(await codeOf(verifier().verify(forged))).toBe(ErrorCode.AUTH_UNSUPPORTED_ALG);
    }
  });

  it('an asymmetric algorithm outside the allow-list → auth.unsupported_alg', async () => {
    const rs384 = await generateKeyPair('RS384');
    const token = await sign({}, { alg: 'RS384', key: rs384.privateKey });
    expect(await codeOf(verifier().verify(token))).toBe(ErrorCode.AUTH_UNSUPPORTED_ALG);
  });

  it('refuses to be configured with HMAC or none', () => {
    for (const algorithms of [['HS256'], ['RS256', 'none'], []]) {
      expect(() => verifier({ algorithms }), algorithms.join()).toThrow(TypeError);
    }
  });

  it('another key under the realm key id → auth.invalid_signature', async () => {
    const other = await generateKeyPair('RS256');
    const token = await sign({}, { key: other.privateKey, kid: 'rsa-1' });
    expect(await codeOf(verifier().verify(token))).toBe(ErrorCode.AUTH_INVALID_SIGNATURE);
  });

  it('a payload altered after signing → auth.invalid_signature', async () => {
    const [h, , s] = (await sign({ realm_access: { roles: [] } })).split('.');
    const escalated = b64({
      iss: ISSUER,
      aud: AUDIENCE,
      sub: 'user-1',
      iat: Math.floor(Date.now() / 1000),
      exp: Math.floor(Date.now() / 1000) + 300,
      realm_access: { roles: ['platform-admin'] },
    });
    expect(await codeOf(verifier().verify(`${h}.${escalated}.${s}`))).toBe(
      ErrorCode.AUTH_INVALID_SIGNATURE,
    );
  });

  it('a key id the JWKS does not hold → auth.unknown_key, without refetching inside the cooldown', async () => {
    const other = await generateKeyPair('RS256');
    const token = await sign({}, { key: other.privateKey, kid: 'nobody' });
    expect(await codeOf(verifier().verify(token))).toBe(ErrorCode.AUTH_UNKNOWN_KEY);
    expect(fetches['/certs']).toBe(1);
  });

  it('an ES256 token naming the encryption key → auth.unknown_key', async () => {
    const token = await sign({}, { key: es.privateKey, alg: 'ES256', kid: 'enc-1' });
    expect(await codeOf(verifier().verify(token))).toBe(ErrorCode.AUTH_UNKNOWN_KEY);
  });

  it('picks up a rotated-in key on the next verify after the cooldown', async () => {
    const v = verifier({ jwksCooldownMs: 0 });
    await v.verify(await sign());
    const next = await generateKeyPair('RS256', { extractable: true });
    jwks.keys.push({
      ...(await exportJWK(next.publicKey)),
      kid: 'rsa-2',
      alg: 'RS256',
      use: 'sig',
    });
    try {
      const token = await sign({}, { key: next.privateKey, kid: 'rsa-2' });
      expect((await v.verify(token)).subject).toBe('user-1');
      expect(fetches['/certs']).toBe(2);
    } finally {
      jwks.keys.pop();
    }
  });

  it('garbage, a JWE-shaped string and a token without sub → auth.malformed_token', async () => {
    const noSub = await sign({}, { sub: null });
    for (const bad of ['abc.def', 'a.b.c.d.e', 'not a token', noSub]) {
      expect(await codeOf(verifier().verify(bad)), bad).toBe(ErrorCode.AUTH_MALFORMED_TOKEN);
    }
  });

  it('JWKS unreachable, failing, hanging or not JSON → auth.jwks_unavailable, not a token error', async () => {
    const token = await sign();
    for (const jwksUri of [
      'http://127.0.0.1:9/certs',
      `${base}/500`,
      `${base}/garbage`,
      `${base}/hang`,
    ]) {
      const v = verifier({ jwksUri, jwksTimeoutMs: 300 });
      expect(await codeOf(v.verify(token)), jwksUri).toBe(ErrorCode.AUTH_JWKS_UNAVAILABLE);
    }
  });

  it('the default JWKS URI is Keycloak’s certs endpoint of the issuer', () => {
    expect(jwksUriFor('http://kc:8080/realms/palisade/')).toBe(
      'http://kc:8080/realms/palisade/protocol/openid-connect/certs',
    );
  });

  it('checkJwks says why a JWKS is not usable', async () => {
    expect(await checkJwks(`${base}/certs`)).toEqual({ ok: true, keys: 2 });
    const reasons = await Promise.all(
      ['/empty', '/enc-only', '/500', '/garbage', '/hang'].map((p) =>
        checkJwks(`${base}${p}`, 300),
      ),
    );
    expect(reasons.map((r) => r.ok)).toEqual([false, false, false, false, false]);
    expect(reasons[0]).toMatchObject({ reason: expect.stringContaining('no signing keys') });
    expect(reasons[2]).toMatchObject({ reason: expect.stringContaining('HTTP 500') });
    expect((await checkJwks('http://127.0.0.1:9/certs')).ok).toBe(false);
  });
});

describe('parseBearer', () => {
  it('takes the JWT out of a Bearer header, scheme case-insensitive', () => {
    expect(parseBearer('Bearer aaa.bbb.ccc')).toBe('aaa.bbb.ccc');
    expect(parseBearer('bearer  aaa.bbb.ccc')).toBe('aaa.bbb.ccc');
    // alg none has an empty signature; the verifier, not the parser, names that.
    expect(parseBearer('Bearer aaa.bbb.')).toBe('aaa.bbb.');
  });

  it('no header → auth.missing_token', () => {
    for (const missing of [undefined, null, '', '  ']) {
      expect(() => parseBearer(missing)).toThrow(
        expect.objectContaining({ code: ErrorCode.AUTH_MISSING_TOKEN }),
      );
    }
  });

  it('another scheme or a non-JWT → auth.malformed_token', () => {
    for (const bad of [
      'aaa.bbb.ccc',
      'Basic dXNlcjpwYXNz',
      'Bearer',
      'Bearer ',
      'Bearer not-a-jwt',
      'Bearer a.b.c d',
      'Bearer a+b.c/d.e',
      'Bearer a.b.c.d.e',
    ]) {
      expect(() => parseBearer(bad), bad).toThrow(
        expect.objectContaining({ code: ErrorCode.AUTH_MALFORMED_TOKEN }),
      );
    }
  });
});
