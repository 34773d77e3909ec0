import http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  SignJWT,
  type JWK,
  type CryptoKey,
} from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@palisade/contracts';
import { checkJwks, createTokenVerifier, parseBearer } from './verifier';

const ISSUER = 'http://localhost:1/realms/palisade';
const AUDIENCE = 'palisade-api';

describe('createTokenVerifier', () => {
  let rsa: { privateKey: CryptoKey; publicKey: CryptoKey };
  let es: { privateKey: CryptoKey; publicKey: CryptoKey };
  let jwks: { keys: JWK[] };
  let server: http.Server;
  let jwksUrl: string;

  beforeAll(async () => {
    rsa = await generateKeyPair('RS256', { extractable: true });
    es = await generateKeyPair('ES256', { extractable: true });
    jwks = {
      keys: [
        { ...(await exportJWK(rsa.publicKey)), kid: 'rsa-1', alg: 'RS256', use: 'sig' },
        { ...(await exportJWK(es.publicKey)), kid: 'ec-1', alg: 'ES256', use: 'sig' },
      ],
    };
    // A real JWKS endpoint on loopback, as Keycloak serves it.
    server = http.createServer((req, res) => {
      res.setHeader('content-type', 'application/json');
      res.end(JSON.stringify(req.url === '/empty' ? { keys: [] } : jwks));
    });
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    jwksUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}/certs`;
  });
  afterAll(() => new Promise<void>((r) => server.close(() => r())));

  const sign = (
    claims: Record<string, unknown> = {},
    { key = rsa.privateKey, alg = 'RS256', kid = 'rsa-1', exp = '5m' } = {},
  ) =>
    new SignJWT({
      preferred_username: 'alice',
      name: 'Alice Anders',
      email: 'alice@acme.test',
      realm_access: { roles: ['r1'] },
      azp: 'palisade-portal',
      ...claims,
    })
      .setProtectedHeader({ alg, kid })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('user-1')
      .setIssuedAt()
      .setExpirationTime(exp)
      .sign(key);

  const verifier = (extra: Partial<Parameters<typeof createTokenVerifier>[0]> = {}) =>
    createTokenVerifier({ issuer: ISSUER, audience: AUDIENCE, jwksUri: jwksUrl, ...extra });

  const codeOf = (p: Promise<unknown>) =>
    p.then(
      () => 'accepted',
      (e: { code?: string }) => e.code,
    );

  it('accepts a good RS256 token and returns the principal', async () => {
    expect(await verifier().verify(await sign())).toEqual({
      subject: 'user-1',
      kind: 'user',
      username: 'alice',
      name: 'Alice Anders',
      email: 'alice@acme.test',
      roles: ['r1'],
      clientId: 'palisade-portal',
    });
  });

  it('accepts ES256 too', async () => {
    expect(
      (await verifier().verify(await sign({}, { key: es.privateKey, alg: 'ES256', kid: 'ec-1' })))
        .subject,
    ).toBe('user-1');
  });

  it('marks Keycloak service accounts as services', async () => {
    expect(
      (await verifier().verify(await sign({ preferred_username: 'service-account-ci' }))).kind,
    ).toBe('service');
  });

  it('rejects an expired token', async () => {
    expect(await codeOf(verifier().verify(await sign({}, { exp: '-1m' })))).toBe(
      ErrorCode.AUTH_TOKEN_EXPIRED,
    );
  });

  it('rejects a token that is not valid yet', async () => {
    expect(
      await codeOf(verifier().verify(await sign({ nbf: Math.floor(Date.now() / 1000) + 600 }))),
    ).toBe(ErrorCode.AUTH_TOKEN_NOT_YET_VALID);
  });

  it('rejects the wrong issuer and the wrong audience', async () => {
    expect(
      await codeOf(
        createTokenVerifier({
          issuer: 'http://evil/realms/palisade',
          audience: AUDIENCE,
          jwksUri: jwksUrl,
        }).verify(await sign()),
      ),
    ).toBe(ErrorCode.AUTH_WRONG_ISSUER);
    expect(
      await codeOf(
        createTokenVerifier({ issuer: ISSUER, audience: 'other-api', jwksUri: jwksUrl }).verify(
          await sign(),
        ),
      ),
    ).toBe(ErrorCode.AUTH_WRONG_AUDIENCE);
  });

  it('rejects alg none', async () => {
    const good = await sign();
    const [, payload] = good.split('.');
    const none = `${Buffer.from(JSON.stringify({ alg: 'none', typ: 'JWT' })).toString('base64url')}.${payload}.`;
    expect(await codeOf(verifier().verify(none))).toBe(ErrorCode.AUTH_UNSUPPORTED_ALG);
  });

  it('rejects HS256 signed with the public key (algorithm confusion)', async () => {
    const pub = new TextEncoder().encode(JSON.stringify(jwks.keys[0]));
    const forged = await new SignJWT({})
      .setProtectedHeader({ alg: 'HS256', kid: 'rsa-1' })
      .setIssuer(ISSUER)
      .setAudience(AUDIENCE)
      .setSubject('user-1')
      .setIssuedAt()
      .setExpirationTime('5m')
      .sign(pub);
    expect(await codeOf(verifier().verify(forged))).toBe(ErrorCode.AUTH_UNSUPPORTED_ALG);
  });

  it('rejects a token signed by another key under a known kid, and one under an unknown kid', async () => {
    const other = await generateKeyPair('RS256');
    expect(await codeOf(verifier().verify(await sign({}, { key: other.privateKey })))).toBe(
      ErrorCode.AUTH_INVALID_SIGNATURE,
    );
    expect(
      await codeOf(verifier().verify(await sign({}, { key: other.privateKey, kid: 'nobody' }))),
    ).toBe(ErrorCode.AUTH_UNKNOWN_KEY);
  });

  it('rejects garbage as malformed', async () => {
    expect(await codeOf(verifier().verify('abc.def'))).toBe(ErrorCode.AUTH_MALFORMED_TOKEN);
  });

  it('reports an unreachable JWKS as unavailable, not as a bad token', async () => {
    const down = createTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      jwksUri: 'http://127.0.0.1:9/certs',
    });
    expect(await codeOf(down.verify(await sign()))).toBe(ErrorCode.AUTH_JWKS_UNAVAILABLE);
  });

  it('honours an injected clock (so real tokens can be checked for expiry)', async () => {
    const token = await sign({}, { exp: '5m' });
    const later = verifier({ now: () => new Date(Date.now() + 3600_000) });
    expect(await codeOf(later.verify(token))).toBe(ErrorCode.AUTH_TOKEN_EXPIRED);
    const local = createTokenVerifier({
      issuer: ISSUER,
      audience: AUDIENCE,
      keys: createLocalJWKSet(jwks),
    });
    expect((await local.verify(token)).subject).toBe('user-1');
  });

  it('checkJwks says why a JWKS is not usable', async () => {
    expect(await checkJwks(jwksUrl)).toEqual({ ok: true });
    expect(await checkJwks(jwksUrl.replace('/certs', '/empty'))).toEqual({
      ok: false,
      reason: 'the JWKS holds no keys',
    });
    expect((await checkJwks('http://127.0.0.1:9/certs')).ok).toBe(false);
  });
});

describe('parseBearer', () => {
  it('takes the token out of a Bearer header and refuses anything else', () => {
    expect(parseBearer('Bearer aaa.bbb.ccc')).toBe('aaa.bbb.ccc');
    for (const bad of [
      'aaa.bbb.ccc',
      'Basic dXNlcjpwYXNz',
      'Bearer ',
      'Bearer not-a-jwt',
      'Bearer a.b.c d',
    ]) {
      expect(() => parseBearer(bad), bad).toThrow(
        expect.objectContaining({ code: ErrorCode.AUTH_MALFORMED_TOKEN }),
      );
    }
  });
});
