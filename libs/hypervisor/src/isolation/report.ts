/**
 * The isolation report: reads back, from the running host, what actually isolates one VM: the
 * seclabels in the *live* domain XML, the cgroup values in cgroupfs, the bridge each tap is a port
 * of (sysfs) and the nwfilter libvirt bound to it, and the encryption of each disk image
 * (`qemu-img info`). Every value carries where it was read.
 *
 * It does not talk to libvirt itself: the live XML and the nwfilter bindings come in as data or a
 * function, so this stays independent of how the agent reaches libvirt (LibvirtHypervisor or
 * `virsh`). Must never: report a value from the spec or the designer as if measured, or write
 * anything.
 */
import { readFile, readdir, readlink } from 'node:fs/promises';
import path from 'node:path';
import type { IsolationReport } from '@palisade/contracts';
import { parseDomainXml } from '../domain/domain';
import { execRunner, type CommandRunner } from '../host-network/linux-segments';

export interface NwfilterBinding {
  /** The tap, e.g. `vnet0`. */
  port: string;
  filter: string;
}

export interface CollectIsolationInput {
  /** `virsh dumpxml` of the running domain (not `--inactive`). */
  liveXml: string;
  /** libvirt's nwfilter bindings on the host (`virsh nwfilter-binding-list`, see
   *  `parseNwfilterBindingList`). */
  nwfilterBindings: () => Promise<NwfilterBinding[]>;
  /** The network namespace the host's taps live in (the functional tests' lab); root when absent. */
  netns?: string;
  /** What the host knows about why it cannot shape bandwidth (the agent's kernel probe, e.g.
   *  "kernel lacks sfq"); it only words the weakening, which the live XML decides. */
  bandwidthUnenforceable?: string;
  cgroupRoot?: string;
  run?: CommandRunner;
  now?: () => Date;
}

/** Parses the table `virsh nwfilter-binding-list` prints. */
export function parseNwfilterBindingList(text: string): NwfilterBinding[] {
  return text
    .split('\n')
    .slice(2) // header and rule
    .map((l) => l.trim().split(/\s+/))
    .filter((cols) => cols.length === 2 && cols[0] !== '')
    .map(([port, filter]) => ({ port: port!, filter: filter! }));
}

// cgroup v1 memory controller's "no limit": PAGE_COUNTER_MAX pages rounded, far above 2^53.
const UNLIMITED_BYTES = 2 ** 62;

async function readNumber(file: string): Promise<number | null> {
  try {
    const n = Number((await readFile(file, 'utf8')).trim());
    return Number.isFinite(n) ? n : null;
  } catch {
    return null;
  }
}

/** libvirt's machine cgroup: `<partition dirs>/qemu-<id>-<name>.libvirt-qemu` (names may be
 *  truncated or escaped by libvirt, so the directory is looked up by its `qemu-<id>-` prefix). */
