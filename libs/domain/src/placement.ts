/**
 * Placement: which hosts can run a VM, and in which order to try them. Filters remove hosts that
 * cannot (state, compliance, isolation, acceleration, fabrics, affinity, capacity under allocation
 * ratios); a weigher orders the rest (spread or pack). The worker then claims capacity on the first
 * candidate with an atomic UPDATE in Postgres and moves to the next one if it lost the race: this
 * module never books anything, it only ranks.
 *
 * A host that can enforce sVirt always ranks before one that passes only because its operator
 * allowed weaker isolation, whatever the weigher says: weaker isolation is a fallback, never a
 * tie-breaker.
 *
 * Must never be nondeterministic: the same hosts and request give the same order (ties broken by
 * host ID), so a failed placement can be replayed and explained.
 */
import { z } from 'zod';

export type HostState = 'enrolling' | 'up' | 'unreachable' | 'draining' | 'maintenance';
export type Acceleration = 'kvm' | 'tcg';
export type ComplianceStatus = 'compliant' | 'non_compliant' | 'unknown';
export type Weigher = 'spread' | 'pack';

/** The security models that make sVirt possible; libvirt also reports `dac` and `none`. */
export const SVIRT_SECURITY_MODELS: readonly string[] = ['selinux', 'apparmor'];

/** Physical amounts the host has. */
export interface HostCapacity {
  readonly cpus: number;
  readonly ramMiB: number;
  readonly diskGiB: number;
}

/** What VMs on the host have claimed (vCPUs, not CPUs). */
export interface HostAllocation {
  readonly vcpus: number;
  readonly ramMiB: number;
  readonly diskGiB: number;
}

export interface AllocationRatios {
  readonly cpu: number;
  readonly ram: number;
  readonly disk: number;
}

/**
 * CPU 4:1 because idle vCPUs cost nothing and cgroup shares keep a busy one fair; RAM and disk
 * 1:1 because overcommitting them ends in the OOM killer or ENOSPC inside a tenant's VM.
 */
export const DEFAULT_ALLOCATION_RATIOS: AllocationRatios = Object.freeze({
  cpu: 4,
  ram: 1,
  disk: 1,
});

const ratio = (name: string) =>
  z
    .number({ error: `${name} must be a number` })
    .positive({ error: `${name} must be greater than 0` })
    .max(64, { error: `${name} must be at most 64` });

/** For the worker's config: cluster-wide ratios, each optional. */
export const allocationRatiosSchema = z.object({
  cpu: ratio('allocationRatios.cpu').optional(),
  ram: ratio('allocationRatios.ram').optional(),
  disk: ratio('allocationRatios.disk').optional(),
});

export interface PlacementHost {
  readonly id: string;
  readonly enabled: boolean;
  readonly state: HostState;
  readonly capacity: HostCapacity;
  /** Held back for the host itself (its OS, the agent, QEMU overhead), in physical units. */
  readonly reserved?: Partial<HostCapacity>;
  readonly allocated: HostAllocation;
  /** Overrides of the cluster ratios for this host. */
  readonly allocationRatios?: Partial<AllocationRatios>;
  /** As libvirt reports them, e.g. ['selinux', 'dac'] or ['none', 'dac']. */
  readonly securityModels: readonly string[];
  /** The operator's explicit acceptance of weaker isolation on this host. */
  readonly allowWeakerIsolation: boolean;
  /** null until the agent has probed it. */
  readonly acceleration: Acceleration | null;
  /** IDs of the network fabrics the host is wired to. */
  readonly fabrics: readonly string[];
  readonly compliance: ComplianceStatus;
}

export interface PlacementGroup {
  readonly id: string;
  readonly policy: 'affinity' | 'anti-affinity';
  /** Hosts running the group's other members (the VM being placed left out). */
  readonly hostIds: readonly string[];
}

export interface PlacementRequest {
  readonly vcpus: number;
  readonly ramMiB: number;
  readonly diskGiB: number;
  /** From the flavor: `required` fails closed unless the host allows weaker isolation. */
  readonly svirt: 'required' | 'preferred';
  /** `kvm` only where the agent found working KVM; `any` (default) also takes TCG hosts. */
  readonly acceleration?: 'kvm' | 'any';
  /** Fabrics of the VM's networks: the host must reach every one. */
  readonly fabrics: readonly string[];
  readonly groups?: readonly PlacementGroup[];
  /** Hosts not to use: a migration's source, a host whose claim just failed. */
  readonly excludeHostIds?: readonly string[];
}

