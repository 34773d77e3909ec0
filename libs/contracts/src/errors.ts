/**
 * Stable error codes, grouped per module. A code, once published, is never reused for another
 * meaning and never renamed: clients branch on it. Add new codes; deprecate old ones in place.
 *
 * This module must stay browser-safe: no I/O, no Node-only imports.
 */
export const ErrorCode = {
  // common
  VALIDATION_FAILED: 'common.validation_failed',
  NOT_FOUND: 'common.not_found',
  CONFLICT: 'common.conflict',
  RATE_LIMITED: 'common.rate_limited',
  INTERNAL: 'common.internal',
  UNAVAILABLE: 'common.unavailable',
  PAYLOAD_TOO_LARGE: 'common.payload_too_large',
  /** The Idempotency-Key was already used for a different request. */
  IDEMPOTENCY_KEY_REUSED: 'common.idempotency_key_reused',
  // auth
  AUTH_MISSING_TOKEN: 'auth.missing_token',
  AUTH_MALFORMED_TOKEN: 'auth.malformed_token',
  AUTH_INVALID_SIGNATURE: 'auth.invalid_signature',
  AUTH_UNSUPPORTED_ALG: 'auth.unsupported_alg',
  AUTH_TOKEN_EXPIRED: 'auth.token_expired',
  AUTH_TOKEN_NOT_YET_VALID: 'auth.token_not_yet_valid',
  AUTH_WRONG_ISSUER: 'auth.wrong_issuer',
  AUTH_WRONG_AUDIENCE: 'auth.wrong_audience',
  AUTH_UNKNOWN_KEY: 'auth.unknown_key',
  AUTH_JWKS_UNAVAILABLE: 'auth.jwks_unavailable',
  AUTH_FORBIDDEN: 'auth.forbidden',
  /** A token of a tenant's API client that has since been revoked (the token itself is valid). */
  AUTH_CLIENT_REVOKED: 'auth.client_revoked',
  // tenancy
  TENANT_REQUIRED: 'tenancy.tenant_required',
  TENANT_SUSPENDED: 'tenancy.tenant_suspended',
  /** The change would leave a tenant without an owner. */
  TENANT_LAST_OWNER: 'tenancy.last_owner',
  // host enrolment
  ENROL_TOKEN_UNKNOWN: 'enrolment.token_unknown',
  ENROL_TOKEN_EXPIRED: 'enrolment.token_expired',
  ENROL_TOKEN_USED: 'enrolment.token_used',
  ENROL_DISABLED: 'enrolment.disabled',
  AGENT_CERT_REJECTED: 'enrolment.client_certificate_rejected',
  // hosts
  HOST_NOT_ENROLLED: 'hosts.not_enrolled',
  HOST_AGENT_UNREACHABLE: 'hosts.agent_unreachable',
  /** No host passes placement's filters; the message says per filter why. */
  PLACEMENT_NO_VALID_HOST: 'placement.no_valid_host',
  // host operations (the agent's API)
  /** The host's image store lacks the image with that checksum. */
  AGENT_IMAGE_MISSING: 'agent.image_missing',
  /** The stored image fails its checksum, or has a backing or data file (never allowed). */
  AGENT_IMAGE_INVALID: 'agent.image_invalid',
  /** The VM requires isolation this host cannot enforce (fail closed), e.g. sVirt without SELinux. */
  AGENT_ISOLATION_UNENFORCEABLE: 'agent.isolation_unenforceable',
  /** libvirt, QEMU or the host's networking failed; details carry the host's error text. */
  AGENT_HOST_FAILED: 'agent.host_failed',
  // quota
  QUOTA_EXCEEDED: 'quota.exceeded',
  // resources and their operations
  OPERATION_IN_PROGRESS: 'operation.in_progress',
  INVALID_STATE: 'resource.invalid_state',
  RESOURCE_IN_USE: 'resource.in_use',
  ALLOCATION_EXHAUSTED: 'allocation.exhausted',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

export interface AppErrorOptions {
  /** Safe to show to the caller. When absent, the edge shows a generic message for the code. */
  userMessage?: string;
  details?: Record<string, unknown>;
  cause?: unknown;
}

/**
 * The one error type of Palisade. `message` is internal (logs); `userMessage` is what a caller
 * may see. The edge (apps/api) maps `code` to HTTP and tRPC status in exactly one table.
 */
export class AppError extends Error {
  readonly code: ErrorCode;
  readonly userMessage: string | undefined;
  readonly details: Record<string, unknown> | undefined;

  constructor(code: ErrorCode, message: string, options: AppErrorOptions = {}) {
    super(message, options.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'AppError';
    this.code = code;
    this.userMessage = options.userMessage;
    this.details = options.details;
  }
}

export function isAppError(e: unknown): e is AppError {
  return e instanceof AppError;
}

/** The body of every error response, REST and tRPC alike. */
export interface ErrorBody {
  code: ErrorCode;
  message: string;
  requestId?: string;
  details?: Record<string, unknown>;
}
