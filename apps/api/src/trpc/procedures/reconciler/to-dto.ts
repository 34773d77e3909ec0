import type { QuarantinedItem, ReconcileReport } from '@palisade/contracts';
import type { QuarantinedItemRow, ReconcileReportRow } from '@palisade/db';

export const toReport = (r: ReconcileReportRow): ReconcileReport => ({
  id: r.id,
  startedAt: r.startedAt.toISOString(),
  finishedAt: r.finishedAt.toISOString(),
  worker: r.worker,
  findings: r.findings,
  summary: r.summary,
});

export const toQuarantinedItem = (
  r: QuarantinedItemRow & { hostName: string },
): QuarantinedItem => ({
  id: r.id,
  hostId: r.hostId,
  hostName: r.hostName,
  kind: r.kind,
  ref: r.ref,
  name: r.name,
  reason: r.reason,
  vmId: r.vmId,
  tenantId: r.tenantId,
  state: r.state,
  firstSeenAt: r.firstSeenAt.toISOString(),
  lastSeenAt: r.lastSeenAt.toISOString(),
  resolvedAt: r.resolvedAt?.toISOString() ?? null,
});
