// The shared Hypervisor contract run against the simulated host, then the knobs only the
// simulation has: latency through an injected clock, capacity refusals, guest-side events.
import { randomUUID } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode } from '@palisade/contracts';
import { describeHypervisorContract, minimalDomainXml } from '../contract/hypervisor-contract';
import { hypervisorErrorKind } from '../contract/errors';
import type { DomainEvent } from '../hypervisor';
import { manualClock, SimulatedHypervisor } from './simulated';

describeHypervisorContract(
  'simulated',
  async () => ({ hv: new SimulatedHypervisor({ clock: manualClock() }), cleanup: async () => {} }),
  {
    volumeDir: '/sim/volumes',
    segment: { bridge: 'br-sim-1', uplink: { kind: 'vlan', vid: 101, trunkDev: 'eth1' } },
  },
);

const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

function domain(memoryMiB: number, extra: { bridge?: string } = {}) {
  const uuid = randomUUID();
  return { uuid, xml: minimalDomainXml({ uuid, name: `palisade-${uuid}`, memoryMiB, ...extra }) };
}

async function rejection(p: Promise<unknown>): Promise<AppError> {
  try {
    await p;
  } catch (e) {
    if (e instanceof AppError) return e;
    throw e;
  }
  throw new Error('expected a rejection');
}

describe('SimulatedHypervisor: latency', () => {
  it('spends the configured latency on the injected clock, not in real time', async () => {
    const clock = manualClock();
    const hv = new SimulatedHypervisor({
      clock,
      latency: { define: 5, start: 1500, destroy: (_op, uuid) => (uuid.length > 0 ? 200 : 0) },
    });
    const d = domain(64);
    const t0 = clock.now().getTime();
    await hv.defineDomain(d.xml);
    await hv.start(d.uuid);
    await hv.destroy(d.uuid);
    expect(clock.slept).toBe(5 + 1500 + 200);
    expect(clock.now().getTime() - t0).toBe(1705);
  });

  it('stamps events with the injected clock', async () => {
    const clock = manualClock(new Date('2030-05-01T00:00:00Z'));
    const hv = new SimulatedHypervisor({ clock, latency: { start: 60_000 } });
    const events: DomainEvent[] = [];
    hv.events((e) => events.push(e));
    const d = domain(64);
    await hv.defineDomain(d.xml);
    await hv.start(d.uuid);
    expect(events.map((e) => e.at.toISOString())).toEqual([
      '2030-05-01T00:00:00.000Z',
      '2030-05-01T00:01:00.000Z', // resumed/unpaused
      '2030-05-01T00:01:00.000Z', // started/booted
    ]);
  });

  it('shutdown returns stopped: false after the timeout when the guest is slower or ignores ACPI', async () => {
    const clock = manualClock();
    const hv = new SimulatedHypervisor({ clock, latency: { guestShutdown: 30_000 } });
    const d = domain(64);
    await hv.defineDomain(d.xml);
    await hv.start(d.uuid);
    expect(await hv.shutdown(d.uuid, { timeoutMs: 10_000 })).toEqual({ stopped: false });
    expect(clock.slept).toBe(10_000);
    expect((await hv.getDomain(d.uuid))?.state).toBe('running');
    expect(await hv.shutdown(d.uuid, { timeoutMs: 60_000 })).toEqual({ stopped: true });
    expect(await hv.getDomain(d.uuid)).toMatchObject({ state: 'shutoff', reason: 'shutdown' });

    await hv.start(d.uuid);
    hv.setIgnoresAcpi(d.uuid, true);
    expect(await hv.shutdown(d.uuid, { timeoutMs: 3_600_000 })).toEqual({ stopped: false });
  });
});

