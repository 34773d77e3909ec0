/**
 * Compares what a VM's spec asks of each isolation mechanism with what its host measured (the
 * agent's isolation report), so a tenant reads a verdict per mechanism with the file or command
 * it was read from — not a claim the control plane made about itself.
 *
 * Pure: the report and the expectation come in as parameters. A mechanism the host weakened with
 * the operator's permission (and said so when it started the VM) is `weakened`, never `pass`.
 */
import type { IsolationCheck, IsolationReport, VmIsolation } from '@palisade/contracts';

export interface IsolationExpectation {
  /** The MCS pair the control plane allocated; null when the VM has none (never for a VM that ran). */
  mcs: { c1: number; c2: number } | null;
  /** The flavor's CPU quota per vCPU, or null for no quota. */
  cpu: { quotaUs: number | null; periodUs: number };
  /** The cgroup memory hard limit the spec sets, or undefined for none. */
  memoryHardLimitMiB?: number;
  /** Each NIC with its address and, when the flavor limits it, its average rate in KiB/s. */
  nics: { mac: string; ip: string; averageKBps?: number }[];
}

type Weakening = { mechanism: string; reason: string };

const check = (
  mechanism: IsolationCheck['mechanism'],
  status: IsolationCheck['status'],
  expected: string,
  measured: string,
  source: string,
): IsolationCheck => ({ mechanism, status, expected, measured, source });

function svirtCheck(
  e: IsolationExpectation,
  r: IsolationReport,
  weakened: Weakening | undefined,
): IsolationCheck {
  const labels = r.seclabels.filter((l) => l.model !== null && l.model !== 'none');
  const measured =
    labels.map((l) => `${l.model} ${l.type}${l.label ? ` ${l.label}` : ''}`).join('; ') ||
    'no security label';
  const source = labels[0]?.source ?? r.seclabels[0]?.source ?? 'live domain XML';
  const mcs = e.mcs ? `s0:c${e.mcs.c1},c${e.mcs.c2}` : null;
  const selinux = labels.find((l) => l.model === 'selinux');
  const apparmor = labels.find((l) => l.model === 'apparmor');
  const expected = mcs ? `SELinux label with ${mcs} (or an AppArmor profile)` : 'a MAC label';
  if (selinux && mcs && selinux.label?.endsWith(mcs) && selinux.imageLabel?.endsWith(mcs))
    return check('svirt', 'pass', expected, measured, selinux.source);
  if (apparmor?.label) return check('svirt', 'pass', expected, measured, apparmor.source);
  if (weakened) return check('svirt', 'weakened', expected, measured, source);
  return check('svirt', 'fail', expected, measured, source);
}

function cpuCheck(e: IsolationExpectation, r: IsolationReport): IsolationCheck {
  const vcpus = r.cgroups.vcpus;
  const source = vcpus[0]?.source ?? r.cgroups.cpuShares.source;
  const expected =
    e.cpu.quotaUs === null
      ? 'no CPU quota'
      : `quota ${e.cpu.quotaUs} µs per ${e.cpu.periodUs} µs on every vCPU`;
  if (vcpus.length === 0)
    return check('cpu', 'unmeasured', expected, 'no vCPU cgroup found', source);
  const measured = vcpus.map((v) => `vcpu${v.vcpu} ${v.quotaUs}/${v.periodUs}`).join(', ');
  const ok = vcpus.every((v) =>
    e.cpu.quotaUs === null
      ? v.quotaUs < 0
      : v.quotaUs === e.cpu.quotaUs && v.periodUs === e.cpu.periodUs,
  );
  return check('cpu', ok ? 'pass' : 'fail', expected, measured, source);
}

function memoryCheck(limitMiB: number, r: IsolationReport): IsolationCheck {
  const m = r.cgroups.memoryHardLimitBytes;
  const expected = `hard limit ${limitMiB} MiB`;
  if (m.value === null) return check('memory', 'fail', expected, 'unlimited', m.source);
  const mib = m.value / 1024 / 1024;
  return check('memory', mib === limitMiB ? 'pass' : 'fail', expected, `${mib} MiB`, m.source);
}

