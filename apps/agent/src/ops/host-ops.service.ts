/**
 * The agent's host operations: what the worker's workflow steps ask of this host, on the
 * `Hypervisor` port (libvirt, or simulated for fleet tests). Every call is idempotent for its
 * operation ID: repeating it converges on the same result, so BullMQ's at-least-once delivery and
 * a lost answer are harmless.
 *
 * This service owns the host's layout: images under `<state>/images/<sha256>.<format>`, volumes
 * under `<state>/volumes/<volumeId>.qcow2`, NoCloud seeds under `<state>/seeds/<vmId>.img`, one
 * ephemeral private libvirt secret per volume (UUID = volume ID), bridges `pbr-<segment>`.
 *
 * Must never: log or return key material; use an image it has not verified by checksum, or one
 * with a backing or data file; start a VM whose required isolation this host cannot enforce
 * (unless the operator allowed weaker isolation, and then the answer says what was weakened).
 */
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { mkdir, rename, rm, stat } from 'node:fs/promises';
import path from 'node:path';
import { promisify } from 'node:util';
import { Inject, Injectable, Logger, type OnModuleDestroy } from '@nestjs/common';
import {
  AppError,
  ErrorCode,
  vmSpecSchema,
  type AgentEnsureImageInput,
  type AgentEnsureSegmentInput,
  type AgentEnsureVmRunningInput,
  type AgentEnsureVolumeInput,
  type AgentImage,
  type AgentRebootVmInput,
  type AgentResizeVolumeInput,
  type AgentSegmentRef,
  type AgentSnapshotInput,
  type AgentSnapshotList,
  type AgentStorage,
  type AgentVmDetails,
  type AgentVmStatus,
  type AgentVolume,
  type IsolationReport,
} from '@palisade/contracts';
import {
  collectIsolationReport,
  createPartition,
  designDomain,
  parseNwfilterBindingList,
  parseDomainXml,
  makeSeed,
  tenantPartition,
  type DiskKeys,
  type HostSecurity,
  type Hypervisor,
  type SegmentSpec,
} from '@palisade/hypervisor';
import { AGENT_CONFIG, type AgentConfig } from '../config';
import { bandwidthUnenforceableReason } from '../host/compliance';
import { HostService } from '../host/host.service';
import { HYPERVISOR } from './hypervisor.provider';
import { fetchImage } from './image-fetch';
import { memoFile, OperationMemo } from './operation-memo';

const execFileP = promisify(execFile);

const keyBytes = (base64: string) => new TextEncoder().encode(base64);

@Injectable()
export class HostOpsService implements OnModuleDestroy {
  private readonly log = new Logger('host-ops');
  /** Verified images by path, keyed on size and mtime so a replaced file is verified again. */
  private readonly verified = new Map<string, string>();
  private security: HostSecurity | undefined;
  /** Whether this host can make 802.1Q links; set with `security`. */
  private vlan: { available: true } | { available: false; detail: string } | undefined;
  /** One download per image file at a time; a concurrent ensure for it waits for that one. */
  private readonly fetching = new Map<string, Promise<void>>();
  /** Reboots and reverts are not idempotent by nature; these make them so by operation ID, also
   *  across a restart of the agent (kept under `<state>/operations/`). */
  private readonly reboots: OperationMemo<AgentVmStatus>;
  private readonly reverts: OperationMemo<AgentSnapshotList>;
  /** Reboots whose VM this agent has stopped but not yet started again, by operation ID, with the
   *  live memory hard limit to restore: a retry after a failed start finishes the cycle. */
  private readonly rebootsStopped = new Map<string, { hardLimitKiB?: number }>();

  constructor(
    @Inject(AGENT_CONFIG) private readonly config: AgentConfig,
    @Inject(HYPERVISOR) private readonly hv: Hypervisor & { close?(): void },
    private readonly host: HostService,
  ) {
    const memo = (name: string) => ({
      file: memoFile(config.AGENT_STATE_DIR, name),
      warn: (m: string) => this.log.warn(m),
    });
    this.reboots = new OperationMemo<AgentVmStatus>(memo('reboots'));
    this.reverts = new OperationMemo<AgentSnapshotList>(memo('reverts'));
  }

  onModuleDestroy(): void {
    this.hv.close?.();
  }