describe('SimulatedHypervisor: capacity', () => {
  it('refuses a start beyond free memory, naming the numbers', async () => {
    const hv = new SimulatedHypervisor({ clock: manualClock(), capacity: { memoryMiB: 1024 } });
    const a = domain(768);
    const b = domain(512);
    await hv.defineDomain(a.xml);
    await hv.defineDomain(b.xml);
    await hv.start(a.uuid);
    await hv.start(a.uuid); // idempotent: reserves nothing more
    const e = await rejection(hv.start(b.uuid));
    expect(e.code).toBe(ErrorCode.UNAVAILABLE);
    expect(hypervisorErrorKind(e)).toBe('insufficient_capacity');
    expect(e.message).toContain('needs 512 MiB of memory, 256 MiB free of 1024 MiB');
    expect(e.details?.['xml']).toContain(`<uuid>${b.uuid}</uuid>`);
    expect(hv.capacity().memoryMiB).toEqual({ total: 1024, used: 768 });

    await hv.destroy(a.uuid);
    await hv.start(b.uuid);
    expect(hv.capacity().memoryMiB.used).toBe(512);
  });

  it('does not overcommit memory under concurrent starts', async () => {
    const hv = new SimulatedHypervisor({
      clock: manualClock(),
      capacity: { memoryMiB: 1000 },
      latency: { start: 100 },
    });
    const ds = [domain(600), domain(600)];
    for (const d of ds) await hv.defineDomain(d.xml);
    const results = await Promise.allSettled(ds.map((d) => hv.start(d.uuid)));
    expect(results.map((r) => r.status).sort()).toEqual(['fulfilled', 'rejected']);
    expect(hv.capacity().memoryMiB.used).toBe(600);
  });

  it('releases memory when the guest crashes or powers off', async () => {
    const hv = new SimulatedHypervisor({ clock: manualClock(), capacity: { memoryMiB: 512 } });
    const events: string[] = [];
    hv.events((e) => e.kind === 'lifecycle' && events.push(`${e.event}/${e.detail}`));
    const d = domain(512);
    await hv.defineDomain(d.xml);
    await hv.start(d.uuid);
    hv.guestCrash(d.uuid);
    expect(await hv.getDomain(d.uuid)).toMatchObject({ state: 'shutoff', reason: 'crashed' });
    expect(hv.capacity().memoryMiB.used).toBe(0);
    await hv.start(d.uuid);
    hv.guestPowerOff(d.uuid);
    expect(events.slice(1)).toEqual([
      'resumed/unpaused',
      'started/booted',
      'crashed/panicked',
      'stopped/crashed',
      'resumed/unpaused',
      'started/booted',
      'shutdown/guest',
      'stopped/shutdown',
    ]);
  });

  it('refuses a volume or a resize beyond free storage, counting virtual sizes', async () => {
    const hv = new SimulatedHypervisor({ clock: manualClock(), capacity: { storageGiB: 10 } });
    await hv.volumes.create({ path: '/v/a', sizeBytes: 8 * GiB });
    const e = await rejection(hv.volumes.create({ path: '/v/b', sizeBytes: 4 * GiB }));
    expect(hypervisorErrorKind(e)).toBe('insufficient_capacity');
    expect(e.message).toBe('cannot allocate 4 GiB for /v/b: 2 GiB free of 10 GiB');
    expect(await hv.volumes.info('/v/b')).toBeNull();

    const r = await rejection(hv.volumes.resize('/v/a', 12 * GiB));
    expect(r.message).toBe('cannot allocate 4 GiB for /v/a: 2 GiB free of 10 GiB');
    expect((await hv.volumes.info('/v/a'))?.virtualSizeBytes).toBe(8 * GiB);

    await hv.volumes.delete('/v/a');
    await hv.volumes.create({ path: '/v/b', sizeBytes: 10 * GiB });
    expect(hv.capacity().storageGiB).toEqual({ total: 10, usedBytes: 10 * GiB });
  });
});

describe('SimulatedHypervisor: daemon restart and secrets', () => {
  it('drops ephemeral secrets and tells subscribers to resynchronise; guests keep running', async () => {
    const hv = new SimulatedHypervisor({ clock: manualClock() });
    const d = domain(64);
    await hv.defineDomain(d.xml);
    await hv.start(d.uuid);
    const secret = randomUUID();
    await hv.secrets.define({
      uuid: secret,
      usage: 'palisade/volume/x',
      value: new Uint8Array(32),
    });
    const events: DomainEvent[] = [];
    hv.events((e) => events.push(e));
    hv.restartDaemon();
    expect(await hv.secrets.exists(secret)).toBe(false);
    expect(events).toEqual([
      expect.objectContaining({ kind: 'disconnected' }),
      expect.objectContaining({ kind: 'reconnected' }),
    ]);
    expect((await hv.getDomain(d.uuid))?.state).toBe('running');
  });

  it('never holds on to a secret value', async () => {
    const hv = new SimulatedHypervisor({ clock: manualClock() });
    const value = new Uint8Array(32).fill(0x61);
    await hv.secrets.define({ uuid: randomUUID(), usage: 'palisade/volume/y', value });
    const seen = new Set<unknown>();
    const holds = (v: unknown): boolean => {
      if (v === value) return true;
      if (v === null || typeof v !== 'object' || seen.has(v)) return false;
      seen.add(v);
      const children =
        v instanceof Map
          ? [...v.keys(), ...v.values()]
          : v instanceof Set
            ? [...v]
            : Object.values(v);
      return children.some(holds);
    };
    expect(holds(hv)).toBe(false);
  });

  it('refuses a second secret with the same usage', async () => {
    const hv = new SimulatedHypervisor({ clock: manualClock() });
    await hv.secrets.define({
      uuid: randomUUID(),
      usage: 'palisade/volume/z',
      value: new Uint8Array(1),
    });
    const e = await rejection(
      hv.secrets.define({
        uuid: randomUUID(),
        usage: 'palisade/volume/z',
        value: new Uint8Array(1),
      }),
    );
    expect(hypervisorErrorKind(e)).toBe('secret_conflict');
  });
});

describe('SimulatedHypervisor: on_crash', () => {
  it('preserve keeps the crashed domain and its memory until destroy', async () => {
    const hv = new SimulatedHypervisor({ clock: manualClock(), capacity: { memoryMiB: 512 } });
    const uuid = randomUUID();
    const xml = minimalDomainXml({ uuid, name: `palisade-${uuid}`, memoryMiB: 256 }).replace(
      '<on_crash>destroy</on_crash>',
      '<on_crash>preserve</on_crash>',
    );
    await hv.defineDomain(xml);
    await hv.start(uuid);
    hv.guestCrash(uuid);
    expect(await hv.getDomain(uuid)).toMatchObject({ state: 'crashed', reason: 'panicked' });
    expect(hv.capacity().memoryMiB.used).toBe(256);
    expect(await rejection(hv.undefine(uuid))).toMatchObject({
      details: { kind: 'domain_active' },
    });
    await hv.destroy(uuid);
    expect(await hv.getDomain(uuid)).toMatchObject({ state: 'shutoff', reason: 'destroyed' });
    expect(hv.capacity().memoryMiB.used).toBe(0);
    await hv.undefine(uuid);
  });
});
