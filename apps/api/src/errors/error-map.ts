/**
 * The ONE table that maps Palisade error codes to HTTP statuses and tRPC codes. Nothing below
 * apps/ knows about HTTP. `Record<ErrorCode, …>` makes the compiler insist on a row for every code.
 */
import type { TRPC_ERROR_CODE_KEY } from '@trpc/server';
import { AppError, ErrorCode, type ErrorBody } from '@palisade/contracts';

interface Mapping {
  http: number;
  trpc: TRPC_ERROR_CODE_KEY;
  /** Shown when the error has no userMessage of its own. */
  message: string;
}

const unauthorized = (message: string): Mapping => ({ http: 401, trpc: 'UNAUTHORIZED', message });

export const ERROR_MAP: Record<ErrorCode, Mapping> = {
  [ErrorCode.VALIDATION_FAILED]: {
    http: 400,
    trpc: 'BAD_REQUEST',
    message: 'The request is invalid.',
  },
  [ErrorCode.NOT_FOUND]: { http: 404, trpc: 'NOT_FOUND', message: 'Not found.' },
  [ErrorCode.CONFLICT]: {
    http: 409,
    trpc: 'CONFLICT',
    message: 'The request conflicts with the current state.',
  },
  [ErrorCode.RATE_LIMITED]: { http: 429, trpc: 'TOO_MANY_REQUESTS', message: 'Too many requests.' },
  [ErrorCode.PAYLOAD_TOO_LARGE]: {
    http: 413,
    trpc: 'PAYLOAD_TOO_LARGE',
    message: 'The request body is too large.',
  },
  [ErrorCode.INTERNAL]: { http: 500, trpc: 'INTERNAL_SERVER_ERROR', message: 'Internal error.' },
  [ErrorCode.UNAVAILABLE]: {
    http: 503,
    trpc: 'SERVICE_UNAVAILABLE',
    message: 'A dependency is unavailable; try again.',
  },
  [ErrorCode.AUTH_MISSING_TOKEN]: unauthorized('An access token is required.'),
  [ErrorCode.AUTH_MALFORMED_TOKEN]: unauthorized('The access token is malformed.'),
  [ErrorCode.AUTH_INVALID_SIGNATURE]: unauthorized('The access token signature is invalid.'),
  [ErrorCode.AUTH_UNSUPPORTED_ALG]: unauthorized(
    'The access token uses an algorithm that is not accepted.',
  ),
  [ErrorCode.AUTH_TOKEN_EXPIRED]: unauthorized('The access token has expired.'),
  [ErrorCode.AUTH_TOKEN_NOT_YET_VALID]: unauthorized('The access token is not valid yet.'),
  [ErrorCode.AUTH_WRONG_ISSUER]: unauthorized('The access token was issued by another issuer.'),
  [ErrorCode.AUTH_WRONG_AUDIENCE]: unauthorized('The access token is not meant for this API.'),
  [ErrorCode.AUTH_UNKNOWN_KEY]: unauthorized('The access token was signed by an unknown key.'),
  [ErrorCode.AUTH_CLIENT_REVOKED]: unauthorized(
    'This API client has been revoked; its tokens are no longer accepted.',
  ),
  // The identity provider being down is not the caller's fault: 503, so clients retry.
  [ErrorCode.AUTH_JWKS_UNAVAILABLE]: {
    http: 503,
    trpc: 'SERVICE_UNAVAILABLE',
    message: 'Token keys are unavailable; try again.',
  },
  [ErrorCode.TENANT_REQUIRED]: {
    http: 400,
    trpc: 'BAD_REQUEST',
    message: 'You belong to several tenants: say which one with the X-Palisade-Tenant header.',
  },
  [ErrorCode.TENANT_SUSPENDED]: {
    http: 403,
    trpc: 'FORBIDDEN',
    message: 'This tenant is suspended; its running VMs keep running, but changes are blocked.',
  },
  [ErrorCode.TENANT_LAST_OWNER]: {
    http: 409,
    trpc: 'CONFLICT',
    message: 'A tenant must keep at least one owner.',
  },
  // The key was used for another request: repeating it cannot succeed (IETF idempotency draft).
  [ErrorCode.IDEMPOTENCY_KEY_REUSED]: {
    http: 422,
    trpc: 'UNPROCESSABLE_CONTENT',
    message: 'This Idempotency-Key was already used for a different request.',
  },
  [ErrorCode.QUOTA_EXCEEDED]: {
    http: 409,
    trpc: 'CONFLICT',
    message: 'The request does not fit in the tenant quota.',
  },
  [ErrorCode.OPERATION_IN_PROGRESS]: {
    http: 409,
    trpc: 'CONFLICT',
    message: 'Another operation on this resource is in progress.',
  },
  [ErrorCode.INVALID_STATE]: {
    http: 409,
    trpc: 'CONFLICT',
    message: 'The resource is not in a state that allows this.',
  },
  [ErrorCode.RESOURCE_IN_USE]: {
    http: 409,
    trpc: 'CONFLICT',
    message: 'The resource is still in use.',
  },
  [ErrorCode.ALLOCATION_EXHAUSTED]: {
    http: 409,
    trpc: 'CONFLICT',
    message: 'No free address, segment or label is left to allocate.',
  },
  [ErrorCode.AUTH_FORBIDDEN]: {
    http: 403,
    trpc: 'FORBIDDEN',
    message: 'You are not allowed to do this.',
  },
  // Host enrolment. The token errors are 401: the token is the credential of that request.
  [ErrorCode.ENROL_TOKEN_UNKNOWN]: unauthorized('This join token is not valid.'),
  [ErrorCode.ENROL_TOKEN_EXPIRED]: unauthorized('This join token has expired.'),
  [ErrorCode.ENROL_TOKEN_USED]: {
    http: 409,
    trpc: 'CONFLICT',
    message: 'This join token was already used.',
  },
  [ErrorCode.ENROL_DISABLED]: {
    http: 503,
    trpc: 'SERVICE_UNAVAILABLE',
    message: 'Host enrolment is not configured on this control plane.',
  },
  [ErrorCode.AGENT_CERT_REJECTED]: unauthorized('A valid host client certificate is required.'),
  [ErrorCode.HOST_NOT_ENROLLED]: {
    http: 409,
    trpc: 'CONFLICT',
    message: 'This host has not enrolled yet.',
  },
  // The host's agent failing is not the caller's fault, and it may come back: 503.
  [ErrorCode.HOST_AGENT_UNREACHABLE]: {
    http: 503,
    trpc: 'SERVICE_UNAVAILABLE',
    message: "The host's agent did not answer; try again.",
  },
  // Host-operation outcomes reach tenants through operations, not HTTP; rows for completeness.
  [ErrorCode.PLACEMENT_NO_VALID_HOST]: {
    http: 409,
    trpc: 'CONFLICT',
    message: 'No host can run this VM now.',
  },
  [ErrorCode.AGENT_IMAGE_MISSING]: {
    http: 409,
    trpc: 'CONFLICT',
    message: 'The image is not available on the host.',
  },
  [ErrorCode.AGENT_IMAGE_INVALID]: {
    http: 409,
    trpc: 'CONFLICT',
    message: 'The image on the host failed verification.',
  },
  [ErrorCode.AGENT_ISOLATION_UNENFORCEABLE]: {
    http: 409,
    trpc: 'CONFLICT',
    message: 'The host cannot enforce the isolation this VM requires.',
  },
  [ErrorCode.AGENT_HOST_FAILED]: {
    http: 502,
    trpc: 'INTERNAL_SERVER_ERROR',
    message: 'The host failed to carry out the operation.',
  },
};

export function mappingFor(error: AppError): Mapping {
  return ERROR_MAP[error.code] ?? ERROR_MAP[ErrorCode.INTERNAL];
}

export function errorBody(error: AppError, requestId?: string): ErrorBody {
  const m = mappingFor(error);
  return {
    code: error.code,
    message: error.userMessage ?? m.message,
    ...(requestId ? { requestId } : {}),
    ...(error.details ? { details: error.details } : {}),
  };
}