  private dir(kind: 'images' | 'volumes' | 'seeds'): string {
    return path.join(this.config.AGENT_STATE_DIR, kind);
  }

  imagePath(checksum: string, format: string): string {
    return path.join(this.dir('images'), `${checksum}.${format}`);
  }

  volumePath(volumeId: string): string {
    return path.join(this.dir('volumes'), `${volumeId}.qcow2`);
  }

  // --- images --------------------------------------------------------------------------------------

  async ensureImage(
    input: Pick<AgentEnsureImageInput, 'checksum' | 'format' | 'sourceUrl'>,
  ): Promise<AgentImage> {
    const file = this.imagePath(input.checksum, input.format);
    const st = await stat(file).catch(() => null);
    if (!st?.isFile() && input.sourceUrl) {
      await this.fetchInto(file, { ...input, sourceUrl: input.sourceUrl });
      return this.ensureImage({ checksum: input.checksum, format: input.format });
    }
    if (!st?.isFile())
      throw new AppError(ErrorCode.AGENT_IMAGE_MISSING, `no image ${path.basename(file)}`, {
        userMessage: `The image ${input.checksum.slice(0, 12)}… is not in this host's image store.`,
        details: { field: 'checksum', checksum: input.checksum },
      });
    const stamp = `${st.size}:${st.mtimeMs}`;
    if (this.verified.get(file) !== stamp) {
      const actual = await sha256File(file);
      if (actual !== input.checksum)
        throw new AppError(ErrorCode.AGENT_IMAGE_INVALID, `checksum mismatch for ${file}`, {
          userMessage: 'The image on the host does not match its checksum.',
          details: { field: 'checksum', expected: input.checksum, actual },
        });
      this.verified.set(file, stamp);
    }
    return {
      checksum: input.checksum,
      format: input.format,
      virtualSizeBytes: await this.selfContainedSize(file, input),
    };
  }

  /** The image's virtual size; refuses one with a backing or data file. */
  private async selfContainedSize(
    file: string,
    input: Pick<AgentEnsureImageInput, 'checksum' | 'format'>,
  ): Promise<number> {
    // `-f` always: a probed format lets a raw image that looks like qcow2 name any backing file.
    const { stdout } = await execFileP(
      'qemu-img',
      ['info', '-U', '-f', input.format, '--output=json', file],
      { encoding: 'utf8', timeout: 60_000 },
    );
    const info = JSON.parse(stdout) as {
      'virtual-size': number;
      'backing-filename'?: string;
      'format-specific'?: { data?: { 'data-file'?: string } };
    };
    if (info['backing-filename'] || info['format-specific']?.data?.['data-file'])
      throw new AppError(ErrorCode.AGENT_IMAGE_INVALID, `${file} has a backing or data file`, {
        userMessage: 'A base image must be self-contained (no backing or data file).',
        details: { field: 'checksum', checksum: input.checksum },
      });
    return info['virtual-size'];
  }

  /**
   * Downloads the image beside its final name, checks checksum and format there, and renames it
   * into place: the store only ever holds complete, verified images (a rename within one
   * directory is atomic), and a failed download leaves nothing behind.
   */
  private fetchInto(
    file: string,
    input: Pick<AgentEnsureImageInput, 'checksum' | 'format'> & { sourceUrl: string },
  ): Promise<void> {
    const running = this.fetching.get(file);
    if (running) return running;
    const p = (async () => {
      await mkdir(this.dir('images'), { recursive: true, mode: 0o711 });
      const tmp = await fetchImage({
        url: input.sourceUrl,
        dir: this.dir('images'),
        checksum: input.checksum,
        maxBytes: this.config.AGENT_IMAGE_FETCH_MAX_BYTES,
      });
      try {
        await this.selfContainedSize(tmp, input);
        await rename(tmp, file);
      } catch (e) {
        await rm(tmp, { force: true });
        throw e;
      }
      const st = await stat(file);
      this.verified.set(file, `${st.size}:${st.mtimeMs}`);
      this.log.log(`image ${path.basename(file)} fetched from ${new URL(input.sourceUrl).origin}`);
    })().finally(() => this.fetching.delete(file));
    this.fetching.set(file, p);
    return p;
  }

  // --- volumes -------------------------------------------------------------------------------------

