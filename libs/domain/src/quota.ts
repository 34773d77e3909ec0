/**
 * Quota arithmetic: what a tenant may still consume, what a request needs, and what it frees.
 * The worker and API lock the tenant's usage row (SELECT … FOR UPDATE), call `checkQuota`, and
 * write the new usage in the same transaction; this module decides, the database serialises.
 *
 * A shortfall is an expected outcome and comes back as a value naming every resource that is
 * short, so the tenant learns everything at once rather than one refusal per retry.
 *
 * Must never produce negative usage, and never let a shrink or a zero request fail because an
 * operator lowered a limit below current usage: quotas stop growth, they do not punish.
 */
import { z } from 'zod';

export const RESOURCE_KEYS = [
  'vcpus',
  'ramMiB',
  'diskGiB',
  'vms',
  'volumes',
  'snapshots',
  'networks',
  'publicIps',
] as const;

export type ResourceKey = (typeof RESOURCE_KEYS)[number];
export type Resources = { readonly [K in ResourceKey]: number };

const count = (key: string) =>
  z
    .number({ error: `${key} must be a number` })
    .int({ error: `${key} must be an integer` })
    .min(0, { error: `${key} must not be negative` })
    .max(2 ** 31 - 1, { error: `${key} must be at most ${2 ** 31 - 1}` });

/** Limits and usage share this shape; the bound is Postgres `integer`, which stores them. */
export const resourcesSchema = z.object(
  Object.fromEntries(RESOURCE_KEYS.map((k) => [k, count(k)])) as Record<
    ResourceKey,
    ReturnType<typeof count>
  >,
);

export const ZERO_RESOURCES: Resources = Object.freeze({
  vcpus: 0,
  ramMiB: 0,
  diskGiB: 0,
  vms: 0,
  volumes: 0,
  snapshots: 0,
  networks: 0,
  publicIps: 0,
});

/** Fills unspecified resources with 0, so a request can name only what it needs. */
export function resources(partial: Partial<Resources> = {}): Resources {
  return { ...ZERO_RESOURCES, ...partial };
}

/** Inputs come from the database or validated API input; anything else is a broken invariant. */
function assertCounts(r: Partial<Resources>, what: string, complete: boolean): void {
  for (const key of RESOURCE_KEYS) {
    const v = r[key];
    if (v === undefined && !complete) continue;
    if (!Number.isSafeInteger(v) || (v as number) < 0)
      throw new RangeError(`${what}.${key} must be a non-negative integer, got ${v}`);
  }
}

const UNITS: Record<ResourceKey, { one: string; many: string; unit?: string }> = {
  vcpus: { one: 'vCPU', many: 'vCPUs' },
  ramMiB: { one: 'MiB of RAM', many: 'MiB of RAM', unit: 'MiB' },
  diskGiB: { one: 'GiB of disk', many: 'GiB of disk', unit: 'GiB' },
  vms: { one: 'VM', many: 'VMs' },
  volumes: { one: 'volume', many: 'volumes' },
  snapshots: { one: 'snapshot', many: 'snapshots' },
  networks: { one: 'network', many: 'networks' },
  publicIps: { one: 'public IP', many: 'public IPs' },
};

export interface Shortfall {
  readonly resource: ResourceKey;
  readonly requested: number;
  readonly used: number;
  readonly limit: number;
  /** max(0, limit - used): usage may exceed a limit an operator lowered. */
  readonly available: number;
  /** e.g. "needs 4 vCPUs, 2 of 8 left". */
  readonly message: string;
}

export type QuotaCheck =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: 'quota_exceeded';
      readonly shortfalls: readonly Shortfall[];
      /** Every shortfall's message joined with "; ". */
      readonly detail: string;
    };

function shortfallMessage(key: ResourceKey, requested: number, available: number, limit: number) {
  const u = UNITS[key];
  const need = `needs ${requested} ${requested === 1 ? u.one : u.many}`;
  const left = u.unit ? `${available} of ${limit} ${u.unit} left` : `${available} of ${limit} left`;
  return `${need}, ${left}`;
}

