import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  addResources,
  applyDelta,
  checkQuota,
  RESOURCE_KEYS,
  resourceDelta,
  resources,
  resourcesSchema,
  subtractResources,
  vmFootprint,
  type Resources,
} from './quota';

const limits = resources({
  vcpus: 8,
  ramMiB: 16_384,
  diskGiB: 200,
  vms: 5,
  volumes: 10,
  snapshots: 10,
  networks: 2,
  publicIps: 1,
});

const resourcesArb = (max: number) =>
  fc.record(
    Object.fromEntries(RESOURCE_KEYS.map((k) => [k, fc.integer({ min: 0, max })])) as Record<
      keyof Resources,
      fc.Arbitrary<number>
    >,
  );

describe('checkQuota', () => {
  it('accepts a request that fits', () => {
    expect(checkQuota(limits, resources({ vcpus: 4 }), { vcpus: 4, vms: 1 })).toEqual({ ok: true });
  });

  it('names the shortfall the way a tenant reads it', () => {
    expect(checkQuota(limits, resources({ vcpus: 6 }), { vcpus: 4 })).toEqual({
      ok: false,
      reason: 'quota_exceeded',
      shortfalls: [
        {
          resource: 'vcpus',
          requested: 4,
          used: 6,
          limit: 8,
          available: 2,
          message: 'needs 4 vCPUs, 2 of 8 left',
        },
      ],
      detail: 'needs 4 vCPUs, 2 of 8 left',
    });
  });

  it('lists every shortfall at once, in a stable order, with units and singulars', () => {
    const usage = resources({ vcpus: 7, ramMiB: 15_360, diskGiB: 150, vms: 5, publicIps: 1 });
    const r = checkQuota(limits, usage, {
      vcpus: 2,
      ramMiB: 2048,
      diskGiB: 20,
      vms: 1,
      publicIps: 1,
    });
    expect(r.ok).toBe(false);
    if (r.ok) return;
    expect(r.shortfalls.map((s) => s.resource)).toEqual(['vcpus', 'ramMiB', 'vms', 'publicIps']);
    expect(r.detail).toBe(
      'needs 2 vCPUs, 1 of 8 left; needs 2048 MiB of RAM, 1024 of 16384 MiB left; needs 1 VM, 0 of 5 left; needs 1 public IP, 0 of 1 left',
    );
  });

  it('a limit lowered below usage shows 0 left, and never blocks a zero request', () => {
    const over = resources({ vcpus: 12 });
    expect(checkQuota(limits, over, { vcpus: 1 })).toMatchObject({
      detail: 'needs 1 vCPU, 0 of 8 left',
    });
    expect(checkQuota(limits, over, {})).toEqual({ ok: true });
    expect(checkQuota(limits, over, { vcpus: 0, vms: 1 })).toEqual({ ok: true });
  });

  it('refuses negative, fractional or missing numbers as a broken invariant', () => {
    expect(() => checkQuota(limits, resources(), { vcpus: -1 })).toThrow(RangeError);
    expect(() => checkQuota(limits, resources(), { ramMiB: 1.5 })).toThrow(RangeError);
    expect(() =>
      checkQuota({ ...limits, vms: undefined } as unknown as Resources, resources(), {}),
    ).toThrow(RangeError);
  });

  it('ok exactly when usage + request stays within limits for every requested resource', () => {
    fc.assert(
      fc.property(resourcesArb(100), resourcesArb(100), resourcesArb(50), (lim, use, req) => {
        const r = checkQuota(lim, use, req);
        const fits = RESOURCE_KEYS.every((k) => req[k] === 0 || use[k] + req[k] <= lim[k]);
        expect(r.ok).toBe(fits);
        if (!r.ok)
          for (const s of r.shortfalls) {
            expect(s.requested).toBeGreaterThan(s.available);
            expect(s.available).toBe(Math.max(0, lim[s.resource] - use[s.resource]));
          }
      }),
    );
  });

  it('admitting requests one by one never takes usage past a limit', () => {
    fc.assert(
      fc.property(
        resourcesArb(64),
        fc.array(resourcesArb(8), { maxLength: 30 }),
        (lim, requests) => {
          let usage = resources();
          for (const req of requests)
            if (checkQuota(lim, usage, req).ok) usage = addResources(usage, req);
          for (const k of RESOURCE_KEYS) expect(usage[k]).toBeLessThanOrEqual(lim[k]);
        },
      ),
    );
  });
});

