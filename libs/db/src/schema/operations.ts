import { sql } from 'drizzle-orm';
import {
  check,
  index,
  integer,
  jsonb,
  pgEnum,
  pgTable,
  text,
  timestamp,
  unique,
  uniqueIndex,
  uuid,
} from 'drizzle-orm/pg-core';
import { OPERATION_STATES } from '@palisade/contracts';
import { id, timestamps } from './columns';
import { tenants } from './tenants';
import { tenantIsolation } from './tenant-columns';

// One list of states, the contract's, enforced here too.
export const operationState = pgEnum('operation_state', OPERATION_STATES);

export interface OperationStep {
  name: string;
  state: 'pending' | 'running' | 'done' | 'failed' | 'compensated' | 'skipped';
  startedAt?: string;
  finishedAt?: string;
  error?: string;
}

/**
 * Every change is an operation, written in the same transaction as the change (the outbox). The
 * relay enqueues pending ones with the operation id as the BullMQ job id. Platform operations
 * (host drain) have no tenant.
 */
export const operations = pgTable(
  'operations',
  {
    id: id(),
    tenantId: uuid().references(() => tenants.id, { onDelete: 'restrict' }),
    kind: text().notNull(),
    targetType: text().notNull(),
    targetId: uuid().notNull(),
    state: operationState().notNull().default('pending'),
    steps: jsonb()
      .$type<OperationStep[]>()
      .notNull()
      .default(sql`'[]'::jsonb`),
    progress: integer().notNull().default(0),
    errorCode: text(),
    errorMessage: text(),
    deadline: timestamp({ withTimezone: true }).notNull(),
    idempotencyKey: text(),
    requestId: text(),
    /** Who asked: a Keycloak subject, an API client id, or `system`. */
    actor: text().notNull(),
    enqueuedAt: timestamp({ withTimezone: true }),
    startedAt: timestamp({ withTimezone: true }),
    finishedAt: timestamp({ withTimezone: true }),
    ...timestamps(),
  },
  (t) => [
    unique('operations_idempotency').on(t.tenantId, t.idempotencyKey),
    // Only one unfinished operation per target: a second one is refused, never interleaved.
    uniqueIndex('operations_one_active_per_target')
      .on(t.targetId)
      .where(sql`state IN ('pending', 'running', 'compensating')`),
    index('operations_outbox')
      .on(t.createdAt)
      .where(sql`state = 'pending' AND enqueued_at IS NULL`),
    check('operations_progress', sql`${t.progress} BETWEEN 0 AND 100`),
    tenantIsolation('operations'),
  ],
).enableRLS();
