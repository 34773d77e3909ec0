/**
 * What the reconciler reads and writes, all in the audited platform scope: the up hosts and the
 * rows that should be on them, the quarantine of things a host holds that no row accounts for,
 * the per-pass reports, the deadline sweeper's counts, and each tenant's real resource usage for
 * the quota recount.
 *
 * Must never: delete a quarantined thing or its record (only `resolvedAt` is set, when a pass no
 * longer finds it), or recount a tenant's usage without holding its ledger row (`lockUsage`).
 */
import {
  and,
  asc,
  desc,
  eq,
  gt,
  inArray,
  isNotNull,
  isNull,
  lt,
  ne,
  notInArray,
  sql,
} from 'drizzle-orm';
import type { ReconcileSummary } from '@palisade/contracts';
import type { Tx } from '../scope';
import {
  flavors,
  hosts,
  hostFabrics,
  networks,
  operations,
  quarantinedItems,
  reconcileReports,
  snapshots,
  tenants,
  vms,
  volumes,
} from '../schema';
import { afterPosition, positionOf, splitPage, type PageParams } from './page';
import type { ResourceCounts } from './usage';
import { UNFINISHED_OPERATION_STATES } from './operations';

export type QuarantinedItemRow = typeof quarantinedItems.$inferSelect;
export type ReconcileReportRow = typeof reconcileReports.$inferSelect;

/** Hosts the reconciler asks: `up` (reporting) with an agent address, by name. */
export function hostsToReconcile(tx: Tx, p: { hostIds?: string[] } = {}) {
  return tx
    .select({ id: hosts.id, name: hosts.name, agentUrl: hosts.agentUrl })
    .from(hosts)
    .where(
      and(
        eq(hosts.state, 'up'),
        sql`${hosts.agentUrl} IS NOT NULL`,
        p.hostIds ? inArray(hosts.id, p.hostIds) : undefined,
      ),
    )
    .orderBy(asc(hosts.name));
}

/** Every VM placed on the host, with whether an operation is under way on it and how its
 *  last finished operation ended. */
export function vmsPlacedOn(tx: Tx, p: { hostId: string }) {
  return tx
    .select({
      id: vms.id,
      tenantId: vms.tenantId,
      desiredState: vms.desiredState,
      observedState: vms.observedState,
      restartPolicy: vms.restartPolicy,
      busy: sql<boolean>`EXISTS (SELECT 1 FROM ${operations} o WHERE o.target_id = ${vms.id}
        AND o.state IN ('pending', 'running', 'compensating'))`,
      /** `kind:state` of the VM's most recent finished operation, or null. */
      lastOperation: sql<string | null>`(SELECT o.kind || ':' || o.state FROM ${operations} o
        WHERE o.target_id = ${vms.id} AND o.finished_at IS NOT NULL
        ORDER BY o.finished_at DESC LIMIT 1)`,
    })
    .from(vms)
    .where(eq(vms.hostId, p.hostId));
}

/** The database's clock, so "changed since the host was asked" compares one clock's times. */
export async function databaseNow(tx: Tx): Promise<Date> {
  const { rows } = await tx.execute<{ now: Date }>(sql`SELECT clock_timestamp() AS now`);
  return new Date(rows[0]!.now);
}

/** VMs by id wherever they are placed (to tell "no row" from "another host's"). */
export function vmsByIds(tx: Tx, p: { ids: string[] }) {
  if (p.ids.length === 0) return Promise.resolve([]);
  return tx
    .select({
      id: vms.id,
      hostId: vms.hostId,
      desiredState: vms.desiredState,
      busy: sql<boolean>`EXISTS (SELECT 1 FROM ${operations} o WHERE o.target_id = ${vms.id}
        AND o.state IN ('pending', 'running', 'compensating'))`,
    })
    .from(vms)
    .where(inArray(vms.id, p.ids));
}

/** Volumes by id, with whether they were crypto-erased (wrapped key gone). */
export function volumesByIds(tx: Tx, p: { ids: string[] }) {
  if (p.ids.length === 0) return Promise.resolve([]);
  return tx
    .select({
      id: volumes.id,
      tenantId: volumes.tenantId,
      hostId: volumes.hostId,
      status: volumes.status,
      erased: sql<boolean>`${volumes.wrappedKey} IS NULL`,
    })
    .from(volumes)
    .where(inArray(volumes.id, p.ids));
}

/** Segments (type, id) of networks on the fabrics this host reaches; any status, since a
 *  network being created or deleted is its workflow's to converge. */