  async ensureVolume(input: AgentEnsureVolumeInput): Promise<AgentVolume> {
    if (input.base) await this.ensureImage(input.base);
    await mkdir(this.dir('volumes'), { recursive: true, mode: 0o711 });
    const key = keyBytes(input.key);
    await this.hv.secrets.define({
      uuid: input.volumeId,
      usage: `palisade/volume/${input.volumeId}`,
      value: key,
    });
    const info = await this.hv.volumes.create({
      path: this.volumePath(input.volumeId),
      sizeBytes: input.sizeBytes,
      ...(input.base
        ? {
            backingFile: {
              path: this.imagePath(input.base.checksum, input.base.format),
              format: input.base.format,
            },
          }
        : {}),
      luks: { key },
    });
    return {
      volumeId: input.volumeId,
      encrypted: info.encrypted,
      virtualSizeBytes: info.virtualSizeBytes,
    };
  }

  /** The secret first: once it is gone the host cannot open the file, whatever happens next. */
  async deleteVolume(volumeId: string): Promise<void> {
    await this.hv.secrets.undefine(volumeId);
    await this.hv.volumes.delete(this.volumePath(volumeId));
  }

  /**
   * Grows a volume; a smaller size is refused (shrinking would cut off the guest's filesystem).
   * Only while no running VM has it open: qemu-img cannot take the image's write lock then, and
   * live `blockresize` is not in the port.
   */
  async resizeVolume(input: AgentResizeVolumeInput): Promise<AgentVolume> {
    const file = this.volumePath(input.volumeId);
    const info = await this.hv.volumes.info(file);
    if (!info)
      throw new AppError(ErrorCode.NOT_FOUND, `no volume ${input.volumeId} on this host`, {
        details: { field: 'volumeId', volumeId: input.volumeId },
      });
    if (input.sizeBytes < info.virtualSizeBytes)
      throw new AppError(
        ErrorCode.VALIDATION_FAILED,
        `refusing to shrink volume ${input.volumeId} to ${input.sizeBytes} bytes`,
        {
          userMessage: `sizeBytes: ${input.sizeBytes} is smaller than the volume's ${info.virtualSizeBytes} bytes; volumes only grow.`,
          details: {
            field: 'sizeBytes',
            currentBytes: info.virtualSizeBytes,
            requestedBytes: input.sizeBytes,
          },
        },
      );
    for (const d of await this.hv.listDomains()) {
      if (d.state !== 'running' && d.state !== 'paused') continue;
      const live = await this.hv.getDomain(d.uuid);
      // A text match, not parseDomainXml: any domain on the host is checked, and one that is
      // not Palisade's may have disks the model does not parse (an empty CD-ROM has no source).
      if (live?.xml.includes(`file='${file}'`))
        throw new AppError(
          ErrorCode.INVALID_STATE,
          `volume ${input.volumeId} is in use by running vm ${d.uuid}`,
          {
            userMessage: 'The volume is attached to a running VM; stop the VM to resize it.',
            details: { field: 'volumeId', vmId: d.uuid },
          },
        );
    }
    const r = await this.hv.volumes.resize(file, input.sizeBytes, { key: keyBytes(input.key) });
    return {
      volumeId: input.volumeId,
      encrypted: r.encrypted,
      virtualSizeBytes: r.virtualSizeBytes,
    };
  }

  // --- segments ------------------------------------------------------------------------------------

  bridgeOf(segment: AgentSegmentRef): string {
    return `pbr-${segment.type === 'vxlan' ? 'x' : 'v'}${segment.id}`;
  }

  segmentSpec(segment: AgentSegmentRef): SegmentSpec {
    const c = this.config;
    return {
      bridge: this.bridgeOf(segment),
      uplink:
        segment.type === 'vxlan'
          ? {
              kind: 'vxlan',
              vni: segment.id,
              device: `vx${segment.id}`,
              localIp: c.AGENT_UNDERLAY_IP,
              underlayDev: c.AGENT_UNDERLAY_DEV,
              dstPort: c.AGENT_VXLAN_PORT,
              remotes: c.AGENT_VXLAN_REMOTES,
            }
          : { kind: 'vlan', vid: segment.id, trunkDev: c.AGENT_TRUNK_DEV },
      mtu: segment.type === 'vxlan' ? 1450 : 1500,
    };
  }