export interface PlaceOptions {
  readonly weigher: Weigher;
  /** Cluster-wide ratios; each host may override them. */
  readonly allocationRatios?: Partial<AllocationRatios>;
}

/** Why a host was filtered out. Codes are stable: logs and the admin UI count by them. */
export const REJECT_CODES = [
  'excluded',
  'disabled',
  'enrolling',
  'unreachable',
  'draining',
  'maintenance',
  'not_compliant',
  'compliance_unknown',
  'no_svirt',
  'acceleration_unknown',
  'no_kvm',
  'fabric_unreachable',
  'affinity',
  'anti_affinity',
  'lack_vcpus',
  'lack_ram',
  'lack_disk',
] as const;
export type RejectCode = (typeof REJECT_CODES)[number];

/** The summary's verb phrase for one host and for several: "1 is draining", "3 hosts lack RAM". */
const PHRASES: Readonly<Record<RejectCode, readonly [one: string, many: string]>> = {
  excluded: ['was excluded', 'were excluded'],
  disabled: ['is disabled', 'are disabled'],
  enrolling: ['is still enrolling', 'are still enrolling'],
  unreachable: ['is unreachable', 'are unreachable'],
  draining: ['is draining', 'are draining'],
  maintenance: ['is in maintenance', 'are in maintenance'],
  not_compliant: ['is not compliant', 'are not compliant'],
  compliance_unknown: ['has no compliance report', 'have no compliance report'],
  no_svirt: ['cannot enforce sVirt', 'cannot enforce sVirt'],
  acceleration_unknown: [
    'has not reported its acceleration',
    'have not reported their acceleration',
  ],
  no_kvm: ['lacks KVM', 'lack KVM'],
  fabric_unreachable: ['cannot reach a required fabric', 'cannot reach a required fabric'],
  affinity: ['is outside the affinity group', 'are outside the affinity group'],
  anti_affinity: [
    'already runs a member of the anti-affinity group',
    'already run a member of the anti-affinity group',
  ],
  lack_vcpus: ['lacks vCPUs', 'lack vCPUs'],
  lack_ram: ['lacks RAM', 'lack RAM'],
  lack_disk: ['lacks disk', 'lack disk'],
};

export interface Rejection {
  readonly hostId: string;
  readonly code: RejectCode;
  /** One host's reason in full, e.g. "needs 4096 MiB of RAM, 1024 of 8192 MiB left". */
  readonly detail: string;
}

type Reject = { code: RejectCode; detail: string };
type Check = (
  host: PlacementHost,
  request: PlacementRequest,
  ratios: AllocationRatios,
) => Reject | null;

/** Effective capacity: (physical - reserved) × ratio, the Placement API's formula. */
function effective(host: PlacementHost, ratios: AllocationRatios): HostAllocation {
  const r = host.reserved ?? {};
  const scaled = (total: number, reserved: number | undefined, k: number) =>
    Math.max(0, Math.floor((total - (reserved ?? 0)) * k));
  return {
    vcpus: scaled(host.capacity.cpus, r.cpus, ratios.cpu),
    ramMiB: scaled(host.capacity.ramMiB, r.ramMiB, ratios.ram),
    diskGiB: scaled(host.capacity.diskGiB, r.diskGiB, ratios.disk),
  };
}

/** Worded like the quota messages: "needs 4 vCPUs, 2 of 16 left", "… 512 of 8192 MiB left". */
const capacityCheck =
  (key: keyof HostAllocation, code: RejectCode, one: string, many: string, unit = ''): Check =>
  (host, request, ratios) => {
    const total = effective(host, ratios)[key];
    const left = Math.max(0, total - host.allocated[key]);
    const need = request[key];
    if (need <= left) return null;
    const of = unit ? `${total} ${unit}` : `${total}`;
    return { code, detail: `needs ${need} ${need === 1 ? one : many}, ${left} of ${of} left` };
  };

