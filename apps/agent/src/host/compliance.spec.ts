import { describe, expect, it } from 'vitest';
import { assessCompliance, type HostProbe } from './compliance';
import { parseSecurityModels, parseVirshVersion } from './probe';

const base: HostProbe = {
  hostname: 'hv1',
  kernel: '6.1.0',
  cpu: { model: 'x', count: 2, virtFlags: ['vmx'] },
  memoryMiB: 24_000,
  storage: { path: '/var/lib/palisade', totalGiB: 100, freeGiB: 80 },
  kvm: { devicePresent: true, works: true, detail: 'ok' },
  tcg: { works: true, detail: 'ok' },
  libvirt: {
    reachable: true,
    version: '9.0.0',
    qemuVersion: '7.2.0',
    securityModels: ['selinux', 'dac'],
    nwfilters: ['clean-traffic'],
  },
  selinux: { present: true, enforcing: true },
  apparmor: { enabled: false },
  ksm: { enabled: false },
  nestedVirt: { enabled: false },
  cgroup: { version: 1, controllers: ['cpu', 'cpuacct', 'memory', 'blkio'] },
  network: { bridge: true, vxlan: true, vlan8021q: true },
};

describe('assessCompliance', () => {
  it('a SELinux-enforcing KVM host is compliant and uses the selinux driver', () => {
    const r = assessCompliance(base);
    expect(r).toMatchObject({
      status: 'compliant',
      securityDriver: 'selinux',
      acceleration: 'kvm',
    });
    expect(r.checks.every((c) => c.status === 'pass')).toBe(true);
  });

  it('SELinux present but permissive does not count as sVirt', () => {
    const r = assessCompliance({ ...base, selinux: { present: true, enforcing: false } });
    expect(r.securityDriver).toBe('none');
    expect(r.status).toBe('degraded');
    expect(r.checks.find((c) => c.id === 'svirt')?.detail).toContain('SELinux permissive');
  });

  it('this kind of machine: no MAC, KVM hangs, TCG works, no 802.1Q → degraded on TCG, saying why', () => {
    const r = assessCompliance({
      ...base,
      kvm: {
        devicePresent: true,
        works: false,
        detail: 'test kernel printed nothing within 10000 ms',
      },
      libvirt: { ...base.libvirt, securityModels: ['none', 'dac'] },
      selinux: { present: false, enforcing: false },
      network: { bridge: true, vxlan: true, vlan8021q: false },
    });
    expect(r.status).toBe('degraded');
    expect(r.acceleration).toBe('tcg');
    expect(r.securityDriver).toBe('none');
    expect(r.checks.find((c) => c.id === 'svirt')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('[none, dac]'),
    });
    expect(r.checks.find((c) => c.id === 'vlan')?.status).toBe('warn');
    expect(r.checks.find((c) => c.id === 'acceleration')?.detail).toContain('TCG only');
  });

  it('AppArmor hosts use the apparmor driver', () => {
    const r = assessCompliance({
      ...base,
      selinux: { present: false, enforcing: false },
      apparmor: { enabled: true },
      libvirt: { ...base.libvirt, securityModels: ['apparmor', 'dac'] },
    });
    expect(r.securityDriver).toBe('apparmor');
  });

  it('no libvirt or no accelerator at all is non-compliant', () => {
    expect(
      assessCompliance({
        ...base,
        libvirt: { reachable: false, securityModels: [], nwfilters: [], detail: 'no socket' },
      }).status,
    ).toBe('non-compliant');
    expect(
      assessCompliance({
        ...base,
        kvm: { ...base.kvm, works: false },
        tcg: { works: false, detail: 'x' },
      }).acceleration,
    ).toBeNull();
  });

  it('a missing clean-traffic filter is a failure: guests could spoof', () => {
    expect(assessCompliance({ ...base, libvirt: { ...base.libvirt, nwfilters: [] } }).status).toBe(
      'degraded',
    );
  });
});

describe('virsh output parsing', () => {
  it('reads versions and security models', () => {
    expect(
      parseVirshVersion(
        'Compiled against library: libvirt 9.0.0\nUsing library: libvirt 9.0.0\nUsing API: QEMU 9.0.0\nRunning hypervisor: QEMU 7.2.19\n',
      ),
    ).toEqual({
      version: '9.0.0',
      qemuVersion: '7.2.19',
    });
    expect(
      parseSecurityModels(
        '<host><secmodel>\n<model>none</model>\n<doi>0</doi>\n</secmodel><secmodel>\n<model>dac</model></secmodel></host>',
      ),
    ).toEqual(['none', 'dac']);
  });
});
