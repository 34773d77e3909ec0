import { execFileSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { probeKernelNetFeatures } from '@palisade/hypervisor';
import { describe, expect, it } from 'vitest';
import { assessCompliance } from './compliance';
import { markerBootSector, probeHost } from './probe';

// Probes the machine the tests run on, for real. Facts about it are asserted only where they hold
// on every machine (TCG runs guests, capacity is non-zero); the rest is printed for the reader.
describe('host probe on this machine', () => {
  it('boots Palisade Tiny under TCG, reads capacity, and yields a compliance report', async () => {
    // The test guest comes from the builder's cache (built on first use).
    const image = JSON.parse(
      execFileSync(
        process.execPath,
        [path.resolve(__dirname, '../../../../tools/guest-image/bin/build.mjs')],
        {
          encoding: 'utf8',
        },
      ),
    ) as { directBoot: { kernel: string; initrd: string } };
    const probe = await probeHost({
      libvirtUri: 'qemu:///system',
      stateDir: os.tmpdir(),
      guestTimeoutMs: 20_000,
      guest: { ...image.directBoot, marker: 'PALISADE-TINY BOOT' },
    });
    const report = assessCompliance(probe);
    console.log(JSON.stringify({ probe, report }, null, 2));
    expect(probe.tcg).toMatchObject({
      works: true,
      detail: expect.stringContaining('test kernel reached its marker'),
    });
    // Whatever KVM does on this machine, the probe must have booted the kernel to decide it.
    expect(probe.kvm.detail).toMatch(/test kernel|absent/);
    expect(probe.cpu.count).toBe(os.cpus().length);
    expect(probe.memoryMiB).toBeGreaterThan(0);
    expect(probe.storage?.totalGiB).toBeGreaterThan(0);
    expect(report.acceleration).not.toBeNull();
    expect(['compliant', 'degraded', 'non-compliant']).toContain(report.status);
    // The network verdicts are the kernel's, asked again here in a namespace of its own.
    const kernel = await probeKernelNetFeatures();
    expect(report.network).toEqual({
      vlan: kernel.vlan8021q.supported,
      vxlan: probe.network.vxlan,
      bandwidth: kernel.bandwidth.supported,
    });
    expect(probe.network.bandwidth.missing).toEqual(kernel.bandwidth.missing);
    expect(report.checks.find((c) => c.id === 'bandwidth')?.status).toBe(
      kernel.bandwidth.supported ? 'pass' : 'fail',
    );
  }, 90_000);

  it('without a test kernel, KVM is never trusted on the strength of a boot sector', async () => {
    const probe = await probeHost({
      libvirtUri: 'qemu:///system',
      stateDir: os.tmpdir(),
      guestTimeoutMs: 10_000,
    });
    expect(probe.kvm.works).toBe(false);
    expect(probe.tcg.works).toBe(true);
  }, 60_000);

  it('the boot sector is a valid MBR', () => {
    const s = markerBootSector();
    expect(s.length).toBe(512);
    expect([s[510], s[511]]).toEqual([0x55, 0xaa]);
  });
});