const providesSvirt = (host: PlacementHost) =>
  host.securityModels.some((m) => SVIRT_SECURITY_MODELS.includes(m));

/** In order: the first failing check names the host's reason (cheap and coarse ones first). */
const FILTERS: readonly Check[] = [
  (host, request) =>
    request.excludeHostIds?.includes(host.id)
      ? { code: 'excluded', detail: 'excluded by the request' }
      : null,
  (host) => (host.enabled ? null : { code: 'disabled', detail: 'disabled by an operator' }),
  (host) =>
    host.state === 'up' ? null : { code: host.state, detail: `host state is ${host.state}` },
  (host) =>
    host.compliance === 'compliant'
      ? null
      : host.compliance === 'non_compliant'
        ? { code: 'not_compliant', detail: 'failed its last compliance check' }
        : { code: 'compliance_unknown', detail: 'has not reported compliance yet' },
  (host, request) =>
    request.svirt === 'preferred' || providesSvirt(host) || host.allowWeakerIsolation
      ? null
      : {
          code: 'no_svirt',
          detail: `sVirt required; security models are ${host.securityModels.join(', ') || 'none'}`,
        },
  (host, request) => {
    if (host.acceleration === null)
      return { code: 'acceleration_unknown', detail: 'acceleration not probed yet' };
    if ((request.acceleration ?? 'any') === 'kvm' && host.acceleration !== 'kvm')
      return { code: 'no_kvm', detail: `KVM required; host has ${host.acceleration}` };
    return null;
  },
  (host, request) => {
    const missing = request.fabrics.filter((f) => !host.fabrics.includes(f));
    return missing.length === 0
      ? null
      : { code: 'fabric_unreachable', detail: `not on fabric ${missing.join(', ')}` };
  },
  (host, request) => {
    for (const g of request.groups ?? [])
      if (g.policy === 'affinity' && g.hostIds.length > 0 && !g.hostIds.includes(host.id))
        return {
          code: 'affinity',
          detail: `affinity group ${g.id} runs on ${g.hostIds.join(', ')}`,
        };
    return null;
  },
  (host, request) => {
    for (const g of request.groups ?? [])
      if (g.policy === 'anti-affinity' && g.hostIds.includes(host.id))
        return { code: 'anti_affinity', detail: `runs a member of anti-affinity group ${g.id}` };
    return null;
  },
  capacityCheck('vcpus', 'lack_vcpus', 'vCPU', 'vCPUs'),
  capacityCheck('ramMiB', 'lack_ram', 'MiB of RAM', 'MiB of RAM', 'MiB'),
  capacityCheck('diskGiB', 'lack_disk', 'GiB of disk', 'GiB of disk', 'GiB'),
];

function resolveRatios(host: PlacementHost, options: PlaceOptions): AllocationRatios {
  // Later layers win, but an explicit `undefined` (an optional config key) keeps the layer below.
  const r = { ...DEFAULT_ALLOCATION_RATIOS };
  for (const layer of [options.allocationRatios, host.allocationRatios])
    for (const k of ['cpu', 'ram', 'disk'] as const) {
      const v = layer?.[k];
      if (v !== undefined) r[k] = v;
    }
  for (const [k, v] of Object.entries(r))
    if (!(Number.isFinite(v) && v > 0))
      throw new RangeError(`allocation ratio ${k} must be > 0, got ${v}`);
  return r;
}

function assertRequest(request: PlacementRequest): void {
  for (const key of ['vcpus', 'ramMiB', 'diskGiB'] as const)
    if (!Number.isSafeInteger(request[key]) || request[key] < 0)
      throw new RangeError(
        `placement request ${key} must be a non-negative integer, got ${request[key]}`,
      );
}

/** Runs the filters on one host: null if it can take the VM (for "why not this host?"). */
export function rejectHost(
  host: PlacementHost,
  request: PlacementRequest,
  options: PlaceOptions,
): Rejection | null {
  assertRequest(request);
  const ratios = resolveRatios(host, options);
  for (const check of FILTERS) {
    const r = check(host, request, ratios);
    if (r) return { hostId: host.id, ...r };
  }
  return null;
}

