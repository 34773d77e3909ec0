/**
 * One reconciler pass (docs/operations/reconciler.md): for every up host, compare what its agent
 * holds (`GET /v1/inventory`) with the database, then recount every tenant's quota usage, and
 * write one report row operators read.
 *
 * Per host:
 * - VMs placed there: the observed state is corrected from the host's report; a VM that should
 *   run and is shut off or crashed is restarted through a `vm.restart` operation when its
 *   restart policy is `always` (libs/domain restart-policy.ts decides), else reported as left.
 *   The decision is re-checked under the VM's row lock, the same lock the API's lifecycle
 *   actions take, and skipped if the VM changed after the host was asked.
 * - Domains, volume files and Palisade bridges no row accounts for are quarantined: recorded,
 *   reported, and left on the host.
 * - The one thing removed: the file of a volume whose row was crypto-erased (wrapped key gone,
 *   delete accepted) and that no domain on the host uses. That is provably safe: without the key
 *   the file is ciphertext nobody can open, and the tenant's delete was already accepted.
 *
 * Must never: delete or stop a domain it does not know, start a VM the tenant wants off, change a
 * VM while an operation owns it, or write a tenant's ledger without holding its usage row.
 */
import { randomUUID } from 'node:crypto';
import { Logger } from '@nestjs/common';
import {
  agentInventorySchema,
  REPORT_LIST_MAX,
  type AgentInventory,
  type ReconcileSummary,
} from '@palisade/contracts';
import {
  activeOperationOf,
  actualUsage,
  allTenantIds,
  countQuarantinePresent,
  databaseNow,
  deadlineCounts,
  getVm,
  hostsToReconcile,
  insertOperation,
  insertReconcileReport,
  lastReconcileReport,
  lockUsage,
  recordAudit,
  recordQuarantine,
  segmentsOfHostFabrics,
  uniqueViolation,
  updateVm,
  vmsByIds,
  vmsPlacedOn,
  volumesByIds,
  withPlatform,
  writeUsage,
  type Db,
  type QuarantineSighting,
  type ReconcileReportRow,
} from '@palisade/db';
import {
  observedStateOfDomain,
  restartDecision,
  RESTART_OPERATION_KIND,
  shouldRecordObserved,
  type LibvirtDomainState,
} from '@palisade/domain';
import { AgentClient, type ClientTls } from '../vms/agent-client';

/** As long as an API-accepted operation gets; the sweeper ends it after that. */
const RESTART_DEADLINE_MS = 60 * 60 * 1000;
const ACTOR = 'system:reconciler';
/** A pass asks every host in turn: one silent agent must not hold it for an image-download's time. */
const AGENT_TIMEOUT_MS = 60_000;

export interface ReconcileDeps {
  db: Db;
  tls: ClientTls;
  /** The worker running the pass (in the report). */
  worker: string;
  /** Limits a pass to some hosts and tenants. Production passes everything; tests share one
   *  database with other suites and must not act on their rows. */
  scope?: { hostIds?: string[]; tenantIds?: string[] };
}

type Host = { id: string; name: string; agentUrl: string | null };

const capped = <T>(list: T[], item: T) => {
  if (list.length < REPORT_LIST_MAX) list.push(item);
};

function emptySummary(): ReconcileSummary {
  return {
    hosts: { checked: 0, failed: [] },
    vms: { observedCorrected: 0, restarted: [], left: [], missing: [] },
    quarantine: { present: { domain: 0, volume: 0, segment: 0 }, new: 0, resolved: 0 },
    erasedVolumeFilesRemoved: [],
    deadlines: { overdueNow: 0, endedSinceLastReport: 0 },
    quota: { tenantsChecked: 0, corrected: [] },
  };
}

