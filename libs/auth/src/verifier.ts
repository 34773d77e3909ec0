/**
 * Verifies Keycloak access tokens and turns them into a Principal: signature against the realm's
 * JWKS (fetched and cached by jose, refetched with a cooldown when an unknown key id shows up,
 * which is how Keycloak's key rotation reaches us), then issuer, audience, expiry and not-before.
 *
 * It must never accept a token whose algorithm is not an asymmetric signature on the allow-list
 * (RS256 and ES256 by default): `alg: none` and HMAC algorithms, including the classic "HS256
 * signed with the public key" confusion, are refused before any key is looked at. It must never
 * report an unreachable JWKS as a bad token: the caller's token may be fine, so that failure has
 * its own code (the edge answers 503 and the client retries). Every failure is an AppError with
 * one stable code; nothing here knows about HTTP, and nothing reads process.env.
 */
import {
  createRemoteJWKSet,
  decodeJwt,
  decodeProtectedHeader,
  errors,
  jwtVerify,
  type JWTPayload,
  type JWTVerifyGetKey,
} from 'jose';
import { AppError, ErrorCode, TENANT_CLAIM, type Principal } from '@palisade/contracts';

export const DEFAULT_ALGORITHMS = ['RS256', 'ES256'] as const;

/** Asymmetric JWS algorithms a caller may narrow or widen the allow-list to. Never HMAC. */
const ASYMMETRIC_ALGORITHMS = new Set([
  'RS256',
  'RS384',
  'RS512',
  'PS256',
  'PS384',
  'PS512',
  'ES256',
  'ES384',
  'ES512',
  'EdDSA',
]);

export interface TokenVerifierOptions {
  /** The realm URL exactly as Keycloak writes it into `iss`, e.g. http://localhost:19080/realms/palisade. */
  issuer: string;
  /** The audience every access token must carry (`palisade-api`). */
  audience: string;
  /** Defaults to the issuer's Keycloak certs endpoint (see jwksUriFor). */
  jwksUri?: string;
  algorithms?: readonly string[];
  /** Allowed clock skew between Keycloak and us for exp/nbf/iat. Defaults to 5 s. */
  clockToleranceSec?: number;
  /** The current time; tests move it to check expiry with real tokens. */
  now?: () => Date;
  /** How long a JWKS fetch may take before the verifier answers AUTH_JWKS_UNAVAILABLE. */
  jwksTimeoutMs?: number;
  /** Minimum time between two JWKS fetches caused by unknown key ids. Defaults to 30 s. */
  jwksCooldownMs?: number;
}

export interface TokenVerifier {
  /** Resolves to the caller's principal, or rejects with an AppError carrying an auth.* code. */
  verify(token: string): Promise<Principal>;
}

const fail = (code: ErrorCode, message: string, cause?: unknown) =>
  new AppError(code, message, cause === undefined ? {} : { cause });

/** Keycloak's JWKS endpoint for a realm issuer URL. */
export function jwksUriFor(issuer: string): string {
  return `${issuer.replace(/\/$/, '')}/protocol/openid-connect/certs`;
}

/** Marks an error thrown while obtaining the keys, as opposed to one about the token itself. */
class KeySourceError extends Error {}

export function createTokenVerifier(opts: TokenVerifierOptions): TokenVerifier {
  const algorithms = [...(opts.algorithms ?? DEFAULT_ALGORITHMS)];
  const refused = algorithms.filter((a) => !ASYMMETRIC_ALGORITHMS.has(a));
  // A configuration that admits HMAC or `none` would reopen the confusion attacks: refuse it at boot.
  if (algorithms.length === 0 || refused.length > 0)
    throw new TypeError(
      `token algorithms must be asymmetric signatures; refused: ${refused.join(', ') || '(empty list)'}`,
    );

  const remote = createRemoteJWKSet(new URL(opts.jwksUri ?? jwksUriFor(opts.issuer)), {
    timeoutDuration: opts.jwksTimeoutMs ?? 3000,
    // At most one refetch per 30 s for unknown kids, so forged kids cannot hammer Keycloak.
    cooldownDuration: opts.jwksCooldownMs ?? 30_000,
    cacheMaxAge: 10 * 60_000,
  });
  // jose surfaces fetch failures as whatever fetch threw; tag everything that is not "no such key"
  // so it can be told apart from a problem with the token.
  const keys: JWTVerifyGetKey = async (header, token) => {
    try {
      return await remote(header, token);
    } catch (e) {
      if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys)
        throw e;
      throw new KeySourceError('the realm JWKS could not be used', { cause: e });
    }
  };
  const clockTolerance = opts.clockToleranceSec ?? 5;

  return {
    async verify(token) {
      let alg: unknown;
      let iss: unknown;
      try {
        alg = decodeProtectedHeader(token).alg;
        iss = decodeJwt(token).iss;
      } catch (e) {
        throw fail(ErrorCode.AUTH_MALFORMED_TOKEN, 'the bearer token is not a signed JWT', e);
      }
      if (typeof alg !== 'string' || !algorithms.includes(alg)) {
        throw fail(
          ErrorCode.AUTH_UNSUPPORTED_ALG,
          `token algorithm ${JSON.stringify(alg)} is not one of ${algorithms.join(', ')}`,
        );
      }
      // Checked before the signature (and again, verified, by jwtVerify) so that tokens of other
      // realms or servers are named for what they are instead of as "unknown key", and never
      // cause a JWKS refetch. The unverified claim only chooses the error; it grants nothing.
      if (iss !== opts.issuer) {
        throw fail(
          ErrorCode.AUTH_WRONG_ISSUER,
          `token issuer ${JSON.stringify(iss)} is not ${opts.issuer}`,
        );
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, keys, {
          issuer: opts.issuer,
          audience: opts.audience,
          algorithms,
          clockTolerance,
          currentDate: opts.now?.(),
          requiredClaims: ['exp', 'iat', 'sub'],
        }));
      } catch (e) {
        throw mapVerifyError(e);
      }
      return toPrincipal(payload);
    },
  };
}

