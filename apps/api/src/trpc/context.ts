import type { Principal } from '@palisade/contracts';
import type { AppError } from '@palisade/contracts';

/**
 * What every procedure sees. Authentication is resolved once per request while building the
 * context; a bad token is kept as `authError` so that public procedures still answer and
 * protected ones fail with the precise reason.
 */
export interface TrpcContext {
  requestId: string;
  sourceIp: string | undefined;
  principal: Principal | null;
  authError: AppError | null;
}
