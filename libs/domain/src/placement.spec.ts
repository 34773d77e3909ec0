import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  place,
  REJECT_CODES,
  rejectHost,
  summariseRejections,
  type HostState,
  type PlacementHost,
  type PlacementRequest,
} from './placement';

const host = (id: string, over: Partial<PlacementHost> = {}): PlacementHost => ({
  id,
  enabled: true,
  state: 'up',
  capacity: { cpus: 16, ramMiB: 65_536, diskGiB: 1000 },
  allocated: { vcpus: 0, ramMiB: 0, diskGiB: 0 },
  securityModels: ['selinux', 'dac'],
  allowWeakerIsolation: false,
  acceleration: 'kvm',
  fabrics: ['fab-1'],
  compliance: 'compliant',
  ...over,
});

const request = (over: Partial<PlacementRequest> = {}): PlacementRequest => ({
  vcpus: 2,
  ramMiB: 4096,
  diskGiB: 20,
  svirt: 'required',
  fabrics: ['fab-1'],
  ...over,
});

const spread = { weigher: 'spread' } as const;
const pack = { weigher: 'pack' } as const;
const ids = (r: ReturnType<typeof place>) => (r.ok ? r.candidates.map((c) => c.hostId) : r.detail);

describe('place: failure summary', () => {
  it('counts hosts per reason, most common first: "no host fits: 3 hosts lack RAM, 1 is draining"', () => {
    const full = { vcpus: 0, ramMiB: 64_000, diskGiB: 0 };
    const r = place(
      request(),
      [
        host('a', { allocated: full }),
        host('b', { allocated: full }),
        host('c', { allocated: full }),
        host('d', { state: 'draining' }),
      ],
      spread,
    );
    expect(r).toMatchObject({
      ok: false,
      reason: 'no_valid_host',
      detail: 'no host fits: 3 hosts lack RAM, 1 is draining',
      counts: [
        { code: 'lack_ram', hosts: 3 },
        { code: 'draining', hosts: 1 },
      ],
    });
    if (!r.ok)
      expect(r.rejections[0]).toEqual({
        hostId: 'a',
        code: 'lack_ram',
        detail: 'needs 4096 MiB of RAM, 1536 of 65536 MiB left',
      });
  });

  it('uses singular and plural verbs, and orders equal counts by filter order', () => {
    expect(
      summariseRejections([
        { hostId: 'x', code: 'maintenance', detail: '' },
        { hostId: 'y', code: 'disabled', detail: '' },
        { hostId: 'z', code: 'disabled', detail: '' },
        { hostId: 'w', code: 'lack_vcpus', detail: '' },
      ]),
    ).toBe('no host fits: 2 hosts are disabled, 1 is in maintenance, 1 lacks vCPUs');
    expect(summariseRejections([{ hostId: 'x', code: 'no_svirt', detail: '' }])).toBe(
      'no host fits: 1 host cannot enforce sVirt',
    );
    expect(place(request(), [], spread)).toMatchObject({
      detail: 'no host fits: there are no hosts',
    });
  });

  it('every host is counted exactly once', () => {
    fc.assert(
      fc.property(fc.array(hostArb, { maxLength: 12 }), requestArb, (hosts, req) => {
        const r = place(req, hosts, spread);
        if (r.ok) return;
        expect(r.counts.reduce((n, c) => n + c.hosts, 0)).toBe(hosts.length);
        expect(r.rejections).toHaveLength(hosts.length);
      }),
    );
  });
});