function mapVerifyError(e: unknown): AppError {
  if (e instanceof KeySourceError)
    return fail(
      ErrorCode.AUTH_JWKS_UNAVAILABLE,
      `the realm JWKS is unavailable: ${messageOf(e.cause)}`,
      e.cause,
    );
  if (e instanceof errors.JWTExpired) return fail(ErrorCode.AUTH_TOKEN_EXPIRED, 'token expired', e);
  if (e instanceof errors.JWTClaimValidationFailed) {
    switch (e.claim) {
      case 'iss':
        return fail(ErrorCode.AUTH_WRONG_ISSUER, `token issuer rejected: ${e.message}`, e);
      case 'aud':
        return fail(ErrorCode.AUTH_WRONG_AUDIENCE, `token audience rejected: ${e.message}`, e);
      case 'nbf':
      case 'iat':
        // jose checks that nbf and iat are not in the future; anything else is a malformed claim.
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
  if (e instanceof errors.JWKSNoMatchingKey || e instanceof errors.JWKSMultipleMatchingKeys)
    return fail(ErrorCode.AUTH_UNKNOWN_KEY, 'no single key in the realm JWKS matches the token', e);
  if (e instanceof errors.JWSSignatureVerificationFailed)
    return fail(ErrorCode.AUTH_INVALID_SIGNATURE, 'token signature does not verify', e);
  if (e instanceof errors.JOSEAlgNotAllowed)
    return fail(ErrorCode.AUTH_UNSUPPORTED_ALG, e.message, e);
  // JWSInvalid, JWTInvalid, JOSENotSupported (e.g. unknown `crit` headers) and anything else
  // jose rejects about the token's structure. The key source is excluded above, so this is
  // about the token.
  return fail(ErrorCode.AUTH_MALFORMED_TOKEN, `token rejected: ${messageOf(e)}`, e);
}

const messageOf = (e: unknown) => (e instanceof Error ? e.message : String(e));

function toPrincipal(p: JWTPayload): Principal {
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);
  const realmAccess = p['realm_access'] as { roles?: unknown } | undefined;
  const roles = Array.isArray(realmAccess?.roles)
    ? realmAccess.roles.filter((r): r is string => typeof r === 'string')
    : [];
  const username = str(p['preferred_username']);
  // Keycloak's client-credentials tokens carry `client_id` (service_account scope) and the
  // service-account user, named "service-account-<clientId>".
  const kind =
    str(p['client_id']) !== undefined && username?.startsWith('service-account-')
      ? 'service'
      : 'user';
  return {
    subject: p.sub!,
    kind,
    username,
    name: str(p['name']),
    email: str(p['email']),
    roles,
    clientId: str(p['azp']),
    // Only a service principal's tenant claim means anything (it is matched against the API
    // client's row); a user's token never names a tenant.
    tenant: kind === 'service' ? str(p[TENANT_CLAIM]) : undefined,
  };
}

/**
 * `Authorization: Bearer <JWT>` → the JWT. No header is AUTH_MISSING_TOKEN; another scheme or
 * something that is not a compact JWS is AUTH_MALFORMED_TOKEN. An empty signature part passes
 * here so that `alg: none` is reported as what it is by the verifier.
 */
export function parseBearer(authorization: string | null | undefined): string {
  if (authorization === undefined || authorization === null || authorization.trim() === '')
    throw fail(ErrorCode.AUTH_MISSING_TOKEN, 'no Authorization header');
  // RFC 6750 §2.1: the scheme is case-insensitive, followed by one or more spaces.
  const m = /^Bearer +([A-Za-z0-9_-]+\.[A-Za-z0-9_-]+\.[A-Za-z0-9_-]*)$/i.exec(
    authorization.trim(),
  );
  if (!m)
    throw fail(ErrorCode.AUTH_MALFORMED_TOKEN, 'the Authorization header is not "Bearer <JWT>"');
  return m[1]!;
}

export type JwksCheck = { ok: true; keys: number } | { ok: false; reason: string };

/**
 * Readiness probe for the API's /readyz: is the JWKS reachable and does it hold at least one
 * signing key? Never throws.
 */
export async function checkJwks(jwksUri: string, timeoutMs = 2000): Promise<JwksCheck> {
  try {
    const res = await fetch(jwksUri, {
      signal: AbortSignal.timeout(timeoutMs),
      redirect: 'manual',
      headers: { accept: 'application/json' },
    });
    if (res.status !== 200) return { ok: false, reason: `HTTP ${res.status} from ${jwksUri}` };
    const body = (await res.json()) as { keys?: unknown };
    const signing = Array.isArray(body.keys)
      ? body.keys.filter(
          (k): k is { use?: unknown } =>
            typeof k === 'object' &&
            k !== null &&
            ((k as { use?: unknown }).use ?? 'sig') === 'sig',
        )
      : [];
    return signing.length > 0
      ? { ok: true, keys: signing.length }
      : { ok: false, reason: `the JWKS at ${jwksUri} holds no signing keys` };
  } catch (e) {
    return { ok: false, reason: `JWKS at ${jwksUri} unreachable: ${messageOf(e)}` };
  }
}