export async function segmentsOfHostFabrics(tx: Tx, p: { hostId: string }) {
  return tx
    .selectDistinct({ type: networks.segmentType, id: networks.segmentId })
    .from(networks)
    .innerJoin(hostFabrics, eq(hostFabrics.fabricId, networks.fabricId))
    .where(eq(hostFabrics.hostId, p.hostId));
}

// --- quarantine ----------------------------------------------------------------------------------

export interface QuarantineSighting {
  kind: QuarantinedItemRow['kind'];
  ref: string;
  name: string | null;
  reason: QuarantinedItemRow['reason'];
  vmId: string | null;
  tenantId: string | null;
  state: string | null;
}

/**
 * Records what one pass saw on a host: new items are inserted, known ones get `lastSeenAt` (and
 * lose `resolvedAt` if they came back); items of the host no longer seen get `resolvedAt`.
 * Returns how many were new and how many were resolved by this call.
 */
export async function recordQuarantine(
  tx: Tx,
  p: { hostId: string; seen: QuarantineSighting[] },
): Promise<{ new: number; resolved: number }> {
  let fresh = 0;
  for (const s of p.seen) {
    const [row] = await tx
      .insert(quarantinedItems)
      .values({ hostId: p.hostId, ...s })
      .onConflictDoUpdate({
        target: [quarantinedItems.hostId, quarantinedItems.kind, quarantinedItems.ref],
        set: {
          name: s.name,
          reason: s.reason,
          vmId: s.vmId,
          tenantId: s.tenantId,
          state: s.state,
          lastSeenAt: sql`now()`,
          resolvedAt: null,
        },
      })
      // xmax = 0 only on a row this statement inserted.
      .returning({ inserted: sql<boolean>`(xmax = 0)` });
    if (row?.inserted) fresh++;
  }
  const keys = p.seen.map((s) => `${s.kind}:${s.ref}`);
  const resolved = await tx
    .update(quarantinedItems)
    .set({ resolvedAt: sql`now()` })
    .where(
      and(
        eq(quarantinedItems.hostId, p.hostId),
        isNull(quarantinedItems.resolvedAt),
        keys.length
          ? notInArray(
              sql<string>`${quarantinedItems.kind}::text || ':' || ${quarantinedItems.ref}`,
              keys,
            )
          : undefined,
      ),
    )
    .returning({ id: quarantinedItems.id });
  return { new: fresh, resolved: resolved.length };
}

/** Quarantined items still on their host, by kind (for the report). */
export async function countQuarantinePresent(tx: Tx, p: { hostIds?: string[] } = {}) {
  const rows = await tx
    .select({ kind: quarantinedItems.kind, n: sql<number>`count(*)::int` })
    .from(quarantinedItems)
    .where(
      and(
        isNull(quarantinedItems.resolvedAt),
        p.hostIds ? inArray(quarantinedItems.hostId, p.hostIds) : undefined,
      ),
    )
    .groupBy(quarantinedItems.kind);
  const out = { domain: 0, volume: 0, segment: 0 };
  for (const r of rows) out[r.kind] = r.n;
  return out;
}

export async function listQuarantine(
  tx: Tx,
  p: PageParams & { hostId?: string; state: 'present' | 'resolved' | 'all' },
) {
  const rows = await tx
    .select({
      row: quarantinedItems,
      hostName: hosts.name,
      position: positionOf(quarantinedItems.firstSeenAt),
      id: quarantinedItems.id,
    })
    .from(quarantinedItems)
    .innerJoin(hosts, eq(hosts.id, quarantinedItems.hostId))
    .where(
      and(
        p.hostId ? eq(quarantinedItems.hostId, p.hostId) : undefined,
        p.state === 'present'
          ? isNull(quarantinedItems.resolvedAt)
          : p.state === 'resolved'
            ? isNotNull(quarantinedItems.resolvedAt)
            : undefined,
        afterPosition(quarantinedItems.firstSeenAt, quarantinedItems.id, p.after),
      ),
    )
    .orderBy(desc(quarantinedItems.firstSeenAt), desc(quarantinedItems.id))
    .limit(p.limit + 1);
  const page = splitPage(rows, p.limit);
  return { items: page.items.map((r) => ({ ...r.row, hostName: r.hostName })), next: page.next };
}

// --- reports -------------------------------------------------------------------------------------

export async function insertReconcileReport(
  tx: Tx,
  p: { startedAt: Date; worker: string; findings: number; summary: ReconcileSummary },
): Promise<ReconcileReportRow> {
  const [row] = await tx.insert(reconcileReports).values(p).returning();
  return row!;
}

export async function lastReconcileReport(tx: Tx): Promise<ReconcileReportRow | undefined> {
  const [row] = await tx
    .select()
    .from(reconcileReports)
    .orderBy(desc(reconcileReports.startedAt))
    .limit(1);
  return row;
}

