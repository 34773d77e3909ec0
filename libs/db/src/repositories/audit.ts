/**
 * The audit trail. `recordAudit` takes the same transaction as the change it records, so the
 * change and its audit event commit or roll back together.
 */
import type { Tx } from '../scope';
import { auditEvents } from '../schema';

export type AuditEventInput = typeof auditEvents.$inferInsert;

export async function recordAudit(tx: Tx, event: AuditEventInput): Promise<void> {
  await tx.insert(auditEvents).values(event);
}
