import { adminAuditListInput, auditEventSchema, pageOf } from '@palisade/contracts';
import { listAuditEvents, withPlatform } from '@palisade/db';
import { decodeCursor, pageResult } from '../../../resources/cursor';
import { platformProcedure } from '../../trpc';
import { toAuditEvent } from './to-dto';

/** The global audit log (operators): every tenant's events and the platform's, or one tenant's. */
export const adminList = platformProcedure('platform.audit.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/admin/audit',
      protect: true,
      tags: ['admin: audit'],
      summary: 'Global audit log',
    },
  })
  .input(adminAuditListInput)
  .output(pageOf(auditEventSchema))
  .query(({ ctx, input }) => {
    const after = decodeCursor(input.cursor);
    return withPlatform(ctx.db, 'read the global audit log', async (tx) =>
      pageResult(
        await listAuditEvents(tx, {
          tenantId: input.tenantId,
          limit: input.limit,
          after,
          action: input.action || undefined,
          targetId: input.targetId || undefined,
        }),
        toAuditEvent,
      ),
    );
  });