describe('filters', () => {
  const reject = (h: PlacementHost, req = request()) => rejectHost(h, req, spread)?.code ?? null;

  it.each(['enrolling', 'unreachable', 'draining', 'maintenance'] as HostState[])(
    'a host %s gets nothing',
    (state) => {
      expect(reject(host('h', { state }))).toBe(state);
    },
  );

  it('a disabled host gets nothing, and a request may exclude hosts', () => {
    expect(reject(host('h', { enabled: false }))).toBe('disabled');
    expect(reject(host('h'), request({ excludeHostIds: ['h'] }))).toBe('excluded');
  });

  it('compliance fails closed: unknown is not compliant', () => {
    expect(reject(host('h', { compliance: 'non_compliant' }))).toBe('not_compliant');
    expect(reject(host('h', { compliance: 'unknown' }))).toBe('compliance_unknown');
  });

  it('sVirt required: needs SELinux or AppArmor, unless the operator allowed weaker isolation', () => {
    expect(reject(host('h', { securityModels: ['apparmor', 'dac'] }))).toBeNull();
    expect(rejectHost(host('h', { securityModels: ['none', 'dac'] }), request(), spread)).toEqual({
      hostId: 'h',
      code: 'no_svirt',
      detail: 'sVirt required; security models are none, dac',
    });
    expect(reject(host('h', { securityModels: ['none'], allowWeakerIsolation: true }))).toBeNull();
    expect(reject(host('h', { securityModels: [] }), request({ svirt: 'preferred' }))).toBeNull();
  });

  it('acceleration: unprobed hosts get nothing; kvm requests skip TCG hosts', () => {
    expect(reject(host('h', { acceleration: null }))).toBe('acceleration_unknown');
    expect(reject(host('h', { acceleration: 'tcg' }))).toBeNull();
    expect(reject(host('h', { acceleration: 'tcg' }), request({ acceleration: 'kvm' }))).toBe(
      'no_kvm',
    );
  });

  it('the host must reach every fabric of the VM', () => {
    expect(rejectHost(host('h'), request({ fabrics: ['fab-1', 'fab-2'] }), spread)).toMatchObject({
      code: 'fabric_unreachable',
      detail: 'not on fabric fab-2',
    });
    expect(reject(host('h'), request({ fabrics: [] }))).toBeNull();
  });

  it('affinity keeps a group together; anti-affinity keeps it apart', () => {
    const aff = request({ groups: [{ id: 'g', policy: 'affinity', hostIds: ['b'] }] });
    expect(reject(host('a'), aff)).toBe('affinity');
    expect(reject(host('b'), aff)).toBeNull();
    // The first member of an affinity group may go anywhere.
    expect(
      reject(host('a'), request({ groups: [{ id: 'g', policy: 'affinity', hostIds: [] }] })),
    ).toBeNull();
    const anti = request({ groups: [{ id: 'g', policy: 'anti-affinity', hostIds: ['b'] }] });
    expect(reject(host('b'), anti)).toBe('anti_affinity');
    expect(reject(host('a'), anti)).toBeNull();
  });

  it('capacity applies allocation ratios: CPU 4:1 by default, RAM and disk 1:1', () => {
    const h = host('h', {
      capacity: { cpus: 4, ramMiB: 8192, diskGiB: 100 },
      allocated: { vcpus: 14, ramMiB: 4096, diskGiB: 80 },
    });
    expect(reject(h, request({ vcpus: 2, ramMiB: 4096, diskGiB: 20 }))).toBeNull();
    expect(rejectHost(h, request({ vcpus: 3, ramMiB: 4096, diskGiB: 20 }), spread)).toMatchObject({
      code: 'lack_vcpus',
      detail: 'needs 3 vCPUs, 2 of 16 left',
    });
    expect(reject(h, request({ vcpus: 1, ramMiB: 4097, diskGiB: 20 }))).toBe('lack_ram');
    expect(reject(h, request({ vcpus: 1, ramMiB: 1, diskGiB: 21 }))).toBe('lack_disk');
  });

  it('ratios are configurable per cluster and per host, and reserved capacity is held back', () => {
    const h = host('h', {
      capacity: { cpus: 4, ramMiB: 8192, diskGiB: 100 },
      allocated: { vcpus: 4, ramMiB: 0, diskGiB: 0 },
    });
    const req = request({ vcpus: 1, ramMiB: 1024, diskGiB: 1 });
    expect(rejectHost(h, req, { weigher: 'spread', allocationRatios: { cpu: 1 } })?.code).toBe(
      'lack_vcpus',
    );
    expect(
      rejectHost({ ...h, allocationRatios: { cpu: 2 } }, req, {
        weigher: 'spread',
        allocationRatios: { cpu: 1 },
      }),
    ).toBeNull();
    expect(rejectHost({ ...h, reserved: { ramMiB: 7680 } }, req, spread)).toMatchObject({
      code: 'lack_ram',
      detail: 'needs 1024 MiB of RAM, 512 of 512 MiB left',
    });
    expect(
      rejectHost(h, req, { weigher: 'spread', allocationRatios: { cpu: undefined, ram: 1 } }),
    ).toBeNull();
    expect(() => rejectHost(h, req, { weigher: 'spread', allocationRatios: { ram: 0 } })).toThrow(
      RangeError,
    );
  });

  it('a host already over its capacity (ratio lowered) has 0 left, not a negative amount', () => {
    const h = host('h', {
      capacity: { cpus: 2, ramMiB: 8192, diskGiB: 100 },
      allocated: { vcpus: 12, ramMiB: 0, diskGiB: 0 },
    });
    expect(rejectHost(h, request({ vcpus: 1 }), spread)?.detail).toBe('needs 1 vCPU, 0 of 8 left');
  });

  it('reports the first failing filter: state before capacity', () => {
    const h = host('h', {
      state: 'draining',
      allocated: { vcpus: 1000, ramMiB: 1e6, diskGiB: 1e5 },
    });
    expect(reject(h)).toBe('draining');
  });

  it('refuses a malformed request as a broken invariant', () => {
    expect(() => place(request({ vcpus: -1 }), [host('a')], spread)).toThrow(RangeError);
  });
});