export interface Candidate {
  readonly hostId: string;
  /** true when the host passed only because its operator allowed weaker isolation. */
  readonly weakerIsolation: boolean;
  /** The tightest resource's free fraction after placement, 0..1 (what the weigher ranks by). */
  readonly weight: number;
  /** What would be left after placement, in effective (ratio-scaled) units. */
  readonly freeAfter: HostAllocation;
}

export type PlaceResult =
  | { readonly ok: true; readonly candidates: readonly Candidate[] }
  | {
      readonly ok: false;
      readonly reason: 'no_valid_host';
      /** e.g. "no host fits: 3 hosts lack RAM, 1 is draining". */
      readonly detail: string;
      readonly counts: readonly { readonly code: RejectCode; readonly hosts: number }[];
      /** Sorted by host ID. */
      readonly rejections: readonly Rejection[];
    };

function candidate(
  host: PlacementHost,
  request: PlacementRequest,
  ratios: AllocationRatios,
): Candidate & { mean: number } {
  const total = effective(host, ratios);
  const keys = ['vcpus', 'ramMiB', 'diskGiB'] as const;
  const freeAfter = {
    vcpus: total.vcpus - host.allocated.vcpus - request.vcpus,
    ramMiB: total.ramMiB - host.allocated.ramMiB - request.ramMiB,
    diskGiB: total.diskGiB - host.allocated.diskGiB - request.diskGiB,
  };
  // A resource the host has none of (diskless, boot from network storage) cannot be a bottleneck.
  const fractions = keys.filter((k) => total[k] > 0).map((k) => freeAfter[k] / total[k]);
  return {
    hostId: host.id,
    weakerIsolation: !providesSvirt(host),
    weight: fractions.length ? Math.min(...fractions) : 0,
    mean: fractions.length ? fractions.reduce((a, b) => a + b, 0) / fractions.length : 0,
    freeAfter,
  };
}

/** "no host fits: 3 hosts lack RAM, 1 is draining": most common reason first. */
export function summariseRejections(rejections: readonly Rejection[]): string {
  if (rejections.length === 0) return 'no host fits: there are no hosts';
  const counts = countRejections(rejections);
  const parts = counts.map(({ code, hosts }, i) => {
    const [one, many] = PHRASES[code];
    const noun = i === 0 ? (hosts === 1 ? ' host' : ' hosts') : '';
    return `${hosts}${noun} ${hosts === 1 ? one : many}`;
  });
  return `no host fits: ${parts.join(', ')}`;
}

function countRejections(rejections: readonly Rejection[]) {
  const byCode = new Map<RejectCode, number>();
  for (const r of rejections) byCode.set(r.code, (byCode.get(r.code) ?? 0) + 1);
  return [...byCode]
    .map(([code, hosts]) => ({ code, hosts }))
    .sort(
      (a, b) => b.hosts - a.hosts || REJECT_CODES.indexOf(a.code) - REJECT_CODES.indexOf(b.code),
    );
}

export function place(
  request: PlacementRequest,
  hosts: readonly PlacementHost[],
  options: PlaceOptions,
): PlaceResult {
  assertRequest(request);
  const passed: (Candidate & { mean: number })[] = [];
  const rejections: Rejection[] = [];
  for (const host of hosts) {
    const rejection = rejectHost(host, request, options);
    if (rejection) rejections.push(rejection);
    else passed.push(candidate(host, request, resolveRatios(host, options)));
  }
  const byId = (a: { hostId: string }, b: { hostId: string }) =>
    a.hostId < b.hostId ? -1 : a.hostId > b.hostId ? 1 : 0;
  rejections.sort(byId);
  if (passed.length === 0)
    return {
      ok: false,
      reason: 'no_valid_host',
      detail: summariseRejections(rejections),
      counts: countRejections(rejections),
      rejections,
    };
  const sign = options.weigher === 'spread' ? -1 : 1;
  passed.sort(
    (a, b) =>
      Number(a.weakerIsolation) - Number(b.weakerIsolation) ||
      sign * (a.weight - b.weight) ||
      sign * (a.mean - b.mean) ||
      byId(a, b),
  );
  return { ok: true, candidates: passed.map(({ mean: _mean, ...c }) => c) };
}
