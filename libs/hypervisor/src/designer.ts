/**
 * The designer: maps a `VmSpec` and what the host can enforce onto the libvirt domain model. Every
 * isolation decision for a VM's definition is made here (after Nova's `designer.py`); the model in
 * `domain/` only writes what it is told.
 *
 * Fail closed: when the host cannot enforce sVirt and the spec requires it, the designer returns a
 * refusal (an expected outcome) instead of a weaker domain, unless the operator explicitly marked
 * the host as allowing weaker isolation. Whatever is weakened is listed in the result's
 * `isolation` summary, which the VM's isolation report shows its tenant.
 *
 * Must never: do I/O, read the clock or randomness (same inputs, same XML), or emit a VNC listen
 * reachable off the host.
 */
import type { VmSpec } from '@palisade/contracts';
import type { Cpu } from './domain/cpu';
import type { Disk } from './domain/disk';
import { domainToXml, type Domain } from './domain/domain';
import type { Graphics } from './domain/graphics';
import type { Interface } from './domain/interface';
import type { PalisadeMetadata } from './domain/metadata';
import type { SecLabel } from './domain/seclabel';
import type { MemTune } from './domain/tuning';

export type SecurityDriver = 'selinux' | 'apparmor' | 'none';

/** What the host enforces, from the agent's probe and the operator's settings. */
export interface HostSecurity {
  /** The MAC security driver libvirt enforces here (`selinux` only when SELinux is enforcing). */
  securityDriver: SecurityDriver;
  /** Set by an operator, never inferred: VMs that require sVirt may run here without it. */
  allowWeakerIsolation: boolean;
  /** `kvm` -> `<domain type='kvm'>`; `tcg` -> `<domain type='qemu'>`. Probed, not assumed:
   *  on some machines /dev/kvm exists but KVM guests hang (DESIGN.md, machine facts). */
  acceleration: 'kvm' | 'tcg';
  /** Why this host cannot shape an interface's `<bandwidth>` (e.g. "kernel lacks sfq"), from the
   *  agent's kernel probe or the operator's override; absent when it can. libvirt fails the start
   *  of a domain whose `<bandwidth>` the kernel cannot build ("Specified qdisc kind is unknown"),
   *  so the designer leaves it out and lists the weakening instead of refusing: a rate limit
   *  protects the host's uplink, not one tenant from another's data. */
  bandwidthUnenforceable?: string;
}

export interface DesignOptions {
  /**
   * Where the memory hard limit goes.
   *
   * - `domain-xml`: `<memtune><hard_limit>` in the definition.
   * - `post-start` (default): left out of the XML and returned as a `postStart` step, applied with
   *   `virsh memtune DOM --hard-limit N --live` once the domain runs.
   *
   * Why the default: when a hard limit is set, libvirt also sets QEMU's RLIMIT_MEMLOCK to it
   * before exec, and where that rlimit cannot be raised (containers without CAP_SYS_RESOURCE, the
   * machines DESIGN.md describes) the start fails. Measured with libvirt 9.0: "cannot limit locked
   * memory of process N to 268435456: Operation not permitted" for a 256 MiB hard_limit, while
   * `virsh memtune --hard-limit --live` on the running domain set memory.limit_in_bytes. The live
   * memtune sets only the cgroup limit. The cost: the limit is not part of the persistent definition, so the
   * agent must re-apply it after every start (including libvirt's own restarts), and there is a
   * short window after start without it. Never apply it with `--config`: the next start would fail.
   */
  memoryHardLimit?: 'domain-xml' | 'post-start';
}

export interface PostStartStep {
  kind: 'set-memory-hard-limit';
  hardLimitKiB: number;
  why: string;
}

export type AppliedLabel =
  | {
      model: 'selinux';
      type: 'static';
      processLabel: string;
      imageLabel: string;
      mcs: { c1: number; c2: number };
    }
  | {
      model: 'apparmor';
      type: 'dynamic';
      /** The profile libvirt's virt-aa-helper generates and loads for the domain. */
      profile: string;
    };

