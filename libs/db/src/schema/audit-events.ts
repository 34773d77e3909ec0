import { index, inet, jsonb, pgEnum, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { id } from './columns';
import { tenants } from './tenants';
import { tenantIsolation } from './tenant-columns';

export const actorType = pgEnum('actor_type', ['user', 'service', 'system']);
export const auditOutcome = pgEnum('audit_outcome', ['success', 'failure', 'denied']);

/**
 * The audit trail: written in the same transaction as the change it records. Append-only: the
 * runtime role may insert and read, never update or delete (migration 0004 revokes those).
 */
export const auditEvents = pgTable(
  'audit_events',
  {
    id: id(),
    tenantId: uuid().references(() => tenants.id, { onDelete: 'restrict' }),
    actorType: actorType().notNull(),
    actorId: text().notNull(),
    actorName: text(),
    action: text().notNull(),
    targetType: text(),
    targetId: text(),
    requestId: text(),
    sourceIp: inet(),
    outcome: auditOutcome().notNull(),
    details: jsonb().$type<Record<string, unknown>>(),
    createdAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  (t) => [
    index('audit_events_tenant_time').on(t.tenantId, t.createdAt),
    tenantIsolation('audit_events'),
  ],
).enableRLS();
