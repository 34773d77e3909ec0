/**
 * What a host can enforce, derived from its probe. Pure: the probe does the I/O, this decides.
 * The agent's fail-closed check and each VM's isolation report read this, so every "no" carries
 * the fact it rests on.
 */
export interface HostProbe {
  hostname: string;
  kernel: string;
  cpu: { model: string; count: number; virtFlags: ('vmx' | 'svm')[] };
  memoryMiB: number;
  storage: { path: string; totalGiB: number; freeGiB: number } | null;
  kvm: { devicePresent: boolean; works: boolean; detail: string };
  tcg: { works: boolean; detail: string };
  libvirt: {
    reachable: boolean;
    version?: string;
    qemuVersion?: string;
    securityModels: string[];
    nwfilters: string[];
    detail?: string;
  };
  selinux: { present: boolean; enforcing: boolean };
  apparmor: { enabled: boolean };
  ksm: { enabled: boolean | null };
  nestedVirt: { enabled: boolean | null };
  cgroup: { version: 1 | 2; controllers: string[] };
  network: {
    bridge: boolean;
    vxlan: boolean;
    /** From an attempt to create a VLAN link in a throwaway namespace, not from module lists. */
    vlan8021q: boolean;
    /** The kernel's answer when it refused, e.g. "Unknown device type.". */
    vlanDetail?: string;
    dummy: boolean;
    /** Whether the kernel can build libvirt's `<bandwidth>` shaping (htb, sfq, fw, ingress,
     *  police), tried in a throwaway namespace; `missing` names what it refused. */
    bandwidth: { enforceable: boolean; missing: string[]; detail: string };
  };
}

export type CheckStatus = 'pass' | 'fail' | 'warn';

export interface ComplianceCheck {
  id: string;
  status: CheckStatus;
  detail: string;
}

export interface ComplianceReport {
  /** `compliant`: every isolation mechanism can be enforced. `degraded`: some cannot, and VMs that
   *  require them will be refused unless the operator allowed weaker isolation. */
  status: 'compliant' | 'degraded' | 'non-compliant';
  securityDriver: 'selinux' | 'apparmor' | 'none';
  acceleration: 'kvm' | 'tcg' | null;
  checks: ComplianceCheck[];
  /** What the host's kernel can enforce for tenant networks (the `vlan`, `vxlan` and `bandwidth`
   *  checks as booleans, for callers that decide on them). */
  network: { vlan: boolean; vxlan: boolean; bandwidth: boolean };
}

/** Why this host cannot shape interface bandwidth, in the words a VM's weakening uses; undefined
 *  when it can. */
export function bandwidthUnenforceableReason(p: HostProbe): string | undefined {
  const b = p.network.bandwidth;
  if (b.enforceable) return undefined;
  return b.missing.length > 0 ? `kernel lacks ${b.missing.join(', ')}` : b.detail;
}

const check = (
  id: string,
  ok: boolean,
  pass: string,
  fail: string,
  soft = false,
): ComplianceCheck => ({
  id,
  status: ok ? 'pass' : soft ? 'warn' : 'fail',
  detail: ok ? pass : fail,
});

export function securityDriverOf(p: HostProbe): ComplianceReport['securityDriver'] {
  if (p.libvirt.securityModels.includes('selinux') && p.selinux.enforcing) return 'selinux';
  if (p.libvirt.securityModels.includes('apparmor') && p.apparmor.enabled) return 'apparmor';
  return 'none';
}

export function assessCompliance(p: HostProbe): ComplianceReport {
  const driver = securityDriverOf(p);
  const acceleration = p.kvm.works ? 'kvm' : p.tcg.works ? 'tcg' : null;
  const checks: ComplianceCheck[] = [
    check(
      'libvirt',
      p.libvirt.reachable,
      `libvirt ${p.libvirt.version ?? '?'} with QEMU ${p.libvirt.qemuVersion ?? '?'}`,
      `libvirt unreachable: ${p.libvirt.detail ?? 'no answer'}`,
    ),
    check(
      'acceleration',
      acceleration !== null,
      acceleration === 'kvm' ? 'KVM runs guests' : `TCG only: ${p.kvm.detail}`,
      `no guest could run: kvm: ${p.kvm.detail}; tcg: ${p.tcg.detail}`,
    ),
    check(
      'svirt',
      driver !== 'none',
      driver === 'selinux'
        ? 'SELinux is enforcing and libvirt offers the selinux model'
        : 'AppArmor is enabled and libvirt offers the apparmor model',
      `no mandatory access control: libvirt offers [${p.libvirt.securityModels.join(', ') || 'nothing'}], SELinux ${p.selinux.present ? (p.selinux.enforcing ? 'enforcing' : 'permissive') : 'absent'}, AppArmor ${p.apparmor.enabled ? 'enabled' : 'absent'}`,
    ),
    check(
      'cgroups',
      ['cpu', 'memory', 'blkio'].every((c) => p.cgroup.controllers.includes(c)) ||
        (p.cgroup.version === 2 &&
          ['cpu', 'memory', 'io'].every((c) => p.cgroup.controllers.includes(c))),
      `cgroup v${p.cgroup.version} with cpu, memory and block I/O controllers`,
      `cgroup v${p.cgroup.version} lacks controllers: has [${p.cgroup.controllers.join(', ')}]`,
    ),
    check(
      'nwfilter',
      p.libvirt.nwfilters.includes('clean-traffic'),
      'libvirt nwfilter clean-traffic is defined',
      'libvirt has no clean-traffic nwfilter: guests could spoof addresses',
    ),
    check(
      'vxlan',
      p.network.vxlan,
      'kernel supports VXLAN',
      'kernel lacks VXLAN: VXLAN segments cannot reach this host',
      true,
    ),
    check(
      'vlan',
      p.network.vlan8021q,
      'kernel supports 802.1Q VLANs',
      `VLAN is unavailable: the kernel lacks 802.1Q (CONFIG_VLAN_8021Q${p.network.vlanDetail ? `; it answered "${p.network.vlanDetail}"` : ''}): VLAN segments are refused on this host`,
      true,
    ),
    check(
      'bandwidth',
      p.network.bandwidth.enforceable,
      'kernel shapes interface bandwidth as libvirt asks (htb, sfq, fw, ingress, police)',
      `interface bandwidth limits cannot be enforced: ${p.network.bandwidth.detail}; VMs start without <bandwidth> and say so`,
    ),
    check(
      'nested-virt',
      p.nestedVirt.enabled !== true,
      'nested virtualisation is off',
      'nested virtualisation is on in the host kernel; guests get it only if their CPU model allows (the designer disables vmx/svm)',
      true,
    ),
    check(
      'ksm',
      p.ksm.enabled !== true,
      'KSM is off (no cross-VM page sharing side channel)',
      'KSM is on: pages are shared across tenants (memory deduplication side channels)',
      true,
    ),
  ];
  const hardFail = checks.some(
    (c) => c.status === 'fail' && ['libvirt', 'acceleration', 'cgroups'].includes(c.id),
  );
  const anyFail = checks.some((c) => c.status === 'fail');
  return {
    status: hardFail ? 'non-compliant' : anyFail ? 'degraded' : 'compliant',
    securityDriver: driver,
    acceleration,
    checks,
    network: {
      vlan: p.network.vlan8021q,
      vxlan: p.network.vxlan,
      bandwidth: p.network.bandwidth.enforceable,
    },
  };
}