  async ensureSegment(input: AgentEnsureSegmentInput): Promise<{ bridge: string }> {
    await this.assertSegmentPossible(input.segment);
    await this.hv.networks.ensureSegment(this.segmentSpec(input.segment));
    return { bridge: this.bridgeOf(input.segment) };
  }

  /** Removes the bridge and uplink; refused (409 `common.conflict`) while a VM's tap is on it. */
  async removeSegment(input: AgentEnsureSegmentInput): Promise<{ bridge: string; removed: true }> {
    const bridge = this.bridgeOf(input.segment);
    await this.hv.networks.removeSegment(bridge);
    return { bridge, removed: true };
  }

  /** The bridges of tenant segments on this host (the agent's `pbr-` names only). */
  async listSegments(): Promise<{ items: { bridge: string }[] }> {
    const bridges = await this.hv.networks.listBridges();
    return { items: bridges.filter((b) => b.startsWith('pbr-')).map((bridge) => ({ bridge })) };
  }

  // --- VMs -----------------------------------------------------------------------------------------

  /** What this host enforces: probed on libvirt hosts, configured on simulated ones. */
  private async hostSecurity(): Promise<HostSecurity> {
    if (this.security) return this.security;
    const allow = this.config.ALLOW_WEAKER_ISOLATION;
    const override = this.config.AGENT_NO_BANDWIDTH;
    const overridden =
      override === true ? { bandwidthUnenforceable: 'AGENT_NO_BANDWIDTH=true on this host' } : {};
    if (this.config.AGENT_HYPERVISOR === 'simulated') {
      // A simulated host shapes nothing and enforces everything it claims: only the operator's
      // override weakens bandwidth, so workflow tests can ask for it.
      this.security = {
        securityDriver: this.config.AGENT_SIMULATED_SECURITY,
        allowWeakerIsolation: allow,
        acceleration: 'kvm',
        ...overridden,
      };
      this.vlan = { available: true };
      return this.security;
    }
    const probe = await this.host.probe();
    const models = probe.libvirt.securityModels;
    // libvirt builds <bandwidth> with htb + sfq + fw and police; where the kernel lacks one the
    // start fails ("Specified qdisc kind is unknown"), so the probe's answer decides unless the
    // operator said otherwise.
    const probed = bandwidthUnenforceableReason(probe);
    this.security = {
      securityDriver:
        models.includes('selinux') && probe.selinux.enforcing
          ? 'selinux'
          : models.includes('apparmor') && probe.apparmor.enabled
            ? 'apparmor'
            : 'none',
      allowWeakerIsolation: allow,
      // KVM only when a guest really ran under it (DESIGN.md: /dev/kvm exists, guests hang).
      acceleration: probe.kvm.works ? 'kvm' : 'tcg',
      ...(override === undefined && probed !== undefined
        ? { bandwidthUnenforceable: probed }
        : overridden),
    };
    this.vlan = probe.network.vlan8021q
      ? { available: true }
      : { available: false, detail: probe.network.vlanDetail ?? 'no 802.1Q support' };
    return this.security;
  }

  /**
   * Refuses a VLAN segment on a host whose kernel cannot make 802.1Q links, before anything is
   * created: `ip link add … type vlan` would fail half-way through the segment otherwise, and the
   * worker should hear a stable code it can act on (place elsewhere), not an iproute2 error.
   */
  private async assertSegmentPossible(segment: AgentSegmentRef): Promise<void> {
    if (segment.type !== 'vlan') return;
    await this.hostSecurity();
    if (this.vlan?.available !== false) return;
    const reason = `this host's kernel lacks 802.1Q VLAN support (it answered "${this.vlan.detail}"), so VLAN segment ${segment.id} cannot reach it`;
    throw new AppError(ErrorCode.AGENT_ISOLATION_UNENFORCEABLE, reason, {
      userMessage: `This host cannot carry VLAN segments: ${reason}.`,
      details: { field: 'segment.type', mechanism: 'vlan', segment },
    });
  }

