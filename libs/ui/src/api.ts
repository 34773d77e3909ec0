/**
 * The typed tRPC client for the Palisade API, and how its failures are shown to a person.
 * `AppRouter` is imported as a TYPE only: nothing of the API's runtime reaches the browser bundle.
 * Must never put a token anywhere but the Authorization header of a request to the API.
 */
import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import type { AppRouter } from '@palisade/api/router';
import type { Principal } from '@palisade/contracts';
import { LoginRedirectError } from './errors';

export type ApiClient = ReturnType<typeof createApiClient>;

/**
 * One client per app. `token` must return a valid access token, refreshing it first when it is
 * about to expire (Session.token does); a batch of calls asks once.
 */
export function createApiClient(
  apiUrl: string,
  token: () => Promise<string>,
  /** The active tenant (id), sent as X-Palisade-Tenant; the API checks the membership. */
  tenant: () => string | undefined = () => undefined,
) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${apiUrl.replace(/\/+$/, '')}/trpc`,
        headers: async () => {
          const headers: Record<string, string> = { authorization: `Bearer ${await token()}` };
          const active = tenant();
          if (active) headers['x-palisade-tenant'] = active;
          return headers;
        },
      }),
    ],
  });
}

export interface DisplayError {
  message: string;
  /** The API's stable error code (libs/contracts errors.ts), when the API answered. */
  code?: string;
  /** The API's request ID, to find the request in the API's logs. */
  requestId?: string;
  httpStatus?: number;
  /** The input fields the API named as wrong, each with its message (forms show them inline). */
  fields?: FieldError[];
}

export interface FieldError {
  /** The input path, e.g. `name` or `sshKeyIds.0`; empty for the input as a whole. */
  path: string;
  message: string;
}

interface ErrorData {
  code?: unknown;
  requestId?: unknown;
  httpStatus?: unknown;
  /** Validation failures: every field zod refused. */
  fields?: unknown;
  /** AppErrors that concern one field say which in `details.field`. */
  details?: unknown;
}

/** The field errors in an API error body: zod's list, or an AppError's single `details.field`. */
function fieldsOf(data: ErrorData, message: string): FieldError[] | undefined {
  if (Array.isArray(data.fields)) {
    const fields = data.fields.flatMap((f: unknown) => {
      const o = (f ?? {}) as { path?: unknown; message?: unknown };
      return typeof o.path === 'string' && typeof o.message === 'string'
        ? [{ path: o.path, message: o.message }]
        : [];
    });
    return fields.length ? fields : undefined;
  }
  const field = (data.details as { field?: unknown } | null | undefined)?.field;
  if (typeof field !== 'string') return undefined;
  // The API's user message already starts with "<field>: "; the form shows it under the field.
  const prefix = `${field}: `;
  return [
    { path: field, message: message.startsWith(prefix) ? message.slice(prefix.length) : message },
  ];
}

/** What to show a person when a call fails: the message, the stable code and the request ID. */
export function toDisplayError(e: unknown, apiUrl?: string): DisplayError {
  if (e instanceof TRPCClientError) {
    const data = (e.data ?? null) as ErrorData | null;
    if (!data) {
      // No tRPC error body: the request never reached the API, or something else answered.
      const where = apiUrl ? `The API at ${apiUrl}` : 'The API';
      const cause = e.cause instanceof Error ? e.cause.message : e.message;
      return { message: `${where} did not answer (${cause}).` };
    }
    return {
      message: e.message,
      code: typeof data.code === 'string' ? data.code : undefined,
      requestId: typeof data.requestId === 'string' ? data.requestId : undefined,
      httpStatus: typeof data.httpStatus === 'number' ? data.httpStatus : undefined,
      fields: fieldsOf(data, e.message),
    };
  }
  return { message: e instanceof Error ? e.message : String(e) };
}

/** A heading that says what kind of failure it was, before the details. */
export function apiErrorTitle(e: DisplayError): string {
  if (e.httpStatus === undefined) return 'Cannot reach the API';
  if (e.httpStatus === 401) return 'The API did not accept your session';
  if (e.httpStatus === 403) return 'Not allowed';
  if (e.httpStatus >= 500) return 'The API failed';
  return 'The API refused the request';
}

/**
 * React Query retry policy. Retrying cannot change the API's answer to a bad request or a bad
 * token (4xx), and a login redirect is already under way; a network failure or a 5xx may pass.
 */
export function shouldRetry(failureCount: number, error: unknown): boolean {
  if (error instanceof LoginRedirectError) return false;
  if (error instanceof TRPCClientError) {
    const status = (error.data as ErrorData | null)?.httpStatus;
    if (typeof status === 'number' && status >= 400 && status < 500) return false;
  }
  return failureCount < 2;
}

/** The name to greet a principal by: the full name, else the username, else the subject. */
export function displayName(p: Pick<Principal, 'name' | 'username' | 'subject'>): string {
  return p.name || p.username || p.subject;
}