export async function listReconcileReports(tx: Tx, p: PageParams) {
  const rows = await tx
    .select({
      row: reconcileReports,
      position: positionOf(reconcileReports.finishedAt),
      id: reconcileReports.id,
    })
    .from(reconcileReports)
    .where(afterPosition(reconcileReports.finishedAt, reconcileReports.id, p.after))
    .orderBy(desc(reconcileReports.finishedAt), desc(reconcileReports.id))
    .limit(p.limit + 1);
  const page = splitPage(rows, p.limit);
  return { items: page.items.map((r) => r.row), next: page.next };
}

// --- the deadline sweeper's counts ---------------------------------------------------------------

/** Unfinished operations past their deadline now, and those the sweeper ended since `since`. */
export async function deadlineCounts(tx: Tx, p: { now: Date; since: Date | null }) {
  const [overdue] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(operations)
    .where(
      and(
        inArray(operations.state, [...UNFINISHED_OPERATION_STATES]),
        lt(operations.deadline, p.now),
      ),
    );
  const [ended] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(operations)
    .where(
      and(
        eq(operations.errorCode, 'operation.deadline_exceeded'),
        p.since ? gt(operations.finishedAt, p.since) : undefined,
      ),
    );
  return { overdueNow: overdue?.n ?? 0, endedSinceLastReport: ended?.n ?? 0 };
}

// --- quota recount -------------------------------------------------------------------------------

export async function allTenantIds(tx: Tx, p: { ids?: string[] } = {}): Promise<string[]> {
  const rows = await tx
    .select({ id: tenants.id })
    .from(tenants)
    .where(p.ids ? inArray(tenants.id, p.ids) : undefined)
    .orderBy(asc(tenants.id));
  return rows.map((r) => r.id);
}

/**
 * What the tenant really holds, counted the way the API charges the ledger (apps/api
 * resources/ledger.ts and the procedures that call it):
 * - a VM counts its flavor (vCPUs, RAM, disk) and one VM until its delete is accepted (desired
 *   `deleted`); its root volume (`root-<vmId>`) is part of the flavor's disk, not a volume;
 * - a volume counts one volume and its size until its delete is accepted (status `deleting`);
 * - a snapshot, a network: one each until their delete is accepted (status `deleting`);
 * - public IPs: nothing allocates them yet, so the ledger's value is kept (`publicIps: null`).
 * Rows in `error` still count: they hold their quota until deleted, as the API charges it.
 * The caller holds the tenant's ledger row (lockUsage), and every path that changes these rows
 * takes that lock in the same transaction, so the counts and the ledger are compared at one
 * consistent point.
 */
export async function actualUsage(
  tx: Tx,
  p: { tenantId: string },
): Promise<Omit<ResourceCounts, 'publicIps'> & { publicIps: null }> {
  const [v] = await tx
    .select({
      vms: sql<number>`count(*)::int`,
      vcpus: sql<number>`coalesce(sum(${flavors.vcpus}), 0)::int`,
      ramMiB: sql<number>`coalesce(sum(${flavors.ramMib}), 0)::int`,
      diskGiB: sql<number>`coalesce(sum(${flavors.diskGib}), 0)::int`,
    })
    .from(vms)
    .innerJoin(flavors, eq(flavors.id, vms.flavorId))
    .where(and(eq(vms.tenantId, p.tenantId), ne(vms.desiredState, 'deleted')));
  const [vol] = await tx
    .select({
      volumes: sql<number>`count(*)::int`,
      diskGiB: sql<number>`coalesce(sum(${volumes.sizeGib}), 0)::int`,
    })
    .from(volumes)
    .where(
      and(
        eq(volumes.tenantId, p.tenantId),
        notInArray(volumes.status, ['deleting', 'deleted']),
        sql`(${volumes.vmId} IS NULL OR ${volumes.name} <> 'root-' || ${volumes.vmId}::text)`,
      ),
    );
  const [snap] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(snapshots)
    .where(and(eq(snapshots.tenantId, p.tenantId), ne(snapshots.status, 'deleting')));
  const [net] = await tx
    .select({ n: sql<number>`count(*)::int` })
    .from(networks)
    .where(and(eq(networks.tenantId, p.tenantId), ne(networks.status, 'deleting')));
  return {
    vcpus: v?.vcpus ?? 0,
    ramMiB: v?.ramMiB ?? 0,
    diskGiB: (v?.diskGiB ?? 0) + (vol?.diskGiB ?? 0),
    vms: v?.vms ?? 0,
    volumes: vol?.volumes ?? 0,
    snapshots: snap?.n ?? 0,
    networks: net?.n ?? 0,
    publicIps: null,
  };
}
