/**
 * A VM's last isolation report (see schema/vm-isolation-reports.ts). Every function takes the
 * tenant id and filters by it (the first lock); callers run them inside withTenant or the
 * platform scope (RLS is the second).
 */
import { and, eq, sql } from 'drizzle-orm';
import type { Tx } from '../scope';
import { vmIsolationReports } from '../schema';

export type VmIsolationReportRow = typeof vmIsolationReports.$inferSelect;

/** Replaces the VM's report with this measurement (or with why there is none). */
export async function saveIsolationReport(
  tx: Tx,
  p: {
    tenantId: string;
    vmId: string;
    hostId: string | null;
    measuredAt: Date | null;
    report: unknown;
    weakenings: { mechanism: string; reason: string }[];
    error: string | null;
  },
): Promise<void> {
  const values = {
    hostId: p.hostId,
    measuredAt: p.measuredAt,
    report: p.report ?? null,
    weakenings: p.weakenings,
    error: p.error,
  };
  await tx
    .insert(vmIsolationReports)
    .values({ tenantId: p.tenantId, vmId: p.vmId, ...values })
    .onConflictDoUpdate({
      target: vmIsolationReports.vmId,
      set: { ...values, updatedAt: sql`now()` },
      // A row of another tenant is never overwritten (the VM id is unique anyway).
      setWhere: eq(vmIsolationReports.tenantId, p.tenantId),
    });
}

export async function getIsolationReport(
  tx: Tx,
  p: { tenantId: string; vmId: string },
): Promise<VmIsolationReportRow | undefined> {
  const [row] = await tx
    .select()
    .from(vmIsolationReports)
    .where(and(eq(vmIsolationReports.tenantId, p.tenantId), eq(vmIsolationReports.vmId, p.vmId)));
  return row;
}
