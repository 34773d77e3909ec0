import { describe, expect, it } from 'vitest';
import { assessCompliance, bandwidthUnenforceableReason, type HostProbe } from './compliance';
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
  network: {
    bridge: true,
    vxlan: true,
    vlan8021q: true,
    dummy: true,
    bandwidth: {
      enforceable: true,
      missing: [],
      detail: 'htb, sfq, fw, ingress and police accepted',
    },
  },
};

/** What this machine's kernel answered (2026-11-21): no 802.1Q, no dummy, no sfq/fw/police. */
const THIS_KERNEL_NETWORK: HostProbe['network'] = {
  bridge: true,
  vxlan: true,
  vlan8021q: false,
  vlanDetail: 'Unknown device type.',
  dummy: false,
  bandwidth: {
    enforceable: false,
    missing: ['sfq', 'fw', 'police'],
    detail:
      'kernel lacks sfq, fw, police (sfq: Specified qdisc kind is unknown.; fw: TC classifier not found.; police: Failed to load TC action module.)',
  },
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
      network: THIS_KERNEL_NETWORK,
    });
    expect(r.status).toBe('degraded');
    expect(r.acceleration).toBe('tcg');
    expect(r.securityDriver).toBe('none');
    expect(r.checks.find((c) => c.id === 'svirt')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('[none, dac]'),
    });
    expect(r.checks.find((c) => c.id === 'vlan')).toMatchObject({
      status: 'warn',
      detail: expect.stringContaining('VLAN is unavailable'),
    });
    expect(r.checks.find((c) => c.id === 'bandwidth')).toMatchObject({
      status: 'fail',
      detail: expect.stringContaining('sfq: Specified qdisc kind is unknown'),
    });
    expect(r.network).toEqual({ vlan: false, vxlan: true, bandwidth: false });
    expect(r.checks.find((c) => c.id === 'acceleration')?.detail).toContain('TCG only');
  });

  it('a kernel that cannot shape bandwidth alone makes the host degraded, not non-compliant', () => {
    const p = { ...base, network: { ...base.network, bandwidth: THIS_KERNEL_NETWORK.bandwidth } };
    const r = assessCompliance(p);
    expect(r.status).toBe('degraded');
    expect(r.checks.filter((c) => c.status !== 'pass').map((c) => c.id)).toEqual(['bandwidth']);
    expect(bandwidthUnenforceableReason(p)).toBe('kernel lacks sfq, fw, police');
    expect(bandwidthUnenforceableReason(base)).toBeUndefined();
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