describe('resource arithmetic', () => {
  it('adds and subtracts per resource, keeping only resource keys', () => {
    const row = { ...resources({ vcpus: 4 }), tenantId: 'x' } as unknown as Resources;
    expect(addResources(row, { vcpus: 2, vms: 1 })).toEqual(resources({ vcpus: 6, vms: 1 }));
    expect(subtractResources(resources({ vcpus: 4, vms: 1 }), { vcpus: 2 })).toEqual({
      value: resources({ vcpus: 2, vms: 1 }),
      underflow: {},
    });
  });

  it('never goes negative, and reports what was released but not there', () => {
    expect(subtractResources(resources({ vcpus: 1 }), { vcpus: 3, vms: 1 })).toEqual({
      value: resources(),
      underflow: { vcpus: 2, vms: 1 },
    });
    fc.assert(
      fc.property(resourcesArb(50), resourcesArb(80), (a, b) => {
        const { value, underflow } = subtractResources(a, b);
        for (const k of RESOURCE_KEYS) {
          expect(value[k]).toBeGreaterThanOrEqual(0);
          expect(value[k] - (underflow[k] ?? 0)).toBe(a[k] - b[k]);
        }
      }),
    );
  });

  it('subtract undoes add', () => {
    fc.assert(
      fc.property(resourcesArb(1000), resourcesArb(1000), (a, b) => {
        expect(subtractResources(addResources(a, b), b)).toEqual({ value: a, underflow: {} });
      }),
    );
  });

  it('a VM of a flavor counts its vCPUs, RAM, root disk and one VM', () => {
    expect(vmFootprint({ vcpus: 2, ramMiB: 4096, diskGiB: 20 })).toEqual(
      resources({ vcpus: 2, ramMiB: 4096, diskGiB: 20, vms: 1 }),
    );
  });

  it('the schema accepts what the database stores and names the bad field', () => {
    expect(resourcesSchema.parse(limits)).toEqual(limits);
    const r = resourcesSchema.safeParse({ ...limits, ramMiB: -1 });
    expect(r.error?.issues[0]?.message).toBe('ramMiB must not be negative');
  });
});

describe('resize', () => {
  it('only growth is checked; a shrink frees', () => {
    const from = vmFootprint({ vcpus: 4, ramMiB: 2048, diskGiB: 20 });
    const to = vmFootprint({ vcpus: 2, ramMiB: 4096, diskGiB: 20 });
    const delta = resourceDelta(from, to);
    expect(delta).toEqual({ grow: resources({ ramMiB: 2048 }), shrink: resources({ vcpus: 2 }) });
    // The tenant has no vCPU headroom at all, and the resize still passes: it needs none.
    const usage = resources({ vcpus: 8, ramMiB: 8192, diskGiB: 20, vms: 1 });
    expect(checkQuota(limits, usage, delta.grow)).toEqual({ ok: true });
    expect(applyDelta(usage, delta)).toEqual(
      resources({ vcpus: 6, ramMiB: 10_240, diskGiB: 20, vms: 1 }),
    );
  });

  it('growth past the limit is refused with the growth amount', () => {
    const delta = resourceDelta({ vcpus: 2 }, { vcpus: 8 });
    expect(checkQuota(limits, resources({ vcpus: 4 }), delta.grow)).toMatchObject({
      detail: 'needs 6 vCPUs, 4 of 8 left',
    });
  });

  it('applying the delta gives the same usage as releasing the old footprint and taking the new', () => {
    fc.assert(
      fc.property(resourcesArb(100), resourcesArb(100), resourcesArb(100), (other, from, to) => {
        const usage = addResources(other, from);
        expect(applyDelta(usage, resourceDelta(from, to))).toEqual(addResources(other, to));
      }),
    );
  });
});