  /**
   * Defines (or redefines) a shut-off VM without starting it: how the control plane changes a
   * stopped VM's disks (attach, detach), so snapshots and the next start see the same disks.
   * Refused while the domain is active: libvirt would change only the persistent definition and
   * the running guest would keep a disk the control plane believes detached. There is no hot-plug
   * (docs/operations/volumes.md).
   */
  async defineStopped(input: AgentEnsureVmRunningInput): Promise<AgentVmStatus> {
    const d = await this.hv.getDomain(input.vm.vmId);
    if (d && d.state !== 'shutoff' && d.state !== 'crashed')
      throw new AppError(ErrorCode.INVALID_STATE, `vm ${input.vm.vmId} is ${d.state}`, {
        userMessage: `The VM is ${d.state} on its host; stop it to change its disks.`,
        details: { field: 'vm.vmId', state: d.state },
      });
    return this.ensureRunning(input, { start: false });
  }

  async ensureRunning(
    input: AgentEnsureVmRunningInput,
    opts: { start: boolean } = { start: true },
  ): Promise<AgentVmStatus> {
    const vm = input.vm;
    for (const d of vm.disks)
      if (!input.keys[d.volumeId])
        throw new AppError(ErrorCode.VALIDATION_FAILED, `no key for volume ${d.volumeId}`, {
          userMessage: `keys: a key is required for volume ${d.volumeId}.`,
          details: { field: `keys.${d.volumeId}` },
        });
    const boot =
      vm.boot.kind === 'disk'
        ? ({ kind: 'disk' } as const)
        : {
            kind: 'kernel' as const,
            kernel: this.imagePath(vm.boot.kernel, 'raw'),
            initrd: this.imagePath(vm.boot.initrd, 'raw'),
            cmdline: vm.boot.cmdline,
          };
    if (vm.boot.kind === 'kernel') {
      await this.ensureImage({ checksum: vm.boot.kernel, format: 'raw' });
      await this.ensureImage({ checksum: vm.boot.initrd, format: 'raw' });
    }
    const seedPath = path.join(this.dir('seeds'), `${vm.vmId}.img`);
    const spec = vmSpecSchema.parse({
      vmId: vm.vmId,
      tenantId: vm.tenantId,
      name: vm.name,
      specRevision: vm.specRevision,
      vcpus: vm.vcpus,
      memoryMiB: vm.memoryMiB,
      cpu: vm.cpu,
      ...(vm.memtune ? { memtune: vm.memtune } : {}),
      blkio: vm.blkio,
      disks: vm.disks.map((d) => ({
        id: d.id,
        volumeId: d.volumeId,
        path: this.volumePath(d.volumeId),
        format: 'qcow2',
        bus: 'virtio',
        ...(d.bootOrder === undefined ? {} : { bootOrder: d.bootOrder }),
        encrypted: { secretUuid: d.volumeId },
        iotune: d.iotune,
      })),
      seed: { path: seedPath },
      nics: vm.nics.map((n) => ({
        id: n.id,
        mac: n.mac,
        bridge: this.bridgeOf(n.segment),
        ip: n.ip,
        bandwidth: n.bandwidth,
      })),
      isolation: vm.isolation,
      console: vm.console,
      boot,
      ...(vm.machine ? { machine: vm.machine } : {}),
    });

    // Fail closed before touching the host: nothing is created for a VM that may not run here.
    for (const n of vm.nics) await this.assertSegmentPossible(n.segment);
    const design = designDomain(spec, await this.hostSecurity());
    if (!design.ok)
      throw new AppError(ErrorCode.AGENT_ISOLATION_UNENFORCEABLE, design.reason, {
        userMessage: `This host cannot run the VM: ${design.reason}`,
        details: {
          mechanism: design.mechanism,
          requirement: design.requirement,
          hostDriver: design.hostDriver,
        },
      });
    const xml = design.xml;

    for (const d of vm.disks)
      await this.hv.secrets.define({
        uuid: d.volumeId,
        usage: `palisade/volume/${d.volumeId}`,
        value: keyBytes(input.keys[d.volumeId]!),
      });
    for (const n of vm.nics) await this.hv.networks.ensureSegment(this.segmentSpec(n.segment));
    await mkdir(this.dir('seeds'), { recursive: true, mode: 0o711 });
    const first = vm.nics[0];
    await makeSeed(
      {
        hostname: vm.name,
        instanceId: vm.vmId,
        network: first
          ? {
              mac: first.mac,
              address: `${first.ip}/${first.prefixLength}`,
              ...(first.gateway ? { gateway: first.gateway } : {}),
            }
          : { mac: '52:54:00:00:00:00', address: '192.0.2.254/32' },
        sshAuthorizedKeys: vm.sshAuthorizedKeys,
        ...(vm.userData === undefined ? {} : { userData: vm.userData }),
      },
      seedPath,
    );
    if (this.config.AGENT_HYPERVISOR === 'libvirt') createPartition(tenantPartition(vm.tenantId));

    await this.hv.defineDomain(xml);
    if (!opts.start) return this.status(vm.vmId);
    await this.hv.start(vm.vmId);
    for (const step of design.postStart)
      await this.hv.setMemoryHardLimit(vm.vmId, step.hardLimitKiB);
    const now = await this.hv.getDomain(vm.vmId);
    if (!now) throw new AppError(ErrorCode.AGENT_HOST_FAILED, `vm ${vm.vmId} vanished after start`);
    this.log.log(`vm ${vm.vmId} ${now.state} (operation ${input.operationId})`);
    // The operator allowed it, but it must never pass silently.
    for (const w of design.isolation.weakened)
      this.log.warn(`vm ${vm.vmId} weakened: ${w.mechanism}: ${w.reason}`);
    return {
      vmId: vm.vmId,
      state: now.state,
      weakenings: design.isolation.weakened.map((w) => ({
        mechanism: w.mechanism,
        reason: w.reason,
      })),
    };
  }

