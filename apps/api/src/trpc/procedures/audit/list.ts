import { auditEventSchema, auditListInput, pageOf } from '@palisade/contracts';
import { listAuditEvents, withTenant } from '@palisade/db';
import { decodeCursor, pageResult } from '../../../resources/cursor';
import { tenantProcedure } from '../../trpc';
import { toAuditEvent } from './to-dto';

/** The tenant's own audit log, newest first. */
export const list = tenantProcedure('audit.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/audit',
      protect: true,
      tags: ['audit'],
      summary: 'Audit log',
    },
  })
  .input(auditListInput)
  .output(pageOf(auditEventSchema))
  .query(({ ctx, input }) => {
    const after = decodeCursor(input.cursor);
    return withTenant(ctx.db, ctx.tenant.id, async (tx) =>
      pageResult(
        await listAuditEvents(tx, {
          tenantId: ctx.tenant.id,
          limit: input.limit,
          after,
          action: input.action || undefined,
          targetId: input.targetId || undefined,
        }),
        toAuditEvent,
      ),
    );
  });