export async function reconcile(deps: ReconcileDeps): Promise<ReconcileReportRow> {
  const { db } = deps;
  const logger = new Logger('Reconciler');
  const tx = <T>(why: string, fn: Parameters<typeof withPlatform<T>>[2]) =>
    withPlatform(db, `reconciler: ${why}`, fn);
  const startedAt = new Date();
  const summary = emptySummary();
  // An id for the host calls this pass makes (the agent's POSTs carry an operation id).
  const passId = randomUUID();

  const hosts = await tx('hosts to check', (t) =>
    hostsToReconcile(t, { hostIds: deps.scope?.hostIds }),
  );
  for (const host of hosts) {
    try {
      await reconcileHost(host);
      summary.hosts.checked++;
    } catch (e) {
      const error = e instanceof Error ? e.message : String(e);
      logger.warn(`host ${host.name}: ${error}`);
      capped(summary.hosts.failed, { hostId: host.id, name: host.name, error });
    }
  }

  summary.quarantine.present = await tx('quarantine counts', (t) =>
    countQuarantinePresent(t, { hostIds: deps.scope?.hostIds }),
  );
  summary.deadlines = await tx('deadline counts', async (t) =>
    deadlineCounts(t, {
      now: await databaseNow(t),
      since: (await lastReconcileReport(t))?.startedAt ?? null,
    }),
  );
  await recountQuota();

  const findings =
    summary.hosts.failed.length +
    summary.vms.left.length +
    summary.vms.missing.length +
    summary.quarantine.new +
    summary.quota.corrected.length;
  const report = await tx('write report', (t) =>
    insertReconcileReport(t, { startedAt, worker: deps.worker, findings, summary }),
  );
  if (findings > 0) logger.warn(`pass ${report.id}: ${findings} finding(s)`);
  return report;

  async function reconcileHost(host: Host): Promise<void> {
    const agent = new AgentClient(host.agentUrl!, deps.tls, host.name, AGENT_TIMEOUT_MS);
    const askedAt = await tx('clock', databaseNow);
    const inventory = agentInventorySchema.parse(await agent.inventory());
    const placed = await tx(`vms on ${host.name}`, (t) => vmsPlacedOn(t, { hostId: host.id }));
    const domainOf = new Map(
      inventory.domains.filter((d) => d.vmId).map((d) => [d.vmId!, d] as const),
    );

    for (const vm of placed) {
      const domain = domainOf.get(vm.id);
      if (!domain) {
        const settling = ['building', 'deleting', 'deleted'].includes(vm.observedState);
        if (vm.desiredState !== 'deleted' && !vm.busy && !settling)
          capped(summary.vms.missing, {
            vmId: vm.id,
            tenantId: vm.tenantId,
            hostId: host.id,
            observedState: vm.observedState,
          });
        continue;
      }
      const [kind, state] = vm.lastOperation?.split(':') ?? [];
      await repairVm(host, vm.id, vm.tenantId, domain.state, askedAt, {
        kind: kind ?? '',
        state: state ?? '',
      });
    }

    const seen = await quarantineOf(host, inventory, new Set(placed.map((v) => v.id)));
    await removeErasedVolumeFiles(host, agent, inventory);
    const recorded = await tx(`quarantine on ${host.name}`, (t) =>
      recordQuarantine(t, { hostId: host.id, seen }),
    );
    summary.quarantine.new += recorded.new;
    summary.quarantine.resolved += recorded.resolved;
  }

  /** Corrects the observed state and restarts by policy, under the VM's row lock. */
  async function repairVm(
    host: Host,
    vmId: string,
    tenantId: string,
    hostState: LibvirtDomainState,
    askedAt: Date,
    lastOperation: { kind: string; state: string },
  ): Promise<void> {
    await tx(`vm ${vmId}: repair drift`, async (t) => {
      const vm = await getVm(t, { tenantId, id: vmId, forUpdate: true, includeDeleted: true });
      // Moved, or changed after the host was asked: the next pass sees it afresh.
      if (!vm || vm.hostId !== host.id || vm.updatedAt > askedAt) return;
      const active = await activeOperationOf(t, { tenantId, targetId: vmId });
      const reported = observedStateOfDomain(hostState);
      if (!active && shouldRecordObserved(vm.observedState, reported)) {
        await updateVm(t, { tenantId, id: vmId, set: { observedState: reported! } });
        summary.vms.observedCorrected++;
      }
      const decision = restartDecision({
        desiredState: vm.desiredState,
        hostState,
        restartPolicy: vm.restartPolicy,
        busy: active !== undefined,
        lastOperation,
      });
      const ref = { vmId, tenantId, hostId: host.id, was: hostState };
      if (decision.kind === 'leave') capped(summary.vms.left, { ...ref, reason: decision.reason });
      if (decision.kind !== 'restart') return;
      // A savepoint: losing the race for the one-active-operation index must not undo the
      // observed-state correction above.
      const op = await t
        .transaction((sp) =>
          insertOperation(sp, {
            tenantId,
            kind: RESTART_OPERATION_KIND,
            targetType: 'vm',
            targetId: vmId,
            actor: ACTOR,
            deadline: new Date(askedAt.getTime() + RESTART_DEADLINE_MS),
          }),
        )
        .catch((e: unknown) => {
          if (uniqueViolation(e) === 'operations_one_active_per_target') return null;
          throw e;
        });
      if (!op) {
        capped(summary.vms.left, { ...ref, reason: 'an operation on the VM is in progress' });
        return;
      }
      await recordAudit(t, {
        tenantId,
        actorType: 'system',
        actorId: ACTOR,
        actorName: 'reconciler',
        action: RESTART_OPERATION_KIND,
        targetType: 'vm',
        targetId: vmId,
        outcome: 'success',
        details: {
          operationId: op.id,
          reason: `found ${hostState} on host ${host.name}; restart policy always`,
        },
      });
      capped(summary.vms.restarted, { ...ref, operationId: op.id });
    });
  }

  /** What on the host no row accounts for. */
  async function quarantineOf(
    host: Host,
    inventory: AgentInventory,
    placedHere: Set<string>,
  ): Promise<QuarantineSighting[]> {
    const seen: QuarantineSighting[] = [];
    const claimed = inventory.domains.filter((d) => d.vmId && !placedHere.has(d.vmId));
    const rows = new Map(
      (await tx('claimed vms', (t) => vmsByIds(t, { ids: claimed.map((d) => d.vmId!) }))).map(
        (r) => [r.id, r],
      ),
    );
    for (const d of inventory.domains) {
      const base = {
        kind: 'domain' as const,
        ref: d.uuid,
        name: d.name,
        vmId: d.vmId ?? null,
        tenantId: d.tenantId ?? null,
        state: d.state,
      };
      if (!d.vmId) {
        seen.push({ ...base, reason: 'foreign' });
        continue;
      }
      if (placedHere.has(d.vmId)) continue;
      const row = rows.get(d.vmId);
      // A VM with an operation under way may be arriving (a migration): not a finding yet.
      if (row?.busy) continue;
      seen.push({ ...base, reason: row ? 'other_host' : 'no_row' });
    }

    const ids = inventory.volumes.flatMap((v) => (v.volumeId ? [v.volumeId] : []));
    const volumeRows = new Map(
      (await tx('volume rows', (t) => volumesByIds(t, { ids }))).map((r) => [r.id, r]),
    );
    for (const v of inventory.volumes) {
      const base = { kind: 'volume' as const, ref: v.file, name: null, state: null };
      if (!v.volumeId) {
        seen.push({ ...base, reason: 'foreign', vmId: null, tenantId: null });
        continue;
      }
      const row = volumeRows.get(v.volumeId);
      if (row && (row.hostId === null || row.hostId === host.id)) continue;
      seen.push({
        ...base,
        reason: row ? 'other_host' : 'no_row',
        vmId: null,
        tenantId: row?.tenantId ?? null,
      });
    }

    const known = new Set(
      (await tx('segments', (t) => segmentsOfHostFabrics(t, { hostId: host.id }))).map(
        (s) => `${s.type}:${s.id}`,
      ),
    );
    for (const s of inventory.segments)
      if (!known.has(`${s.type}:${s.id}`))
        seen.push({
          kind: 'segment',
          ref: s.bridge,
          name: null,
          reason: 'no_network',
          vmId: null,
          tenantId: null,
          state: null,
        });
    return seen;
  }

  /** Files of crypto-erased volumes whose delete was accepted and that no domain uses. */
  async function removeErasedVolumeFiles(
    host: Host,
    agent: AgentClient,
    inventory: AgentInventory,
  ): Promise<void> {
    const inUse = new Set(inventory.domains.flatMap((d) => d.volumeIds));
    const ids = inventory.volumes.flatMap((v) =>
      v.volumeId && !inUse.has(v.volumeId) ? [v.volumeId] : [],
    );
    const rows = await tx('erased volumes', (t) => volumesByIds(t, { ids }));
    for (const row of rows) {
      const erased = row.erased && (row.status === 'deleting' || row.status === 'deleted');
      if (!erased || (row.hostId !== null && row.hostId !== host.id)) continue;
      await agent.deleteVolume(passId, row.id);
      capped(summary.erasedVolumeFilesRemoved, { volumeId: row.id, hostId: host.id });
    }
  }

  /**
   * Each tenant's ledger against its real resources, under its usage row lock (ledger first, as
   * the API's paths that count resources take it; the counts are plain reads, so this adds no
   * lock the API could wait on in the other order). Public IPs are not counted by anything yet:
   * their ledger value is kept.
   */
  async function recountQuota(): Promise<void> {
    const tenantIds = await tx('tenants', (t) => allTenantIds(t, { ids: deps.scope?.tenantIds }));
    for (const tenantId of tenantIds) {
      await tx(`tenant ${tenantId}: quota recount`, async (t) => {
        const { usage: ledger } = await lockUsage(t, { tenantId });
        const counted = await actualUsage(t, { tenantId });
        const actual = { ...counted, publicIps: ledger.publicIps };
        const differs = (Object.keys(actual) as (keyof typeof actual)[]).some(
          (k) => actual[k] !== ledger[k],
        );
        summary.quota.tenantsChecked++;
        if (!differs) return;
        await writeUsage(t, { tenantId, usage: actual });
        await recordAudit(t, {
          tenantId,
          actorType: 'system',
          actorId: ACTOR,
          actorName: 'reconciler',
          action: 'quota.usage.recount',
          targetType: 'tenant',
          targetId: tenantId,
          outcome: 'success',
          details: { ledger, actual },
        });
        capped(summary.quota.corrected, { tenantId, ledger: { ...ledger }, actual });
      });
    }
  }
}