  async stop(vmId: string, force: boolean): Promise<AgentVmStatus> {
    if (!force) {
      const { stopped } = await this.hv.shutdown(vmId, {
        timeoutMs: this.config.AGENT_STOP_TIMEOUT_MS,
      });
      if (!stopped)
        this.log.warn(
          `vm ${vmId} ignored ACPI for ${this.config.AGENT_STOP_TIMEOUT_MS} ms; forcing off`,
        );
    }
    await this.hv.destroy(vmId);
    return this.status(vmId);
  }

  /**
   * A cold cycle: ACPI stop (forced after AGENT_STOP_TIMEOUT_MS), then start. Not `virsh reboot`
   * (not in the port): a cold cycle also applies a redefined configuration, and the port's
   * start, secrets and memtune are what `ensure-running` already relies on. The memory hard limit
   * is live-only (the designer's post-start step), so it is read before the stop and set again.
   */
  reboot(vmId: string, input: AgentRebootVmInput): Promise<AgentVmStatus> {
    return this.reboots.run(input.operationId, async () => {
      let stopped = this.rebootsStopped.get(input.operationId);
      if (!stopped) {
        const d = await this.hv.getDomain(vmId);
        if (!d) throw notFound(vmId);
        if (d.state !== 'running')
          throw new AppError(ErrorCode.INVALID_STATE, `vm ${vmId} is ${d.state}`, {
            userMessage: `The VM is ${d.state}; only a running VM can be rebooted (start it instead).`,
            details: { state: d.state },
          });
        const hardLimitKiB = parseDomainXml(d.xml).memtune?.hardLimitKiB;
        stopped = hardLimitKiB === undefined ? {} : { hardLimitKiB };
        await this.stop(vmId, false);
        this.rebootsStopped.set(input.operationId, stopped);
      }
      for (const [volumeId, key] of Object.entries(input.keys ?? {}))
        await this.hv.secrets.define({
          uuid: volumeId,
          usage: `palisade/volume/${volumeId}`,
          value: keyBytes(key),
        });
      await this.hv.start(vmId);
      if (stopped.hardLimitKiB !== undefined)
        await this.hv.setMemoryHardLimit(vmId, stopped.hardLimitKiB);
      this.rebootsStopped.delete(input.operationId);
      this.log.log(`vm ${vmId} rebooted (operation ${input.operationId})`);
      return this.status(vmId);
    });
  }

  // --- snapshots (shut-off VMs only; the port refuses a running one with `domain_active`) ---------

  async createSnapshot(vmId: string, input: AgentSnapshotInput): Promise<AgentSnapshotList> {
    await this.hv.snapshots.create(vmId, input.name, diskKeys(input.keys));
    return this.listSnapshots(vmId);
  }

