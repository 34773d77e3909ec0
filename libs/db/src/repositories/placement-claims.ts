/**
 * Placement claims: booking a host's capacity for a VM, atomically, so concurrent workers never
 * overcommit a host.
 *
 * The pure filters and weighers (libs/domain placement.ts) rank hosts from a snapshot that may be
 * stale by the time a worker acts on it. The claim re-checks the chosen host under its row lock
 * (`SELECT … FOR UPDATE` on the host) against the VMs placed on it at that moment, and only then
 * writes `vms.host_id`. Claims on one host therefore serialise; claims on different hosts do not.
 * A host that no longer fits is skipped for the next candidate, and a lost race on every candidate
 * re-reads the snapshot, a bounded number of times.
 *
 * Platform scope: placement sees every tenant's VMs on a host.
 */
import { and, eq, inArray, isNotNull, isNull, or, sql } from 'drizzle-orm';
import {
  place,
  rejectHost,
  summariseRejections,
  type ComplianceStatus,
  type PlaceOptions,
  type PlacementHost,
  type PlacementRequest,
  type Rejection,
} from '@palisade/domain';
import type { Db } from '../client';
import { withPlatform, type Tx } from '../scope';
import { flavors, hostFabrics, hosts, vms } from '../schema';

type HostRow = typeof hosts.$inferSelect;

function complianceOf(h: HostRow): ComplianceStatus {
  const status = (h.compliance as { status?: string } | null)?.status;
  if (status === 'compliant' || status === 'degraded') return 'compliant';
  if (status === 'non-compliant') return 'non_compliant';
  return 'unknown';
}

async function allocatedOn(tx: Tx, hostId: string) {
  const [row] = await tx
    .select({
      vcpus: sql<number>`coalesce(sum(${flavors.vcpus}), 0)::int`,
      ramMiB: sql<number>`coalesce(sum(${flavors.ramMib}), 0)::int`,
      diskGiB: sql<number>`coalesce(sum(${flavors.diskGib}), 0)::int`,
    })
    .from(vms)
    .innerJoin(flavors, eq(vms.flavorId, flavors.id))
    // A VM being migrated books both its host and its target until it switches.
    .where(or(eq(vms.hostId, hostId), eq(vms.migrationHostId, hostId)));
  return row!;
}

export async function toPlacementHost(tx: Tx, h: HostRow): Promise<PlacementHost> {
  const fabrics = await tx
    .select({ id: hostFabrics.fabricId })
    .from(hostFabrics)
    .where(eq(hostFabrics.hostId, h.id));
  return {
    id: h.id,
    enabled: h.enabled,
    state: h.state,
    capacity: { cpus: h.cpus, ramMiB: h.ramMib, diskGiB: h.diskGib },
    allocated: await allocatedOn(tx, h.id),
    securityModels: h.securityModels,
    allowWeakerIsolation: h.allowWeakerIsolation,
    acceleration: h.acceleration,
    fabrics: fabrics.map((f) => f.id),
    compliance: complianceOf(h),
  };
}

/** Every host (or those of `onlyHostIds`, e.g. an operator's target list) as placement sees it
 *  now: a snapshot, which claims re-check under lock. */
export async function loadPlacementHosts(
  tx: Tx,
  onlyHostIds?: readonly string[],
): Promise<PlacementHost[]> {
  const rows = await tx
    .select()
    .from(hosts)
    .where(onlyHostIds ? inArray(hosts.id, [...onlyHostIds]) : undefined);
  // One after the other: a transaction is one connection, and pg queues (and warns about)
  // queries issued while another is in flight.
  const out: PlacementHost[] = [];
  for (const h of rows) out.push(await toPlacementHost(tx, h));
  return out;
}

export type ClaimResult =
  | { ok: true; hostId: string; weakerIsolation: boolean }
  | { ok: false; reason: 'no_valid_host'; detail: string; rejections: readonly Rejection[] }
  | { ok: false; reason: 'vm_not_found'; detail: string };

/**
 * Places `vmId` and claims the host. Idempotent: a VM that already holds a host gets that host
 * back (a workflow step may run twice). `maxRounds` bounds how often a lost race re-reads the
 * snapshot.
 */
export async function claimPlacement(
  db: Db,
  p: {
    vmId: string;
    request: PlacementRequest;
    options: PlaceOptions;
    /** Consider only these hosts (an operator's target list, a migration's destinations). */
    onlyHostIds?: readonly string[];
    /** `migration`: claim a cold migration's target (`vms.migration_host_id`) for a VM that
     *  holds a host; the default claims the VM's own host. */
    slot?: 'host' | 'migration';
    maxRounds?: number;
  },
): Promise<ClaimResult> {
  let lastRejections: Rejection[] = [];
  const migration = p.slot === 'migration';
  for (let round = 0; round < (p.maxRounds ?? 5); round++) {
    const snapshot = await withPlatform(db, `placement of vm ${p.vmId}: snapshot`, async (tx) => {
      const [vm] = await tx
        .select({ hostId: vms.hostId, migrationHostId: vms.migrationHostId })
        .from(vms)
        .where(eq(vms.id, p.vmId));
      const held = migration ? vm?.migrationHostId : vm?.hostId;
      return vm ? { held, hosts: await loadPlacementHosts(tx, p.onlyHostIds) } : null;
    });
    if (!snapshot)
      return { ok: false, reason: 'vm_not_found', detail: `vm ${p.vmId} does not exist` };
    if (snapshot.held) return { ok: true, hostId: snapshot.held, weakerIsolation: false };
    const ranked = place(p.request, snapshot.hosts, p.options);
    if (!ranked.ok)
      return {
        ok: false,
        reason: 'no_valid_host',
        detail: ranked.detail,
        rejections: ranked.rejections,
      };
    lastRejections = [];
    for (const candidate of ranked.candidates) {
      const claimed = await withPlatform(
        db,
        `placement of vm ${p.vmId}: claim host ${candidate.hostId}`,
        async (tx) => {
          const [h] = await tx
            .select()
            .from(hosts)
            .where(eq(hosts.id, candidate.hostId))
            .for('update');
          if (!h) return { ok: false as const, rejection: null };
          const rejection = rejectHost(await toPlacementHost(tx, h), p.request, p.options);
          if (rejection) return { ok: false as const, rejection };
          const updated = await tx
            .update(vms)
            .set({ [migration ? 'migrationHostId' : 'hostId']: h.id, updatedAt: sql`now()` })
            .where(
              migration
                ? and(eq(vms.id, p.vmId), isNotNull(vms.hostId), isNull(vms.migrationHostId))
                : and(eq(vms.id, p.vmId), isNull(vms.hostId)),
            )
            .returning({ id: vms.id });
          return { ok: updated.length === 1, rejection: null };
        },
      );
      if (claimed.ok)
        return { ok: true, hostId: candidate.hostId, weakerIsolation: candidate.weakerIsolation };
      if (claimed.rejection) lastRejections.push(claimed.rejection);
      else break; // the VM was claimed (or the host removed) meanwhile: re-read
    }
  }
  return {
    ok: false,
    reason: 'no_valid_host',
    detail: summariseRejections(lastRejections),
    rejections: lastRejections,
  };
}

/** Gives the VM's host capacity back (compensation of a failed create, delete, migration). */
export async function releasePlacement(tx: Tx, vmId: string): Promise<void> {
  await tx
    .update(vms)
    .set({ hostId: null, updatedAt: sql`now()` })
    .where(eq(vms.id, vmId));
}