function bandwidthCheck(
  nic: IsolationExpectation['nics'][number] & { averageKBps: number },
  got: IsolationReport['network'][number],
  weakened: Weakening | undefined,
): IsolationCheck {
  const expected = `NIC ${nic.mac} limited to ${nic.averageKBps} KiB/s on average`;
  const b = got.bandwidth;
  if (!b)
    return check('bandwidth', 'unmeasured', expected, 'not reported by this host', 'live XML');
  const rate = b.value?.outboundAverageKBps ?? b.value?.inboundAverageKBps ?? null;
  if (rate === null)
    return check('bandwidth', weakened ? 'weakened' : 'fail', expected, 'no limit', b.source);
  const both = `in ${b.value?.inboundAverageKBps ?? '—'}, out ${b.value?.outboundAverageKBps ?? '—'} KiB/s`;
  const ok =
    b.value?.inboundAverageKBps === nic.averageKBps &&
    b.value?.outboundAverageKBps === nic.averageKBps;
  return check('bandwidth', ok ? 'pass' : 'fail', expected, both, b.source);
}

function nicChecks(
  e: IsolationExpectation,
  r: IsolationReport,
  bandwidthWeakened: Weakening | undefined,
): IsolationCheck[] {
  return e.nics.flatMap((nic) => {
    const got = r.network.find((n) => n.mac.toLowerCase() === nic.mac.toLowerCase());
    if (!got)
      return [
        check('network', 'fail', `NIC ${nic.mac} on its segment bridge`, 'NIC absent', 'live XML'),
        check('filter', 'fail', `clean-traffic for ${nic.ip}`, 'NIC absent', 'live XML'),
      ];
    const bridge = got.bridge.value;
    const bound = got.binding.value;
    const ip = got.filterParameters.IP;
    return [
      check(
        'network',
        bridge ? 'pass' : 'fail',
        `NIC ${nic.mac} on its segment bridge`,
        bridge ? `tap ${got.tap ?? '?'} on ${bridge}` : 'tap on no bridge',
        got.bridge.source,
      ),
      check(
        'filter',
        bound === 'clean-traffic' && ip === nic.ip ? 'pass' : 'fail',
        `clean-traffic bound to the tap, IP=${nic.ip}`,
        `${bound ?? 'no filter bound'}${ip ? `, IP=${ip}` : ''}`,
        got.binding.source,
      ),
      ...(nic.averageKBps === undefined
        ? []
        : [bandwidthCheck({ ...nic, averageKBps: nic.averageKBps }, got, bandwidthWeakened)]),
    ];
  });
}

function storageChecks(r: IsolationReport, weakened: Weakening | undefined): IsolationCheck[] {
  // The NoCloud seed is read-only and holds only what the tenant gave it; every other disk holds
  // guest data and must be LUKS.
  return r.storage
    .filter((d) => !d.readonly)
    .map((d) => {
      const luks = d.encryption.value === 'luks';
      return check(
        'storage',
        luks ? 'pass' : weakened ? 'weakened' : 'fail',
        `${d.target} LUKS-encrypted`,
        `${d.target}: ${d.encryption.value}`,
        d.encryption.source,
      );
    });
}

/** Every check for this VM, and the verdict they add up to. */
export function checkIsolation(
  e: IsolationExpectation,
  report: IsolationReport | null,
  weakenings: readonly Weakening[],
): Pick<VmIsolation, 'verdict' | 'checks'> {
  if (!report) return { verdict: 'unknown', checks: [] };
  // Only what the host said when it started the VM (the operator's permission) makes a missing
  // mechanism `weakened`; the report's own list describes what is missing, not that it may be.
  const weak = (m: string) => weakenings.find((w) => w.mechanism === m);
  const checks = [
    svirtCheck(e, report, weak('svirt')),
    cpuCheck(e, report),
    ...(e.memoryHardLimitMiB === undefined ? [] : [memoryCheck(e.memoryHardLimitMiB, report)]),
    ...nicChecks(e, report, weak('bandwidth')),
    ...storageChecks(report, weak('disk-encryption')),
  ];
  const has = (s: IsolationCheck['status']) => checks.some((c) => c.status === s);
  const verdict = has('fail')
    ? 'violated'
    : has('unmeasured')
      ? 'unknown'
      : has('weakened')
        ? 'weakened'
        : 'isolated';
  return { verdict, checks };
}
