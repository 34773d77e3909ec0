import { sql } from 'drizzle-orm';
import { boolean, check, integer, pgTable, text } from 'drizzle-orm/pg-core';
import { id, timestamps } from './columns';

/**
 * A VM size and its cgroup limits. Global: operators write flavors, every tenant reads them.
 * The designer turns these columns into <cputune>, <memtune>, <iotune> and <bandwidth>.
 */
export const flavors = pgTable(
  'flavors',
  {
    id: id(),
    name: text().notNull().unique(),
    vcpus: integer().notNull(),
    ramMib: integer().notNull(),
    diskGib: integer().notNull(),
    cpuShares: integer().notNull().default(1024),
    cpuPeriodUs: integer().notNull().default(100_000),
    /** Per-vCPU CFS quota; null means no cap. */
    cpuQuotaUs: integer(),
    diskIops: integer(),
    diskBytesSec: integer(),
    netAverageKbps: integer(),
    netPeakKbps: integer(),
    svirtRequired: boolean().notNull().default(true),
    disabled: boolean().notNull().default(false),
    ...timestamps(),
  },
  (t) => [
    check('flavors_name_format', sql`${t.name} ~ '^[a-z0-9][a-z0-9.-]{0,62}$'`),
    check('flavors_positive', sql`${t.vcpus} > 0 AND ${t.ramMib} >= 64 AND ${t.diskGib} > 0`),
    check('flavors_cpu_period', sql`${t.cpuPeriodUs} BETWEEN 1000 AND 1000000`),
    check('flavors_cpu_quota', sql`${t.cpuQuotaUs} IS NULL OR ${t.cpuQuotaUs} >= 1000`),
  ],
);