describe('weighing', () => {
  // a: nearly empty, b: half full, c: nearly full (RAM is each one's tightest resource).
  const hosts = [
    host('c', { allocated: { vcpus: 8, ramMiB: 57_344, diskGiB: 100 } }),
    host('a', { allocated: { vcpus: 2, ramMiB: 4096, diskGiB: 100 } }),
    host('b', { allocated: { vcpus: 4, ramMiB: 32_768, diskGiB: 100 } }),
  ];

  it('spread puts the host with most room after placement first; pack the least', () => {
    expect(ids(place(request(), hosts, spread))).toEqual(['a', 'b', 'c']);
    expect(ids(place(request(), hosts, pack))).toEqual(['c', 'b', 'a']);
  });

  it('the weight is the tightest resource free fraction after placement', () => {
    const r = place(request(), [hosts[0]!], spread);
    expect(r.ok && r.candidates[0]).toEqual({
      hostId: 'c',
      weakerIsolation: false,
      weight: (65_536 - 57_344 - 4096) / 65_536,
      freeAfter: { vcpus: 64 - 8 - 2, ramMiB: 65_536 - 57_344 - 4096, diskGiB: 1000 - 100 - 20 },
    });
  });

  it('breaks ties by host ID, whatever the input order', () => {
    const same = ['h3', 'h1', 'h2'].map((id) => host(id));
    expect(ids(place(request(), same, spread))).toEqual(['h1', 'h2', 'h3']);
    expect(ids(place(request(), same, pack))).toEqual(['h1', 'h2', 'h3']);
  });

  it('ranks hosts enforcing sVirt before hosts passing on weaker isolation, even when emptier', () => {
    const weak = host('a-weak', { securityModels: ['none'], allowWeakerIsolation: true });
    const strong = host('z-strong', { allocated: { vcpus: 60, ramMiB: 60_000, diskGiB: 900 } });
    const r = place(request(), [weak, strong], spread);
    expect(ids(r)).toEqual(['z-strong', 'a-weak']);
    expect(r.ok && r.candidates.map((c) => c.weakerIsolation)).toEqual([false, true]);
    expect(
      ids(
        place(request({ svirt: 'preferred' }), [host('b', { securityModels: [] }), strong], pack),
      ),
    ).toEqual(['z-strong', 'b']);
  });
});