export interface Weakening {
  mechanism: 'svirt' | 'disk-encryption' | 'bandwidth';
  reason: string;
}

/** What the definition declares for each isolation mechanism. The isolation report compares
 *  these with what the host measures once the VM runs. */
export interface IsolationSummary {
  svirt: {
    requirement: VmSpec['isolation']['svirt'];
    hostDriver: SecurityDriver;
    applied: AppliedLabel | null;
  };
  cgroups: {
    partition: string;
    cpu: { shares: number; periodUs: number; quotaUs: number };
    memory: {
      hardLimitKiB?: number;
      hardLimitVia?: 'domain-xml' | 'post-start';
      softLimitKiB?: number;
    };
    blkioWeight: number;
    disks: { diskId: string; totalIopsSec?: number; totalBytesSec?: number }[];
  };
  network: {
    nicId: string;
    bridge: string;
    mac: string;
    ip: string;
    filter: 'clean-traffic';
    averageKBps: number;
  }[];
  storage: { diskId: string; volumeId: string; encryption: 'luks' | 'none' }[];
  console: { vnc: VmSpec['console']['vnc'] };
  nestedVirtualisation: 'disabled';
  /** Every mechanism that is weaker than Palisade's standard for this VM, and why. */
  weakened: Weakening[];
  notes: string[];
}

export type DesignResult =
  | {
      ok: true;
      domain: Domain;
      xml: string;
      isolation: IsolationSummary;
      postStart: PostStartStep[];
    }
  | {
      ok: false;
      reason: string;
      mechanism: 'svirt';
      requirement: VmSpec['isolation']['svirt'];
      hostDriver: SecurityDriver;
    };

/** `palisade-<uuid>`: unique per VM, unlike the tenant's own name, which goes in `<title>`. */
export function domainNameFor(vmId: string): string {
  return `palisade-${vmId}`;
}

/**
 * One cgroup partition per tenant. Dashes are dropped from the UUID because on systemd hosts
 * libvirt maps a partition onto a slice name, where `-` means nesting.
 *
 * libvirt does not create custom partitions. Measured here (libvirt 9.0, cgroup v1 + unified
 * hybrid): the start fails until `machine/palisade-<hex>.partition` exists in every mounted
 * controller *and* in `unified/`, and in `cpuset/` it must also get `cpuset.cpus` and
 * `cpuset.mems` copied from its parent (else "No space left on device" when QEMU joins it).
 * The agent has to prepare that before the first start of a tenant's VM on the host.
 */
export function tenantPartition(tenantId: string): string {
  return `/machine/palisade-${tenantId.replace(/-/g, '').toLowerCase()}`;
}

/** The SELinux process and image labels for an MCS pair (targeted policy, as sVirt uses). */
export function selinuxLabels(mcs: { c1: number; c2: number }): { process: string; image: string } {
  const range = `s0:c${mcs.c1},c${mcs.c2}`;
  return {
    process: `system_u:system_r:svirt_t:${range}`,
    image: `system_u:object_r:svirt_image_t:${range}`,
  };
}

/** virtio-blk target names in order: vda..vdz, vdaa... */
export function virtioDiskName(index: number): string {
  let n = index;
  let suffix = '';
  do {
    suffix = String.fromCharCode(97 + (n % 26)) + suffix;
    n = Math.floor(n / 26) - 1;
  } while (n >= 0);
  return `vd${suffix}`;
}

