/**
 * The audit trail. `recordAudit` takes the same transaction as the change it records, so the
 * change and its audit event commit or roll back together.
 */
import { and, desc, eq, isNull, sql, type SQL } from 'drizzle-orm';
import type { Tx } from '../scope';
import { auditEvents } from '../schema';
import { afterPosition, positionOf, splitPage, type PageParams } from './page';

export type AuditEventInput = typeof auditEvents.$inferInsert;

export async function recordAudit(tx: Tx, event: AuditEventInput): Promise<void> {
  await tx.insert(auditEvents).values(event);
}

export type AuditEventRow = typeof auditEvents.$inferSelect;

/**
 * Audit events, newest first. `tenantId` undefined lists every tenant's (the caller must be in
 * the platform scope); null lists platform events only.
 */
export async function listAuditEvents(
  tx: Tx,
  p: PageParams & { tenantId?: string | null; action?: string; targetId?: string },
) {
  const where: (SQL | undefined)[] = [
    p.tenantId === undefined
      ? undefined
      : p.tenantId === null
        ? isNull(auditEvents.tenantId)
        : eq(auditEvents.tenantId, p.tenantId),
    p.action ? eq(auditEvents.action, p.action) : undefined,
    p.targetId ? eq(auditEvents.targetId, p.targetId) : undefined,
    afterPosition(auditEvents.createdAt, auditEvents.id, p.after),
  ];
  const rows = await tx
    .select({ row: auditEvents, position: positionOf(auditEvents.createdAt), id: auditEvents.id })
    .from(auditEvents)
    .where(and(...where))
    .orderBy(desc(auditEvents.createdAt), desc(auditEvents.id))
    .limit(p.limit + 1);
  const page = splitPage(rows, p.limit);
  return { items: page.items.map((r) => r.row), next: page.next };
}

/**
 * The request fingerprint the audit event of an operation's request recorded (its details carry
 * `operationId` and `requestHash`), for Idempotency-Key checks.
 */
export async function requestHashOf(
  tx: Tx,
  p: { tenantId: string; operationId: string },
): Promise<string | undefined> {
  const [row] = await tx
    .select({ hash: sql<string | null>`${auditEvents.details}->>'requestHash'` })
    .from(auditEvents)
    .where(
      and(
        eq(auditEvents.tenantId, p.tenantId),
        sql`${auditEvents.details}->>'operationId' = ${p.operationId}`,
      ),
    )
    .limit(1);
  return row?.hash ?? undefined;
}
