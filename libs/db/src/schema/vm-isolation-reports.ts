import { jsonb, pgTable, text, timestamp, uuid } from 'drizzle-orm/pg-core';
import { timestamps } from './columns';
import { tenantId, tenantIsolation } from './tenant-columns';
import { vms } from './vms';

/**
 * The last isolation report of each VM: what its host measured (live XML label, cgroupfs, taps
 * and filters, `qemu-img info`) right after it last started, or why it could not be measured.
 * One row per VM, replaced on every start; it goes with its VM (cascade). The report is stored as
 * the agent sent it (`IsolationReport` in contracts) and compared with the VM's spec on read, so
 * a tenant always sees the measurement, never a verdict the control plane stored.
 */
export const vmIsolationReports = pgTable(
  'vm_isolation_reports',
  {
    vmId: uuid()
      .primaryKey()
      .references(() => vms.id, { onDelete: 'cascade' }),
    tenantId: tenantId(),
    /** The host that measured it (a later migration can move the VM). */
    hostId: uuid(),
    /** When the host measured it; null when it could not (`error` says why). */
    measuredAt: timestamp({ withTimezone: true }),
    report: jsonb(),
    /** What the host weakened when it started the VM (operator-allowed), as it answered. */
    weakenings: jsonb().notNull().default([]),
    error: text(),
    ...timestamps(),
  },
  () => [tenantIsolation('vm_isolation_reports')],
).enableRLS();
