/**
 * The reporter driven by the real SimulatedHypervisor in-process: lifecycle events reach the
 * gateway in order with the VM ID from the domain metadata (none for a foreign domain), a failed
 * send is retried until acknowledged, and after `disconnected` the batch carries the full domain
 * list. The gateway here is a recording function; the real one is exercised end to end in
 * apps/api/src/host-lifecycle.int.spec.ts.
 */
import { randomUUID } from 'node:crypto';
import { afterEach, describe, expect, it } from 'vitest';
import type { EventBatch, HeartbeatRequest } from '@palisade/contracts';
import { domainToXml, manualClock, SimulatedHypervisor, type Domain } from '@palisade/hypervisor';
import { EventQueue } from './event-queue';
import { HostReporter } from './reporter';

function domainXml(uuid: string, palisade: boolean): string {
  const d: Domain = {
    type: 'qemu',
    name: palisade ? `palisade-${uuid}` : `foreign-${uuid.slice(0, 8)}`,
    uuid,
    metadata: {
      ...(palisade
        ? {
            palisade: {
              vmId: uuid,
              tenantId: '00000000-0000-4000-8000-000000000001',
              specRevision: 1,
              name: 'vm',
              disks: [],
              nics: [],
            },
          }
        : {}),
      other: [],
    },
    memoryKiB: 64 * 1024,
    vcpus: 1,
    os: { type: 'hvm', arch: 'x86_64', machine: 'pc', bootDevs: ['hd'] },
    features: { acpi: true, apic: true },
    clockOffset: 'utc',
    onPoweroff: 'destroy',
    onReboot: 'restart',
    onCrash: 'destroy',
    devices: { disks: [], interfaces: [], serials: [], consoles: [], graphics: [] },
    seclabels: [],
  };
  return domainToXml(d);
}

const inventory: Omit<HeartbeatRequest, 'domains'> = {
  probe: { kernel: 'k', cpuModel: 'm', libvirtVersion: null, qemuVersion: null },
  capacity: { cpus: 2, ramMib: 1024, diskGib: 10 },
  securityModels: ['none', 'dac'],
  acceleration: 'tcg',
  compliance: { status: 'degraded', securityDriver: 'none', acceleration: 'tcg', checks: [] },
};

const until = async (cond: () => boolean) => {
  while (!cond()) await new Promise((r) => setTimeout(r, 5));
};

describe('HostReporter with the simulated hypervisor', () => {
  let reporter: HostReporter | undefined;
  afterEach(() => reporter?.stop());

  function setup(failFirst: number) {
    const hv = new SimulatedHypervisor({ clock: manualClock() });
    const queue = new EventQueue();
    const batches: EventBatch[] = [];
    const heartbeats: HeartbeatRequest[] = [];
    const warnings: string[] = [];
    let failures = failFirst;
    reporter = new HostReporter({
      hypervisor: hv,
      queue,
      inventory: async () => inventory,
      send: async <T>(path: string, body: unknown): Promise<T> => {
        if (path === '/agent/v1/heartbeat') {
          heartbeats.push(body as HeartbeatRequest);
          return { hostId: randomUUID(), state: 'up', vmsUpdated: 0, foreignDomains: 0 } as T;
        }
        if (failures-- > 0) throw new Error('gateway unreachable');
        const batch = body as EventBatch;
        batches.push(batch);
        return {
          acknowledged: Math.max(...batch.events.map((e) => e.seq)),
          vmsUpdated: 0,
          ignored: 0,
        } as T;
      },
      log: { log: () => undefined, warn: (m) => warnings.push(m) },
      heartbeatMs: 3_600_000,
      retry: { initialMs: 5, maxMs: 20 },
    });
    return { hv, queue, batches, heartbeats, warnings };
  }

  it('sends lifecycle events in order with the VM ID from the metadata, none for a foreign domain', async () => {
    const { hv, queue, batches, heartbeats } = setup(0);
    const vm = randomUUID();
    const foreign = randomUUID();
    await hv.defineDomain(domainXml(vm, true));
    await hv.defineDomain(domainXml(foreign, false));
    reporter!.start();
    await until(() => heartbeats.length === 1);
    expect(heartbeats[0]!.domains).toEqual(
      expect.arrayContaining([
        { uuid: vm, name: `palisade-${vm}`, state: 'shutoff', vmId: vm },
        { uuid: foreign, name: `foreign-${foreign.slice(0, 8)}`, state: 'shutoff' },
      ]),
    );
    await hv.start(vm);
    await hv.start(foreign);
    await hv.destroy(vm);
    await until(() => queue.stats().lastSeq >= 6 && queue.stats().queued === 0);
    const sent = batches.flatMap((b) => b.events);
    expect(sent.map((e) => e.seq)).toEqual(sent.map((_, i) => i + 1));
    const lifecycle = sent.flatMap((e) => (e.kind === 'lifecycle' ? [e] : []));
    expect(lifecycle.filter((e) => e.uuid === vm).map((e) => [e.event, e.detail, e.vmId])).toEqual([
      ['resumed', 'unpaused', vm],
      ['started', 'booted', vm],
      ['shutdown', 'host', vm],
      ['stopped', 'destroyed', vm],
    ]);
    expect(lifecycle.filter((e) => e.uuid === foreign).every((e) => e.vmId === undefined)).toBe(
      true,
    );
    expect(batches.every((b) => b.domains === undefined)).toBe(true);
  });

  it('retries a failed send until acknowledged, and resyncs with the full domain list after disconnected and reconnected', async () => {
    const { hv, queue, batches, heartbeats, warnings } = setup(2);
    const vm = randomUUID();
    await hv.defineDomain(domainXml(vm, true));
    reporter!.start();
    await until(() => heartbeats.length === 1);
    hv.restartDaemon();
    await until(() => queue.stats().queued === 0 && batches.length > 0);
    expect(warnings.filter((w) => w.includes('gateway unreachable'))).toHaveLength(2);
    expect(batches[0]!.events.map((e) => [e.seq, e.kind])).toEqual([
      [1, 'disconnected'],
      [2, 'reconnected'],
    ]);
    expect(batches[0]!.domains).toEqual([
      { uuid: vm, name: `palisade-${vm}`, state: 'shutoff', vmId: vm },
    ]);
    expect(queue.resyncNeeded).toBe(false);
  });
});
