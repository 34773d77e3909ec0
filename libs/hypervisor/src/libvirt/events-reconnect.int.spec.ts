// LibvirtHypervisor's event stream across a real libvirtd restart: a private libvirtd of the
// testkit's namespace lab (its own socket, directories and pidfile; the shared stack's libvirtd is
// never touched) is stopped and started again by its PID. Proves that listeners get
// `disconnected` when libvirtd goes away, then `reconnected` once it is back, in that order, and
// that lifecycle events flow again after it (so `reconnected` is the moment to resynchronise).
// Defines domains but starts none: no guest CPU. Needs root, iproute2 and libvirtd.
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { createNetnsLab, type LabHost, type NetnsLab } from '@palisade/testkit';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { minimalDomainXml } from '../contract/hypervisor-contract';
import type { DomainEvent } from '../hypervisor';
import { LibvirtHypervisor } from './libvirt';

vi.setConfig({ testTimeout: 180_000, hookTimeout: 180_000 });

/** Bound for a daemon on a busy 2-core machine to go or come back; setup, not an assertion. */
const WAIT = { timeout: 60_000, interval: 200 };

let lab: NetnsLab;
let host: LabHost;
let hv: LibvirtHypervisor;
let dir: string;

beforeAll(async () => {
  lab = await createNetnsLab({ libvirt: true, log: (l) => console.log(`[lab] ${l}`) });
  host = lab.hosts[0]!;
  dir = mkdtempSync(path.join(tmpdir(), 'palisade-reconnect-'));
  hv = new LibvirtHypervisor({
    uri: host.libvirtUri!,
    volumeDirs: [dir],
    eventBackoff: { initialMs: 100, maxMs: 1000 },
  });
});

afterAll(async () => {
  hv?.close();
  await lab?.dispose();
  if (dir) rmSync(dir, { recursive: true, force: true });
});

describe('LibvirtHypervisor events across a libvirtd restart (private libvirtd)', () => {
  it('reports disconnected when libvirtd stops, reconnected when it is back, and delivers again', async () => {
    const seen: DomainEvent[] = [];
    const unsubscribe = hv.events((e) => seen.push(e));
    const a = { uuid: randomUUID(), name: `pal-rc-${randomUUID().slice(0, 8)}`, memoryMiB: 64 };
    await hv.defineDomain(minimalDomainXml(a)); // waits for the stream to register
    await vi.waitFor(
      () => expect(seen.some((e) => e.kind === 'lifecycle' && e.uuid === a.uuid)).toBe(true),
      WAIT,
    );
    const virshBefore = hv.eventStreamPid;

    const stopped = await lab.stopLibvirtd(host);
    expect(stopped).toBeTypeOf('number');
    await vi.waitFor(() => expect(seen.map((e) => e.kind)).toContain('disconnected'), WAIT);
    // While libvirtd is away the stream keeps retrying but says nothing more.
    expect(seen.filter((e) => e.kind === 'reconnected')).toEqual([]);

    const restarted = await lab.startLibvirtd(host);
    expect(restarted).not.toBe(stopped);
    await vi.waitFor(() => expect(seen.map((e) => e.kind)).toContain('reconnected'), WAIT);
    const kinds = seen.filter((e) => e.kind !== 'lifecycle').map((e) => e.kind);
    expect(kinds).toEqual(['disconnected', 'reconnected']);
    expect(hv.eventStreamPid).not.toBe(virshBefore);
    const at = (k: string) => seen.find((e) => e.kind === k)!.at.getTime();
    expect(at('reconnected')).toBeGreaterThanOrEqual(at('disconnected'));

    // The persistent definition survived the restart, and a resync by listing sees it; events
    // about it arrive again.
    expect((await hv.listDomains()).map((d) => d.uuid)).toContain(a.uuid);
    const before = seen.length;
    await hv.undefine(a.uuid);
    await vi.waitFor(
      () =>
        expect(
          seen
            .slice(before)
            .some((e) => e.kind === 'lifecycle' && e.uuid === a.uuid && e.event === 'undefined'),
        ).toBe(true),
      WAIT,
    );
    unsubscribe();
    expect(hv.eventStreamPid).toBeUndefined();
  });
});
