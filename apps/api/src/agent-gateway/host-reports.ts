/**
 * What hosts report through the gateway: heartbeats with their inventory, and batches from their
 * libvirt event queue. The host is the one its client certificate names, and only with the
 * certificate the control plane last issued to it; nothing in a body can name another host, and
 * a report touches only VMs placed on the reporting host. Events about anything else are counted,
 * logged and dropped.
 *
 * Audited sparingly: a heartbeat every few seconds per host would drown the trail, so only a
 * change of the host's state (unreachable -> up) is recorded.
 */
import {
  type EventBatch,
  type EventBatchResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type ReportedDomain,
} from '@palisade/contracts';
import {
  getHostByName,
  listVmsOnHost,
  lockHost,
  markVmsUnknownOnHost,
  recordAudit,
  recordHeartbeat,
  setObservedStateOnHost,
  withPlatform,
  type Db,
  type HostRow,
  type Tx,
  type VmOnHost,
} from '@palisade/db';
import {
  hostStateAfterHeartbeat,
  observedStateOfDomain,
  observedStateOfEvent,
  shouldRecordObserved,
  WORKFLOW_OWNED_STATES,
} from '@palisade/domain';
import type { GatewayRequestContext } from './enrol';
import { certificateRejected, hostCertificateOf, type ClientCertificate } from './renew';

export interface ReportLog {
  warn(message: string): void;
}

/** The calling host, locked for this transaction; refused unless the certificate is its current one. */
async function reportingHost(tx: Tx, client: ClientCertificate): Promise<HostRow> {
  const { name, fingerprint } = hostCertificateOf(client);
  const byName = await getHostByName(tx, { name });
  const host = byName && (await lockHost(tx, { id: byName.id }));
  if (!host || host.certFingerprint !== fingerprint)
    throw certificateRejected('this certificate is no longer the one issued to the host');
  return host;
}

/**
 * Records the observed state every listed Palisade VM implies. VMs placed on the host but absent
 * from the list are left alone (a VM being built has no domain yet). Returns how many VMs
 * changed and how many listed domains are not Palisade VMs of this host.
 */
async function applyInventory(
  tx: Tx,
  host: HostRow,
  vms: Map<string, VmOnHost>,
  domains: ReportedDomain[],
): Promise<{ updated: number; foreign: number }> {
  let updated = 0;
  let foreign = 0;
  for (const d of domains) {
    const vm = d.vmId ? vms.get(d.vmId) : undefined;
    if (!vm) {
      foreign++;
      continue;
    }
    const next = observedStateOfDomain(d.state);
    if (next && shouldRecordObserved(vm.observedState, next)) {
      await setObservedStateOnHost(tx, { hostId: host.id, vmId: vm.id, state: next });
      vm.observedState = next;
      updated++;
    }
  }
  return { updated, foreign };
}

const systemActor = (host: HostRow) => ({
  tenantId: null,
  actorType: 'system' as const,
  actorId: `host:${host.name}`,
  actorName: host.name,
});

export async function recordHostHeartbeat(
  deps: { db: Db },
  client: ClientCertificate,
  input: HeartbeatRequest,
  ctx: GatewayRequestContext,
  log: ReportLog,
): Promise<HeartbeatResponse> {
  // The certificate is checked before the transaction so a stranger costs no database lock.
  hostCertificateOf(client);
  return withPlatform(deps.db, 'record a host heartbeat', async (tx) => {
    const host = await reportingHost(tx, client);
    const state = hostStateAfterHeartbeat(host.state);
    const row = await recordHeartbeat(tx, {
      id: host.id,
      state,
      cpus: input.capacity.cpus,
      ramMib: input.capacity.ramMib,
      diskGib: input.capacity.diskGib,
      securityModels: input.securityModels,
      acceleration: input.acceleration,
      compliance: input.compliance,
    });
    if (state !== host.state) {
      await recordAudit(tx, {
        ...systemActor(host),
        action: 'host.state.change',
        targetType: 'host',
        targetId: host.id,
        requestId: ctx.requestId,
        sourceIp: ctx.sourceIp,
        outcome: 'success',
        details: { from: host.state, to: state, reason: 'heartbeat received' },
      });
    }
    if (!input.domains) {
      // The agent is alive but could not ask libvirt: what its guests do is not known.
      const unknown = await markVmsUnknownOnHost(tx, {
        hostId: host.id,
        except: WORKFLOW_OWNED_STATES,
      });
      log.warn(`host ${host.name} could not list its domains; ${unknown} VM(s) now unknown`);
      return { hostId: row.id, state: row.state, vmsUpdated: unknown, foreignDomains: 0 };
    }
    const vms = new Map((await listVmsOnHost(tx, { hostId: host.id })).map((v) => [v.id, v]));
    const { updated, foreign } = await applyInventory(tx, host, vms, input.domains);
    if (foreign > 0) log.warn(`host ${host.name} runs ${foreign} domain(s) that are not its VMs`);
    return { hostId: row.id, state: row.state, vmsUpdated: updated, foreignDomains: foreign };
  });
}

export async function recordHostEvents(
  deps: { db: Db },
  client: ClientCertificate,
  input: EventBatch,
  _ctx: GatewayRequestContext,
  log: ReportLog,
): Promise<EventBatchResponse> {
  hostCertificateOf(client);
  return withPlatform(deps.db, 'record host lifecycle events', async (tx) => {
    const host = await reportingHost(tx, client);
    const vms = new Map((await listVmsOnHost(tx, { hostId: host.id })).map((v) => [v.id, v]));
    let updated = 0;
    const ignored: string[] = [];
    // In sequence order: a later event about the same VM wins.
    for (const e of [...input.events].sort((a, b) => a.seq - b.seq)) {
      if (e.kind !== 'lifecycle') continue;
      const vm = e.vmId ? vms.get(e.vmId) : undefined;
      if (!vm) {
        ignored.push(`${e.name} ${e.event}/${e.detail}`);
        continue;
      }
      const next = observedStateOfEvent(e.event, e.detail);
      if (next && shouldRecordObserved(vm.observedState, next)) {
        await setObservedStateOnHost(tx, { hostId: host.id, vmId: vm.id, state: next });
        vm.observedState = next;
        updated++;
      }
    }
    if (input.domains) updated += (await applyInventory(tx, host, vms, input.domains)).updated;
    if (ignored.length > 0)
      log.warn(
        `host ${host.name}: ignored ${ignored.length} event(s) about domains that are not its VMs: ${ignored.slice(0, 5).join(', ')}`,
      );
    return {
      acknowledged: Math.max(...input.events.map((e) => e.seq)),
      vmsUpdated: updated,
      ignored: ignored.length,
    };
  });
}
