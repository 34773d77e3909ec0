import { createTRPCClient, httpBatchLink, TRPCClientError } from '@trpc/client';
import type { AppRouter } from '@palisade/api/router';
import type { Session } from './session';

export type ApiClient = ReturnType<typeof createApiClient>;

/** The typed tRPC client; every request carries a fresh access token. */
export function createApiClient(apiUrl: string, session: Pick<Session, 'token'>) {
  return createTRPCClient<AppRouter>({
    links: [
      httpBatchLink({
        url: `${apiUrl}/trpc`,
        headers: async () => ({ authorization: `Bearer ${await session.token()}` }),
      }),
    ],
  });
}

export interface DisplayError {
  message: string;
  code?: string;
  requestId?: string;
}

/** What to show a person when a call fails: the message, the stable code and the request ID. */
export function toDisplayError(e: unknown): DisplayError {
  if (e instanceof TRPCClientError) {
    const data = (e.data ?? {}) as { code?: unknown; requestId?: unknown };
    return {
      message: e.message,
      code: typeof data.code === 'string' ? data.code : undefined,
      requestId: typeof data.requestId === 'string' ? data.requestId : undefined,
    };
  }
  return { message: e instanceof Error ? e.message : String(e) };
}
