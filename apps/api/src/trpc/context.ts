import type { AppError, Principal } from '@palisade/contracts';
import type { Db } from '@palisade/db';
import type { IdentityAdmin } from '../identity/identity-admin';
import type { PkiService } from '../pki/pki.service';

/**
 * What every procedure sees. Authentication is resolved once per request while building the
 * context; a bad token is kept as `authError` so that public procedures still answer and
 * protected ones fail with the precise reason. The tenant is resolved only by tenant procedures.
 */
export interface TrpcContext {
  requestId: string;
  sourceIp: string | undefined;
  principal: Principal | null;
  authError: AppError | null;
  /** The tenant the caller asked to act in (X-Palisade-Tenant), not yet checked. */
  tenantHeader: string | undefined;
  /** The Idempotency-Key header, not yet checked (see resources/accept.ts). */
  idempotencyKey: string | undefined;
  /** `?wait=true` (or 1) on the URL: REST's way to ask an accepted change to wait. */
  waitQuery: boolean;
  /** What a procedure wants the REST response to carry besides its body (202 for accepted). */
  response: { status?: number };
  db: Db;
  /** Keycloak's admin API, for the procedures that change identities (onboarding, API clients). */
  identity: IdentityAdmin;
  /** The control-plane CA and identity (both fail clearly when PKI_DIR is unset). */
  pki: Pick<PkiService, 'ca' | 'controlPlaneTls'>;
}
