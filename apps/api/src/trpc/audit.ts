import type { AuditEventInput } from '@palisade/db';
import type { TrpcContext } from './context';
import type { TenantScope } from './trpc';

/** The audit row for a change made by the caller of this request, in its tenant (or, for an
 *  operator's platform change, in no tenant). */
export function auditOf(
  ctx: Pick<TrpcContext, 'requestId' | 'sourceIp'> & {
    principal: NonNullable<TrpcContext['principal']>;
    tenant: TenantScope | null;
  },
  action: string,
  target: { type: string; id: string },
  details?: Record<string, unknown>,
): AuditEventInput {
  return {
    tenantId: ctx.tenant?.id ?? null,
    actorType: ctx.principal.kind === 'service' ? 'service' : 'user',
    actorId: ctx.principal.subject,
    actorName: ctx.principal.username ?? ctx.principal.name,
    action,
    targetType: target.type,
    targetId: target.id,
    requestId: ctx.requestId,
    sourceIp: ctx.sourceIp,
    outcome: 'success',
    details,
  };
}
