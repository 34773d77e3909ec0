import type { z } from 'zod';
import type { auditEventSchema } from '@palisade/contracts';
import type { AuditEventRow } from '@palisade/db';

export const toAuditEvent = (r: AuditEventRow): z.infer<typeof auditEventSchema> => ({
  id: r.id,
  tenantId: r.tenantId,
  actorType: r.actorType,
  actorId: r.actorId,
  actorName: r.actorName,
  action: r.action,
  targetType: r.targetType,
  targetId: r.targetId,
  requestId: r.requestId,
  outcome: r.outcome,
  details: r.details ?? null,
  createdAt: r.createdAt.toISOString(),
});