async function findDomainCgroup(
  root: string,
  partition: string,
  id: number | undefined,
  name: string,
): Promise<string | null> {
  const parts = partition.replace(/^\//, '').split('/');
  const rel = parts.map((p, i) => (i === 0 ? p : `${p}.partition`)).join('/');
  let entries: string[];
  try {
    entries = await readdir(path.join(root, 'cpu', rel));
  } catch {
    return null;
  }
  const hit =
    entries.find((e) => e === `qemu-${id}-${name}.libvirt-qemu`) ??
    entries.find(
      (e) => id !== undefined && e.startsWith(`qemu-${id}-`) && e.endsWith('.libvirt-qemu'),
    );
  return hit === undefined ? null : `${rel}/${hit}`;
}

async function tapMaster(
  tap: string,
  netns: string | undefined,
  run: CommandRunner,
): Promise<{ value: string | null; source: string }> {
  const file = `/sys/class/net/${tap}/master`;
  if (netns === undefined) {
    try {
      return { value: path.basename(await readlink(file)), source: `sysfs ${file}` };
    } catch {
      return { value: null, source: `sysfs ${file} (absent: not a bridge port)` };
    }
  }
  // /sys shows the namespace that mounted it; `ip netns exec` mounts the namespace's own sysfs
  // for the one command (harmless for a read; never used to start daemons, see the lab).
  const source = `sysfs ${file} in netns ${netns} (ip netns exec ${netns} readlink)`;
  try {
    const out = (await run(['ip', 'netns', 'exec', netns, 'readlink', file])).stdout.trim();
    return { value: out === '' ? null : path.basename(out), source };
  } catch {
    return { value: null, source: `${source}: absent, not a bridge port` };
  }
}

async function imageEncryption(
  file: string,
  run: CommandRunner,
): Promise<{ format: string | null; encryption: { value: string; source: string } }> {
  // -U: the running QEMU holds the image lock; reading the header needs no key.
  const source = `qemu-img info --output=json -U ${file}`;
  const info = JSON.parse(
    (await run(['qemu-img', 'info', '--output=json', '-U', file])).stdout,
  ) as {
    format?: string;
    encrypted?: boolean;
    'format-specific'?: { data?: { encrypt?: { format?: string } } };
  };
  const fmt = info['format-specific']?.data?.encrypt?.format;
  return {
    format: info.format ?? null,
    encryption: { value: fmt ?? (info.encrypted ? 'unknown' : 'none'), source },
  };
}

export async function collectIsolationReport(
  input: CollectIsolationInput,
): Promise<IsolationReport> {
  const run = input.run ?? execRunner;
  const root = input.cgroupRoot ?? '/sys/fs/cgroup';
  const domain = parseDomainXml(input.liveXml);
  const xmlSource = `live domain XML of ${domain.name}`;

  // --- cgroups
  const cg = await findDomainCgroup(
    root,
    domain.resource?.partition ?? '/machine',
    domain.id,
    domain.name,
  );
  const file = (controller: string, ...rest: string[]) =>
    cg === null ? null : path.join(root, controller, cg, ...rest);
  const measuredFile = async (f: string | null, map: (n: number) => number | null = (n) => n) => {
    if (f === null) return { value: null, source: 'domain cgroup not found' };
    const n = await readNumber(f);
    return { value: n === null ? null : map(n), source: n === null ? `${f} (not present)` : f };
  };
  const vcpus: IsolationReport['cgroups']['vcpus'] = [];
  if (cg !== null)
    for (let i = 0; i < domain.vcpus; i++) {
      const quota = await readNumber(file('cpu', `vcpu${i}`, 'cpu.cfs_quota_us')!);
      const period = await readNumber(file('cpu', `vcpu${i}`, 'cpu.cfs_period_us')!);
      if (quota !== null && period !== null)
        vcpus.push({ vcpu: i, quotaUs: quota, periodUs: period, source: file('cpu', `vcpu${i}`)! });
    }
  const limit = (n: number) => (n >= UNLIMITED_BYTES ? null : n);

  // --- network
  const bindings = await input.nwfilterBindings();
  const network: IsolationReport['network'] = [];
  for (const nic of domain.devices.interfaces) {
    const tap = nic.targetDev ?? null;
    const bound = tap === null ? undefined : bindings.find((b) => b.port === tap);
    network.push({
      mac: nic.mac,
      tap,
      bridge:
        tap === null
          ? { value: null, source: `${xmlSource}: no target dev` }
          : await tapMaster(tap, input.netns, run),
      filter: { value: nic.filterref?.filter ?? null, source: `${xmlSource} <filterref>` },
      filterParameters: Object.fromEntries(
        (nic.filterref?.parameters ?? []).map((p) => [p.name, p.value]),
      ),
      binding: { value: bound?.filter ?? null, source: 'virsh nwfilter-binding-list' },
      bandwidth: {
        value: nic.bandwidth
          ? {
              inboundAverageKBps: nic.bandwidth.inbound?.average ?? null,
              outboundAverageKBps: nic.bandwidth.outbound?.average ?? null,
            }
          : null,
        source: `${xmlSource} <interface> <bandwidth>`,
      },
    });
  }

  // --- storage
  const storage: IsolationReport['storage'] = [];
  for (const disk of domain.devices.disks) {
    const { format, encryption } = await imageEncryption(disk.sourceFile, run);
    storage.push({
      target: disk.target.dev,
      path: disk.sourceFile,
      readonly: disk.readonly === true,
      format,
      encryption,
    });
  }

  const seclabels = domain.seclabels.map((s) => ({
    model: s.model ?? null,
    type: s.type,
    label: s.label ?? null,
    imageLabel: s.imagelabel ?? null,
    source: `${xmlSource} <seclabel>`,
  }));

  return {
    vmId: domain.uuid,
    domainName: domain.name,
    measuredAt: (input.now ?? (() => new Date()))().toISOString(),
    seclabels,
    cgroups: {
      path: cg,
      cpuShares: await measuredFile(file('cpu', 'cpu.shares')),
      vcpus,
      memoryHardLimitBytes: await measuredFile(file('memory', 'memory.limit_in_bytes'), limit),
      memorySoftLimitBytes: await measuredFile(file('memory', 'memory.soft_limit_in_bytes'), limit),
      // CFQ's blkio.weight, or BFQ's blkio.bfq.weight where BFQ is the scheduler (this kernel).
      blkioWeight:
        cg !== null && (await readNumber(file('blkio', 'blkio.weight')!)) === null
          ? await measuredFile(file('blkio', 'blkio.bfq.weight'))
          : await measuredFile(file('blkio', 'blkio.weight')),
    },
    network,
    storage,
    weakenings: weakeningsOf({ seclabels, network, storage }, xmlSource, input),
  };
}

/** The weakenings the measurements show: read from the report's own values, so a weakening is
 *  named exactly when the live system lacks the mechanism, whatever the spec or designer said. */
function weakeningsOf(
  r: Pick<IsolationReport, 'seclabels' | 'network' | 'storage'>,
  xmlSource: string,
  input: CollectIsolationInput,
): IsolationReport['weakenings'] {
  const out: IsolationReport['weakenings'] = [];
  if (!r.seclabels.some((s) => s.model === 'selinux' || s.model === 'apparmor'))
    out.push({
      mechanism: 'svirt',
      reason: 'no SELinux or AppArmor label: the VM runs without mandatory access control',
      source: `${xmlSource} <seclabel>`,
    });
  for (const nic of r.network)
    if (nic.bandwidth?.value === null)
      out.push({
        mechanism: 'bandwidth',
        reason: `bandwidth limit not enforced: ${input.bandwidthUnenforceable ?? 'the interface has no <bandwidth>'}`,
        source: `${xmlSource}: interface ${nic.mac} has no <bandwidth>`,
      });
  for (const d of r.storage)
    if (!d.readonly && d.encryption.value === 'none')
      out.push({
        mechanism: 'disk-encryption',
        reason: `disk ${d.target} is not encrypted`,
        source: d.encryption.source,
      });
  return out;
}