export function designDomain(
  spec: VmSpec,
  host: HostSecurity,
  options: DesignOptions = {},
): DesignResult {
  const weakened: Weakening[] = [];
  const notes: string[] = [];

  // --- sVirt -------------------------------------------------------------------------------------
  let seclabels: SecLabel[];
  let applied: AppliedLabel | null;
  switch (host.securityDriver) {
    case 'selinux': {
      // Static, so the cluster-unique pair from the control plane is used instead of one libvirt
      // picks (unique only per host) and survives migration; relabel='yes' so libvirt labels the
      // images with it.
      const labels = selinuxLabels(spec.isolation.mcs);
      seclabels = [
        {
          type: 'static',
          model: 'selinux',
          relabel: true,
          label: labels.process,
          imagelabel: labels.image,
        },
      ];
      applied = {
        model: 'selinux',
        type: 'static',
        processLabel: labels.process,
        imageLabel: labels.image,
        mcs: { c1: spec.isolation.mcs.c1, c2: spec.isolation.mcs.c2 },
      };
      break;
    }
    case 'apparmor': {
      // Dynamic, which is how libvirt's AppArmor driver is meant to be used: at start virt-aa-helper
      // writes and loads a profile `libvirt-<uuid>` granting exactly this domain's disks, kernel
      // and sockets. A static AppArmor label makes libvirt skip profile generation and image
      // updates entirely and requires a profile already loaded under that name (the driver's
      // verify step rejects the domain otherwise), so Palisade would have to write the profiles
      // itself. AppArmor has no MCS categories; the pair stays allocated for SELinux hosts.
      seclabels = [{ type: 'dynamic', model: 'apparmor', relabel: true }];
      applied = { model: 'apparmor', type: 'dynamic', profile: `libvirt-${spec.vmId}` };
      notes.push(
        'AppArmor confines the VM with a per-domain profile generated by libvirt; the MCS category pair is not used on AppArmor hosts',
      );
      break;
    }
    case 'none': {
      if (spec.isolation.svirt === 'required' && !host.allowWeakerIsolation) {
        return {
          ok: false,
          mechanism: 'svirt',
          requirement: 'required',
          hostDriver: 'none',
          reason:
            'the VM requires sVirt, but this host enforces neither SELinux nor AppArmor and is not marked as allowing weaker isolation',
        };
      }
      seclabels = [];
      applied = null;
      weakened.push({
        mechanism: 'svirt',
        reason:
          spec.isolation.svirt === 'required'
            ? 'the host enforces neither SELinux nor AppArmor; its operator allowed weaker isolation, so the VM runs without a MAC label'
            : 'the host enforces neither SELinux nor AppArmor; the VM only prefers sVirt, so it runs without a MAC label',
      });
      break;
    }
  }

  // --- cgroups ------------------------------------------------------------------------------------
  const hardLimitVia = options.memoryHardLimit ?? 'post-start';
  const hardLimitKiB =
    spec.memtune?.hardLimitMiB === undefined ? undefined : spec.memtune.hardLimitMiB * 1024;
  const softLimitKiB =
    spec.memtune?.softLimitMiB === undefined ? undefined : spec.memtune.softLimitMiB * 1024;
  const memtune: MemTune = {};
  if (hardLimitKiB !== undefined && hardLimitVia === 'domain-xml')
    memtune.hardLimitKiB = hardLimitKiB;
  if (softLimitKiB !== undefined) memtune.softLimitKiB = softLimitKiB;
  const postStart: PostStartStep[] =
    hardLimitKiB !== undefined && hardLimitVia === 'post-start'
      ? [
          {
            kind: 'set-memory-hard-limit',
            hardLimitKiB,
            why: 'a hard_limit in the definition makes libvirt raise RLIMIT_MEMLOCK at start, which this host does not allow; the limit is set live after start instead',
          },
        ]
      : [];

  // --- disks --------------------------------------------------------------------------------------
  const disks: Disk[] = spec.disks.map((d, i) => {
    const disk: Disk = {
      device: 'disk',
      // cache='none' (O_DIRECT): no host page cache shared across tenants, and writes reach the
      // image before the guest is told they did. discard='unmap' returns freed space to the host.
      driver: { type: d.format, cache: 'none', discard: 'unmap' },
      sourceFile: d.path,
      target: { dev: virtioDiskName(i), bus: d.bus },
      // virtio-blk serials are cut at 20 characters; the guest finds the volume under
      // /dev/disk/by-id/virtio-<serial>. The tail of the UUID, because time-ordered UUIDs (v7)
      // share their leading timestamp digits.
      serial: d.volumeId.replace(/-/g, '').slice(-20),
      alias: `ua-${d.id}`,
    };
    if (d.bootOrder !== undefined) disk.bootOrder = d.bootOrder;
    if (d.encrypted) disk.encryption = { format: 'luks', secretUuid: d.encrypted.secretUuid };
    else weakened.push({ mechanism: 'disk-encryption', reason: `disk ${d.id} is not encrypted` });
    const iotune: Disk['iotune'] = {};
    if (d.iotune.totalIops !== undefined) iotune.totalIopsSec = d.iotune.totalIops;
    if (d.iotune.totalBytesSec !== undefined) iotune.totalBytesSec = d.iotune.totalBytesSec;
    if (Object.keys(iotune).length > 0) disk.iotune = iotune;
    return disk;
  });
  // The NoCloud seed: a raw image labelled `cidata`, read-only so the guest cannot alter its own
  // first-boot configuration. It holds no secrets beyond the tenant's own user-data.
  const seed: Disk = {
    device: 'disk',
    driver: { type: 'raw' },
    sourceFile: spec.seed.path,
    target: { dev: virtioDiskName(disks.length), bus: 'virtio' },
    readonly: true,
    alias: 'ua-seed',
  };

  // --- network ------------------------------------------------------------------------------------
  const interfaces: Interface[] = spec.nics.map((n) => {
    const limit = {
      average: n.bandwidth.averageKBps,
      ...(n.bandwidth.peakKBps === undefined ? {} : { peak: n.bandwidth.peakKBps }),
      ...(n.bandwidth.burstKB === undefined ? {} : { burst: n.bandwidth.burstKB }),
    };
    return {
      mac: n.mac,
      sourceBridge: n.bridge,
      model: 'virtio',
      // clean-traffic takes the MAC from the interface itself; IP is given explicitly so libvirt
      // does not learn it from the guest's first packets (a guest could claim any address then).
      filterref: { filter: 'clean-traffic', parameters: [{ name: 'IP', value: n.ip }] },
      ...(host.bandwidthUnenforceable === undefined
        ? { bandwidth: { inbound: limit, outbound: { ...limit } } }
        : {}),
      alias: `ua-${n.id}`,
    };
  });
  if (host.bandwidthUnenforceable !== undefined && spec.nics.length > 0)
    weakened.push({
      mechanism: 'bandwidth',
      reason: `bandwidth limit not enforced: ${host.bandwidthUnenforceable}`,
    });

  // --- console ------------------------------------------------------------------------------------
  const graphics: Graphics[] = [];
  if (spec.console.vnc === 'loopback')
    graphics.push({
      type: 'vnc',
      autoport: true,
      listens: [{ type: 'address', address: '127.0.0.1' }],
    });
  if (spec.console.vnc === 'unix') {
    // The schema guarantees the path for 'unix'; a missing one is a broken invariant.
    if (spec.console.vncSocketPath === undefined)
      throw new Error('console.vncSocketPath missing for unix VNC');
    graphics.push({
      type: 'vnc',
      listens: [{ type: 'socket', socket: spec.console.vncSocketPath }],
    });
  }

  // --- CPU ----------------------------------------------------------------------------------------
  // Nested virtualisation is off whatever the base model: a guest hypervisor would widen the
  // attack surface of the host's KVM. TCG cannot use host-model (there is no host CPU to mirror),
  // so it gets QEMU's own baseline model, which libvirt accepts for type='qemu'.
  const noNested = [
    { policy: 'disable', name: 'vmx' },
    { policy: 'disable', name: 'svm' },
  ] as const;
  const cpu: Cpu =
    host.acceleration === 'kvm'
      ? { mode: 'host-model', features: [...noNested] }
      : {
          mode: 'custom',
          match: 'exact',
          check: 'none',
          model: { name: 'qemu64', fallback: 'forbid' },
          features: [...noNested],
        };

  // --- metadata -----------------------------------------------------------------------------------
  const palisade: PalisadeMetadata = {
    vmId: spec.vmId,
    tenantId: spec.tenantId,
    specRevision: spec.specRevision,
    name: spec.name,
    disks: spec.disks.map((d, i) => ({
      id: d.id,
      volumeId: d.volumeId,
      target: disks[i]!.target.dev,
    })),
    nics: spec.nics.map((n) => ({ id: n.id, mac: n.mac })),
  };

  const partition = tenantPartition(spec.tenantId);
  const domain: Domain = {
    type: host.acceleration === 'kvm' ? 'kvm' : 'qemu',
    name: domainNameFor(spec.vmId),
    uuid: spec.vmId,
    title: spec.name,
    metadata: { palisade, other: [] },
    memoryKiB: spec.memoryMiB * 1024,
    currentMemoryKiB: spec.memoryMiB * 1024,
    vcpus: spec.vcpus,
    blkiotune: { weight: spec.blkio.weight },
    ...(Object.keys(memtune).length > 0 ? { memtune } : {}),
    cputune: { shares: spec.cpu.shares, period: spec.cpu.periodUs, quota: spec.cpu.quotaUs },
    resource: { partition },
    os:
      spec.boot.kind === 'kernel'
        ? {
            type: 'hvm',
            arch: 'x86_64',
            machine: spec.machine ?? 'pc',
            bootDevs: [],
            kernel: spec.boot.kernel,
            initrd: spec.boot.initrd,
            cmdline: spec.boot.cmdline,
          }
        : {
            type: 'hvm',
            arch: 'x86_64',
            machine: spec.machine ?? 'pc',
            // libvirt refuses <os><boot dev> together with per-device <boot order>.
            bootDevs: spec.disks.some((d) => d.bootOrder !== undefined) ? [] : ['hd'],
          },
    features: { acpi: true, apic: true },
    cpu,
    clockOffset: 'utc',
    onPoweroff: 'destroy',
    onReboot: 'restart',
    onCrash: 'destroy',
    devices: {
      disks: [...disks, seed],
      interfaces,
      serials: [{ type: 'pty', targetPort: 0 }],
      consoles: [{ type: 'pty', targetType: 'serial', targetPort: 0 }],
      graphics,
    },
    seclabels,
  };

  const isolation: IsolationSummary = {
    svirt: { requirement: spec.isolation.svirt, hostDriver: host.securityDriver, applied },
    cgroups: {
      partition,
      cpu: { shares: spec.cpu.shares, periodUs: spec.cpu.periodUs, quotaUs: spec.cpu.quotaUs },
      memory: {
        ...(hardLimitKiB === undefined ? {} : { hardLimitKiB, hardLimitVia }),
        ...(softLimitKiB === undefined ? {} : { softLimitKiB }),
      },
      blkioWeight: spec.blkio.weight,
      disks: spec.disks.map((d) => ({
        diskId: d.id,
        ...(d.iotune.totalIops === undefined ? {} : { totalIopsSec: d.iotune.totalIops }),
        ...(d.iotune.totalBytesSec === undefined ? {} : { totalBytesSec: d.iotune.totalBytesSec }),
      })),
    },
    network: spec.nics.map((n) => ({
      nicId: n.id,
      bridge: n.bridge,
      mac: n.mac,
      ip: n.ip,
      filter: 'clean-traffic',
      averageKBps: n.bandwidth.averageKBps,
    })),
    storage: spec.disks.map((d) => ({
      diskId: d.id,
      volumeId: d.volumeId,
      encryption: d.encrypted ? 'luks' : 'none',
    })),
    console: { vnc: spec.console.vnc },
    nestedVirtualisation: 'disabled',
    weakened,
    notes,
  };

  return { ok: true, domain, xml: domainToXml(domain), isolation, postStart };
}
