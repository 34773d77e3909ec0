/**
 * What a tenant asked for in an operation, as the API recorded it: the audit event written in the
 * same transaction as the operation carries `operationId` in its details, next to the request's
 * own facts (the VM a volume was detached from, an extend's old and new size, the snapshot a
 * revert names). Workflows read those facts here instead of job data, which holds only IDs.
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Tx } from '../scope';
import { auditEvents } from '../schema';

/** The details of the audit event that accepted the operation, or undefined when none did. */
export async function requestDetailsOf(
  tx: Tx,
  p: { tenantId: string; operationId: string },
): Promise<Record<string, unknown> | undefined> {
  const [row] = await tx
    .select({ details: auditEvents.details })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.tenantId, p.tenantId),
        sql`${auditEvents.details}->>'operationId' = ${p.operationId}`,
      ),
    )
    .limit(1);
  return row?.details ?? undefined;
}
