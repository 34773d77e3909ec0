/**
 * Verifies Keycloak access tokens: signature against the realm's JWKS (fetched and cached by
 * jose, refetched with a cooldown when an unknown key id shows up, which is how key rotation
 * reaches us), then issuer, audience, expiry and not-before. Only RS256 and ES256 are accepted:
 * `alg: none` and HMAC algorithms (the classic "HS256 signed with the public key" confusion) are
 * refused before any key is looked at.
 *
 * Every failure is an AppError with its own stable code. An unreachable JWKS is NOT reported as a
 * bad token: the caller's token may be fine, so it gets its own code (the edge answers 503).
 */
import {
  createRemoteJWKSet,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { AppError, ErrorCode, type Principal } from '@palisade/contracts';

export const ACCEPTED_ALGORITHMS = ['RS256', 'ES256'] as const;

export interface TokenVerifierOptions {
  issuer: string;
  audience: string;
  /** Defaults to the issuer's Keycloak certs endpoint. */
  jwksUri?: string;
  algorithms?: readonly string[];
  clockToleranceSec?: number;
  /** The current time; tests move it to check expiry with real tokens. */
  now?: () => Date;
  /** For tests: a key resolver instead of the remote JWKS. */
  keys?: JWTVerifyGetKey;
}

export interface TokenVerifier {
  verify(token: string): Promise<Principal>;
}

const fail = (code: ErrorCode, message: string, cause?: unknown) =>
  new AppError(code, message, { cause });

export function jwksUriFor(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/protocol/openid-connect/certs`;
}

export function createTokenVerifier(opts: TokenVerifierOptions): TokenVerifier {
  const algorithms = [...(opts.algorithms ?? ACCEPTED_ALGORITHMS)];
  const keys =
    opts.keys ??
    createRemoteJWKSet(new URL(opts.jwksUri ?? jwksUriFor(opts.issuer)), {
      timeoutDuration: 3000,
      cooldownDuration: 30_000,
      cacheMaxAge: 10 * 60_000,
    });

  return {
    async verify(token) {
      let alg: string | undefined;
      try {
        alg = decodeProtectedHeader(token).alg;
      } catch (e) {
        throw fail(ErrorCode.AUTH_MALFORMED_TOKEN, 'the bearer token is not a JWS', e);
      }
      if (!alg || !algorithms.includes(alg)) {
        throw fail(
          ErrorCode.AUTH_UNSUPPORTED_ALG,
          `token algorithm ${JSON.stringify(alg)} is not one of ${algorithms.join(', ')}`,
        );
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: opts.issuer,
          audience: opts.audience,
          algorithms,
          clockTolerance: opts.clockToleranceSec ?? 5,
          currentDate: opts.now?.(),
          requiredClaims: ['exp', 'iat', 'sub'],
        }));
      } catch (e) {
        throw mapJoseError(e);
      }
      return toPrincipal(payload);
    },
  };
}

function mapJoseError(e: unknown): AppError {
  if (e instanceof errors.JWTExpired) return fail(ErrorCode.AUTH_TOKEN_EXPIRED, 'token expired', e);
  if (e instanceof errors.JWTClaimValidationFailed) {
    switch (e.claim) {
      case 'iss':
        return fail(ErrorCode.AUTH_WRONG_ISSUER, `token issuer rejected: ${e.message}`, e);
      case 'aud':
        return fail(ErrorCode.AUTH_WRONG_AUDIENCE, `token audience rejected: ${e.message}`, e);
      case 'nbf':
      case 'iat':
        return e.reason === 'check_failed'
          ? fail(ErrorCode.AUTH_TOKEN_NOT_YET_VALID, `token not valid yet: ${e.message}`, e)
          : fail(
              ErrorCode.AUTH_MALFORMED_TOKEN,
              `token claim ${e.claim} is malformed: ${e.message}`,
              e,
            );
      default:
        return fail(
          ErrorCode.AUTH_MALFORMED_TOKEN,
          `token claim ${e.claim} rejected: ${e.message}`,
          e,
        );
    }
  }
  if (e instanceof errors.JWKSNoMatchingKey)
    return fail(ErrorCode.AUTH_UNKNOWN_KEY, 'no key in the realm JWKS matches the token', e);
  if (e instanceof errors.JWSSignatureVerificationFailed)
    return fail(ErrorCode.AUTH_INVALID_SIGNATURE, 'token signature does not verify', e);
  if (e instanceof errors.JOSEAlgNotAllowed)
    return fail(ErrorCode.AUTH_UNSUPPORTED_ALG, e.message, e);
  if (e instanceof errors.JWKSTimeout || e instanceof errors.JWKSInvalid)
    return fail(ErrorCode.AUTH_JWKS_UNAVAILABLE, `the realm JWKS is unavailable: ${e.message}`, e);
  if (
    e instanceof errors.JWSInvalid ||
    e instanceof errors.JWTInvalid ||
    e instanceof errors.JOSENotSupported
  ) {
    return fail(ErrorCode.AUTH_MALFORMED_TOKEN, `token is malformed: ${(e as Error).message}`, e);
  }
  // A network failure fetching the JWKS surfaces as a plain TypeError/Error from fetch.
  return fail(
    ErrorCode.AUTH_JWKS_UNAVAILABLE,
    `could not verify the token: ${e instanceof Error ? e.message : String(e)}`,
    e,
  );
}

function toPrincipal(p: JWTPayload): Principal {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const realmAccess = p['realm_access'] as { roles?: unknown } | undefined;
  const roles = Array.isArray(realmAccess?.roles)
    ? realmAccess.roles.filter((r): r is string => typeof r === 'string')
    : [];
  const username = str(p['preferred_username']);
  // Keycloak names a service account's user "service-account-<clientId>".
  const kind = username?.startsWith('service-account-') ? 'service' : 'user';
  return {
    subject: p.sub!,
    kind,
    username,
    name: str(p['name']),
    email: str(p['email']),
    roles,
    clientId: str(p['azp']),
  };
}

/** `Authorization: Bearer <token>` → the token; anything else is malformed. */
export function parseBearer(header: string): string {
  const m = /^Bearer ([A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_=]+\.[A-Za-z0-9\-_.+/=]*)$/.exec(
    header.trim(),
  );
  if (!m)
    throw fail(ErrorCode.AUTH_MALFORMED_TOKEN, 'the Authorization header is not "Bearer <JWT>"');
  return m[1]!;
}

/** Readiness probe for the JWKS endpoint: reachable and holding at least one key. */
export async function checkJwks(
  jwksUri: string,
  timeoutMs = 2000,
): Promise<{ ok: true } | { ok: false; reason: string }> {
  try {
    const res = await fetch(jwksUri, { signal: AbortSignal.timeout(timeoutMs) });
    if (!res.ok) return { ok: false, reason: `HTTP ${res.status} from ${jwksUri}` };
    const body = (await res.json()) as { keys?: unknown[] };
    return Array.isArray(body.keys) && body.keys.length > 0
      ? { ok: true }
      : { ok: false, reason: 'the JWKS holds no keys' };
  } catch (e) {
    return { ok: false, reason: e instanceof Error ? e.message : String(e) };
  }
}
