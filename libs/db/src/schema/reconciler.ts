import { sql } from 'drizzle-orm';
import {
  index,
  integer,
  jsonb,
  pgEnum,
  pgPolicy,
  pgTable,
  text,
  timestamp,
  unique,
  uuid,
} from 'drizzle-orm/pg-core';
import { QUARANTINE_KINDS, QUARANTINE_REASONS, type ReconcileSummary } from '@palisade/contracts';
import { id } from './columns';
import { hosts } from './hosts';

/** Operators' tables: visible only in the audited platform scope (tenants never read them). */
const platformOnly = (table: string) =>
  pgPolicy(`${table}_platform_all`, {
    as: 'permissive',
    for: 'all',
    using: sql`app_is_platform()`,
    withCheck: sql`app_is_platform()`,
  });

/** One row per reconciler pass: what it found and did, for operators to read. */
export const reconcileReports = pgTable(
  'reconcile_reports',
  {
    id: id(),
    startedAt: timestamp({ withTimezone: true }).notNull(),
    finishedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    worker: text().notNull(),
    findings: integer().notNull().default(0),
    summary: jsonb().$type<ReconcileSummary>().notNull(),
  },
  (t) => [index('reconcile_reports_started').on(t.startedAt), platformOnly('reconcile_reports')],
).enableRLS();

export const quarantineKind = pgEnum('quarantine_kind', QUARANTINE_KINDS);
export const quarantineReason = pgEnum('quarantine_reason', QUARANTINE_REASONS);

/**
 * Things found on a host that the database does not account for (contracts reconciler.ts has
 * the reasons). Recorded and left alone, never deleted: one row per (host, kind, ref), seen again
 * by each pass (`lastSeenAt`), and `resolvedAt` set once a pass no longer finds it there.
 * `vmId`/`tenantId` are what the host claims (metadata, file name), so they carry no foreign key.
 */
export const quarantinedItems = pgTable(
  'quarantined_items',
  {
    id: id(),
    hostId: uuid()
      .notNull()
      .references(() => hosts.id, { onDelete: 'cascade' }),
    kind: quarantineKind().notNull(),
    ref: text().notNull(),
    name: text(),
    reason: quarantineReason().notNull(),
    vmId: text(),
    tenantId: text(),
    state: text(),
    firstSeenAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    lastSeenAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
    resolvedAt: timestamp({ withTimezone: true }),
  },
  (t) => [
    unique('quarantined_items_host_ref').on(t.hostId, t.kind, t.ref),
    platformOnly('quarantined_items'),
  ],
).enableRLS();