  /** Once per operation ID: a repeat after the VM ran again must not throw its writes away. */
  revertSnapshot(vmId: string, input: AgentSnapshotInput): Promise<AgentSnapshotList> {
    return this.reverts.run(input.operationId, async () => {
      await this.hv.snapshots.revert(vmId, input.name, diskKeys(input.keys));
      return this.listSnapshots(vmId);
    });
  }

  async deleteSnapshot(vmId: string, input: AgentSnapshotInput): Promise<AgentSnapshotList> {
    await this.hv.snapshots.delete(vmId, input.name, diskKeys(input.keys));
    return this.listSnapshots(vmId);
  }

  async listSnapshots(vmId: string): Promise<AgentSnapshotList> {
    if (!(await this.hv.getDomain(vmId))) throw notFound(vmId);
    return { items: await this.hv.snapshots.list(vmId) };
  }

  /** Force off, undefine, drop the seed. Volumes and their secrets are separate calls. */
  async destroy(vmId: string): Promise<void> {
    await this.hv.destroy(vmId);
    await this.hv.undefine(vmId);
    await rm(path.join(this.dir('seeds'), `${vmId}.img`), { force: true });
  }

  private async status(vmId: string): Promise<AgentVmStatus> {
    const d = await this.hv.getDomain(vmId);
    if (!d) throw notFound(vmId);
    return { vmId, state: d.state, weakenings: [] };
  }

  async get(vmId: string): Promise<AgentVmDetails> {
    const d = await this.hv.getDomain(vmId);
    if (!d) throw notFound(vmId);
    return { vmId, state: d.state, weakenings: [], xml: d.xml };
  }

  /** What isolation is in effect for a running VM, measured on this host (label, cgroupfs, taps
   *  and filters, disk encryption). Only a libvirt host has anything to measure. */
  async isolation(vmId: string): Promise<IsolationReport> {
    if (this.config.AGENT_HYPERVISOR !== 'libvirt')
      throw new AppError(ErrorCode.INVALID_STATE, 'a simulated host has no isolation to measure', {
        userMessage: 'This host is simulated: there is nothing to measure.',
      });
    const d = await this.hv.getDomain(vmId);
    if (!d) throw notFound(vmId);
    if (d.state !== 'running')
      throw new AppError(ErrorCode.INVALID_STATE, `vm ${vmId} is ${d.state}`, {
        userMessage: 'The isolation report is measured on a running VM.',
      });
    const { bandwidthUnenforceable } = await this.hostSecurity();
    return collectIsolationReport({
      liveXml: d.xml,
      ...(bandwidthUnenforceable === undefined ? {} : { bandwidthUnenforceable }),
      ...(this.config.AGENT_NETNS ? { netns: this.config.AGENT_NETNS } : {}),
      nwfilterBindings: async () =>
        parseNwfilterBindingList(
          (
            await execFileP('virsh', ['-c', this.config.LIBVIRT_URI, 'nwfilter-binding-list'], {
              encoding: 'utf8',
              timeout: 60_000,
            })
          ).stdout,
        ),
    });
  }

  async list() {
    const all = await this.hv.listDomains();
    return {
      items: all
        .filter((d) => d.palisade !== undefined)
        .map((d) => ({ vmId: d.uuid, name: d.name, state: d.state })),
    };
  }

  /** The host's volumes (by ID, from `<state>/volumes`) and libvirt secrets (by UUID): what a
   *  crash test or the reconciler compares with the database. Never a key. */
  async storage(): Promise<AgentStorage> {
    const files = await this.hv.volumes.list(this.dir('volumes'));
    return {
      volumes: files
        .filter((f) => f.endsWith('.qcow2'))
        .map((f) => path.basename(f, '.qcow2'))
        .sort(),
      secrets: (await this.hv.secrets.list()).sort(),
    };
  }
}

function notFound(vmId: string): AppError {
  return new AppError(ErrorCode.NOT_FOUND, `no domain ${vmId} on this host`, {
    details: { field: 'id', vmId },
  });
}

/** Keys by volume ID are keys by secret UUID: the agent names each volume's secret after it. */
function diskKeys(keys: Record<string, string>): DiskKeys {
  return Object.fromEntries(Object.entries(keys).map(([id, k]) => [id, keyBytes(k)]));
}

async function sha256File(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}