const hostArb: fc.Arbitrary<PlacementHost> = fc
  .record({
    id: fc.string({ minLength: 1, maxLength: 6 }),
    enabled: fc.boolean(),
    state: fc.constantFrom<HostState>(
      'up',
      'up',
      'up',
      'draining',
      'maintenance',
      'unreachable',
      'enrolling',
    ),
    cpus: fc.integer({ min: 1, max: 64 }),
    ramMiB: fc.integer({ min: 1024, max: 262_144 }),
    diskGiB: fc.integer({ min: 10, max: 4000 }),
    fill: fc.tuple(
      fc.double({ min: 0, max: 1.2, noNaN: true }),
      fc.double({ min: 0, max: 1.2, noNaN: true }),
      fc.double({ min: 0, max: 1.2, noNaN: true }),
    ),
    securityModels: fc.constantFrom(['selinux', 'dac'], ['apparmor'], ['none', 'dac']),
    allowWeakerIsolation: fc.boolean(),
    acceleration: fc.constantFrom('kvm' as const, 'tcg' as const, null),
    fabrics: fc.subarray(['f1', 'f2', 'f3']),
    compliance: fc.constantFrom(
      'compliant' as const,
      'compliant' as const,
      'non_compliant' as const,
      'unknown' as const,
    ),
  })
  .map((h) => ({
    id: h.id,
    enabled: h.enabled,
    state: h.state,
    capacity: { cpus: h.cpus, ramMiB: h.ramMiB, diskGiB: h.diskGiB },
    allocated: {
      vcpus: Math.floor(h.cpus * 4 * h.fill[0]),
      ramMiB: Math.floor(h.ramMiB * h.fill[1]),
      diskGiB: Math.floor(h.diskGiB * h.fill[2]),
    },
    securityModels: h.securityModels,
    allowWeakerIsolation: h.allowWeakerIsolation,
    acceleration: h.acceleration,
    fabrics: h.fabrics,
    compliance: h.compliance,
  }));

const requestArb: fc.Arbitrary<PlacementRequest> = fc.record({
  vcpus: fc.integer({ min: 1, max: 32 }),
  ramMiB: fc.integer({ min: 64, max: 131_072 }),
  diskGiB: fc.integer({ min: 1, max: 2000 }),
  svirt: fc.constantFrom('required' as const, 'preferred' as const),
  acceleration: fc.constantFrom('kvm' as const, 'any' as const),
  fabrics: fc.subarray(['f1', 'f2']),
});

describe('placement properties', () => {
  const uniqueHosts = fc.uniqueArray(hostArb, { selector: (h) => h.id, maxLength: 15 });

  it('candidates are exactly the hosts no filter rejects, and each has room for the request', () => {
    fc.assert(
      fc.property(uniqueHosts, requestArb, fc.constantFrom(spread, pack), (hosts, req, opts) => {
        const r = place(req, hosts, opts);
        const passing = hosts.filter((h) => rejectHost(h, req, opts) === null).map((h) => h.id);
        expect(r.ok ? r.candidates.map((c) => c.hostId).sort() : []).toEqual([...passing].sort());
        if (!r.ok) return;
        for (const c of r.candidates) {
          const h = hosts.find((x) => x.id === c.hostId)!;
          expect(h.enabled && h.state === 'up' && h.compliance === 'compliant').toBe(true);
          expect(c.freeAfter.vcpus).toBeGreaterThanOrEqual(0);
          expect(c.freeAfter.ramMiB).toBeGreaterThanOrEqual(0);
          expect(c.freeAfter.diskGiB).toBeGreaterThanOrEqual(0);
          if (req.svirt === 'required' && c.weakerIsolation)
            expect(h.allowWeakerIsolation).toBe(true);
        }
      }),
    );
  });

  it('the order does not depend on the order hosts are listed in', () => {
    fc.assert(
      fc.property(
        uniqueHosts.chain((hosts) =>
          fc.tuple(fc.constant(hosts), fc.shuffledSubarray(hosts, { minLength: hosts.length })),
        ),
        requestArb,
        fc.constantFrom(spread, pack),
        ([hosts, shuffled], req, opts) => {
          expect(place(req, shuffled, opts)).toEqual(place(req, hosts, opts));
        },
      ),
    );
  });

  it('within one isolation class, spread orders by weight descending and pack ascending', () => {
    fc.assert(
      fc.property(uniqueHosts, requestArb, (hosts, req) => {
        for (const [opts, dir] of [
          [spread, -1],
          [pack, 1],
        ] as const) {
          const r = place(req, hosts, opts);
          if (!r.ok) continue;
          for (let i = 1; i < r.candidates.length; i++) {
            const a = r.candidates[i - 1]!;
            const b = r.candidates[i]!;
            if (a.weakerIsolation !== b.weakerIsolation) expect(a.weakerIsolation).toBe(false);
            else expect(dir * (b.weight - a.weight)).toBeGreaterThanOrEqual(0);
          }
        }
      }),
    );
  });

  it('reject codes in results are all known codes', () => {
    fc.assert(
      fc.property(uniqueHosts, requestArb, (hosts, req) => {
        const r = place(req, hosts, spread);
        if (!r.ok) for (const x of r.rejections) expect(REJECT_CODES).toContain(x.code);
      }),
    );
  });
});
