import { sql } from 'drizzle-orm';
import { check, integer, pgTable, timestamp, uuid } from 'drizzle-orm/pg-core';
import { tenants } from './tenants';
import { tenantIsolation, tenantReadOnly } from './tenant-columns';

/** The countable resources a tenant consumes; limits and usage share these columns. */
const resourceColumns = () => ({
  vcpus: integer().notNull().default(0),
  ramMib: integer().notNull().default(0),
  diskGib: integer().notNull().default(0),
  vms: integer().notNull().default(0),
  volumes: integer().notNull().default(0),
  snapshots: integer().notNull().default(0),
  networks: integer().notNull().default(0),
  publicIps: integer().notNull().default(0),
});

const nonNegative = (name: string) =>
  check(
    name,
    sql`vcpus >= 0 AND ram_mib >= 0 AND disk_gib >= 0 AND vms >= 0 AND volumes >= 0 AND snapshots >= 0 AND networks >= 0 AND public_ips >= 0`,
  );

/** A tenant's limits, set by operators. */
export const quotas = pgTable(
  'quotas',
  {
    tenantId: uuid()
      .primaryKey()
      .references(() => tenants.id, { onDelete: 'restrict' }),
    ...resourceColumns(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  () => [nonNegative('quotas_non_negative'), ...tenantReadOnly('quotas')],
).enableRLS();

/**
 * The usage ledger: one row per tenant, locked (SELECT … FOR UPDATE) by every path that consumes
 * resources, in the same transaction as the change, so concurrent requests cannot overshoot.
 */
export const tenantUsage = pgTable(
  'tenant_usage',
  {
    tenantId: uuid()
      .primaryKey()
      .references(() => tenants.id, { onDelete: 'restrict' }),
    ...resourceColumns(),
    updatedAt: timestamp({ withTimezone: true }).notNull().defaultNow(),
  },
  () => [nonNegative('tenant_usage_non_negative'), tenantIsolation('tenant_usage')],
).enableRLS();
