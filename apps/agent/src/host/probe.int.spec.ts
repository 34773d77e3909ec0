import os from 'node:os';
import { describe, expect, it } from 'vitest';
import { assessCompliance } from './compliance';
import { markerBootSector, probeHost } from './probe';

// Probes the machine the tests run on, for real. Facts about it are asserted only where they hold
// on every machine (TCG runs guests, capacity is non-zero); the rest is printed for the reader.
describe('host probe on this machine', () => {
  it('runs a TCG guest, reads capacity, and yields a compliance report', async () => {
    const probe = await probeHost({
      libvirtUri: 'qemu:///system',
      stateDir: os.tmpdir(),
      guestTimeoutMs: 20_000,
    });
    const report = assessCompliance(probe);
    console.log(JSON.stringify({ probe, report }, null, 2));
    expect(probe.tcg.works).toBe(true);
    expect(probe.cpu.count).toBe(os.cpus().length);
    expect(probe.memoryMiB).toBeGreaterThan(0);
    expect(probe.storage?.totalGiB).toBeGreaterThan(0);
    expect(report.acceleration).not.toBeNull();
    expect(['compliant', 'degraded', 'non-compliant']).toContain(report.status);
  }, 90_000);

  it('the boot sector is a valid MBR', () => {
    const s = markerBootSector();
    expect(s.length).toBe(512);
    expect([s[510], s[511]]).toEqual([0x55, 0xaa]);
  });
});
