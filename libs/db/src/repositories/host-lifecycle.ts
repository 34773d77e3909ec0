/**
 * A host's life after enrolment: what its heartbeats record, the VMs placed on it and their
 * observed states, the monitor's "silent, so unreachable", and the operator's drain, enable and
 * disable. Hosts are global: callers run these in withPlatform. VMs are tenant-owned, but here
 * they are addressed by host (the host reports them); every VM write also filters by host, so a
 * report can only touch VMs placed on the host that sent it.
 *
 * Times come from the database's clock (`now()`), so API replicas and workers with skewed clocks
 * agree on how old a heartbeat is.
 */
import { and, asc, eq, inArray, isNotNull, lt, notInArray, sql } from 'drizzle-orm';
import type { Tx } from '../scope';
import { hosts, vms } from '../schema';
import type { HostRow } from './hosts';

type HostState = HostRow['state'];
type ObservedState = (typeof vms.$inferSelect)['observedState'];

/** The host row, locked until the transaction ends (heartbeats and operator changes serialise). */
export async function lockHost(tx: Tx, p: { id: string }): Promise<HostRow | undefined> {
  const [row] = await tx.select().from(hosts).where(eq(hosts.id, p.id)).for('update');
  return row;
}

/** Records a heartbeat's inventory and the state it leads to; lastHeartbeatAt is now(). */
export async function recordHeartbeat(
  tx: Tx,
  p: {
    id: string;
    state: HostState;
    cpus: number;
    ramMib: number;
    diskGib: number;
    securityModels: string[];
    acceleration: 'kvm' | 'tcg' | null;
    compliance: Record<string, unknown>;
  },
): Promise<HostRow> {
  const { id, ...values } = p;
  const [row] = await tx
    .update(hosts)
    .set({ ...values, lastHeartbeatAt: sql`now()`, updatedAt: sql`now()` })
    .where(eq(hosts.id, id))
    .returning();
  return row!;
}

export async function setHostState(
  tx: Tx,
  p: { id: string; state?: HostState; enabled?: boolean },
): Promise<HostRow> {
  const [row] = await tx
    .update(hosts)
    .set({
      ...(p.state ? { state: p.state } : {}),
      ...(p.enabled === undefined ? {} : { enabled: p.enabled }),
      updatedAt: sql`now()`,
    })
    .where(eq(hosts.id, p.id))
    .returning();
  return row!;
}

export interface VmOnHost {
  id: string;
  tenantId: string;
  name: string;
  desiredState: (typeof vms.$inferSelect)['desiredState'];
  observedState: ObservedState;
}

/** The VMs placed on a host, by name (platform scope: every tenant's). */
export function listVmsOnHost(tx: Tx, p: { hostId: string }): Promise<VmOnHost[]> {
  return tx
    .select({
      id: vms.id,
      tenantId: vms.tenantId,
      name: vms.name,
      desiredState: vms.desiredState,
      observedState: vms.observedState,
    })
    .from(vms)
    .where(eq(vms.hostId, p.hostId))
    .orderBy(asc(vms.name), asc(vms.id));
}

/** Sets one VM's observed state, only if it is placed on `hostId`; false when it is not. */
export async function setObservedStateOnHost(
  tx: Tx,
  p: { hostId: string; vmId: string; state: ObservedState },
): Promise<boolean> {
  const rows = await tx
    .update(vms)
    .set({ observedState: p.state, updatedAt: sql`now()` })
    .where(and(eq(vms.id, p.vmId), eq(vms.hostId, p.hostId)))
    .returning({ id: vms.id });
  return rows.length === 1;
}

/** Every VM on the host whose state is not in `except` becomes `unknown`; returns how many. */
export async function markVmsUnknownOnHost(
  tx: Tx,
  p: { hostId: string; except: readonly ObservedState[] },
): Promise<number> {
  const rows = await tx
    .update(vms)
    .set({ observedState: 'unknown', updatedAt: sql`now()` })
    .where(and(eq(vms.hostId, p.hostId), notInArray(vms.observedState, ['unknown', ...p.except])))
    .returning({ id: vms.id });
  return rows.length;
}

/**
 * The monitor's pass: every host that is `up` and whose last heartbeat is older than `timeoutMs`
 * becomes `unreachable`, and the VMs on every silent host (also draining or in maintenance, whose
 * operator state is kept) become `unknown`; deleted ones stay deleted. A host that has never sent
 * a heartbeat is not judged: its clock starts with its first one. Returns the hosts it marked.
 */
export async function markSilentHosts(
  tx: Tx,
  p: { timeoutMs: number },
): Promise<{ unreachable: Pick<HostRow, 'id' | 'name'>[]; vmsUnknown: number }> {
  const silent = and(
    isNotNull(hosts.lastHeartbeatAt),
    lt(hosts.lastHeartbeatAt, sql`now() - make_interval(secs => ${p.timeoutMs / 1000})`),
  );
  const unreachable = await tx
    .update(hosts)
    .set({ state: 'unreachable', updatedAt: sql`now()` })
    .where(and(eq(hosts.state, 'up'), silent))
    .returning({ id: hosts.id, name: hosts.name });
  const silentHosts = tx
    .select({ id: hosts.id })
    .from(hosts)
    .where(and(inArray(hosts.state, ['unreachable', 'draining', 'maintenance']), silent));
  const unknown = await tx
    .update(vms)
    .set({ observedState: 'unknown', updatedAt: sql`now()` })
    .where(
      and(inArray(vms.hostId, silentHosts), notInArray(vms.observedState, ['unknown', 'deleted'])),
    )
    .returning({ id: vms.id });
  return { unreachable, vmsUnknown: unknown.length };
}