/** Whether `request` fits in what `limits` leave after `usage`, listing every resource short. */
export function checkQuota(
  limits: Resources,
  usage: Resources,
  request: Partial<Resources>,
): QuotaCheck {
  assertCounts(limits, 'limits', true);
  assertCounts(usage, 'usage', true);
  assertCounts(request, 'request', false);
  const shortfalls: Shortfall[] = [];
  for (const key of RESOURCE_KEYS) {
    const requested = request[key] ?? 0;
    if (requested === 0) continue;
    const available = Math.max(0, limits[key] - usage[key]);
    if (requested > available)
      shortfalls.push({
        resource: key,
        requested,
        used: usage[key],
        limit: limits[key],
        available,
        message: shortfallMessage(key, requested, available, limits[key]),
      });
  }
  if (shortfalls.length === 0) return { ok: true };
  return {
    ok: false,
    reason: 'quota_exceeded',
    shortfalls,
    detail: shortfalls.map((s) => s.message).join('; '),
  };
}

export function addResources(a: Resources, b: Partial<Resources>): Resources {
  assertCounts(a, 'a', true);
  assertCounts(b, 'b', false);
  const out = { ...ZERO_RESOURCES } as Record<ResourceKey, number>;
  for (const key of RESOURCE_KEYS) out[key] = a[key] + (b[key] ?? 0);
  return out;
}

/**
 * Releases `b` from usage `a`, flooring each resource at zero. `underflow` lists what was released
 * but not there: the ledger disagreed with reality (the caller logs it; the metering pass
 * recomputes usage from the rows), which must not block a deletion.
 */
export function subtractResources(
  a: Resources,
  b: Partial<Resources>,
): { value: Resources; underflow: Partial<Resources> } {
  assertCounts(a, 'a', true);
  assertCounts(b, 'b', false);
  const out = { ...ZERO_RESOURCES } as Record<ResourceKey, number>;
  const underflow: Partial<Record<ResourceKey, number>> = {};
  for (const key of RESOURCE_KEYS) {
    const diff = a[key] - (b[key] ?? 0);
    out[key] = Math.max(0, diff);
    if (diff < 0) underflow[key] = -diff;
  }
  return { value: out, underflow };
}

export interface ResourceDelta {
  /** What the change consumes: checked against quota before the change. */
  readonly grow: Resources;
  /** What the change frees: released once the change has happened. */
  readonly shrink: Resources;
}

/**
 * The quota effect of changing a footprint from `from` to `to` (a resize, a volume extend). Only
 * growth is checked: resizing 4 vCPUs/2 GiB to 2 vCPUs/4 GiB needs 2 GiB of RAM headroom and
 * frees 2 vCPUs, and is not refused for lack of vCPUs.
 */
export function resourceDelta(from: Partial<Resources>, to: Partial<Resources>): ResourceDelta {
  assertCounts(from, 'from', false);
  assertCounts(to, 'to', false);
  const grow = { ...ZERO_RESOURCES } as Record<ResourceKey, number>;
  const shrink = { ...ZERO_RESOURCES } as Record<ResourceKey, number>;
  for (const key of RESOURCE_KEYS) {
    const d = (to[key] ?? 0) - (from[key] ?? 0);
    if (d > 0) grow[key] = d;
    else if (d < 0) shrink[key] = -d;
  }
  return { grow, shrink };
}

/** Usage after a change has happened: growth added, what it freed released. */
export function applyDelta(usage: Resources, delta: ResourceDelta): Resources {
  return subtractResources(addResources(usage, delta.grow), delta.shrink).value;
}

/** What one VM of a flavor counts against quota (its root disk included). */
export function vmFootprint(flavor: { vcpus: number; ramMiB: number; diskGiB: number }): Resources {
  return resources({ vcpus: flavor.vcpus, ramMiB: flavor.ramMiB, diskGiB: flavor.diskGiB, vms: 1 });
}
