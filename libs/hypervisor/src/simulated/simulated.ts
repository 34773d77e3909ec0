/**
 * `SimulatedHypervisor`: an in-memory host implementing the `Hypervisor` port, for fleet-scale
 * tests and benchmarks of everything above the agent (scheduler, reconciler, workers). It must
 * never touch the real host: no processes, no files, no network.
 *
 * libvirt semantics kept, because the control plane relies on them:
 * - define is idempotent by UUID and a redefine replaces the persistent definition; a running
 *   domain keeps its live configuration until its next start. Another domain's name or a
 *   different name for a known UUID is refused (`domain_conflict`).
 * - start/destroy/shutdown/undefine follow the port's idempotency rules ("already there" is
 *   success); undefine of a running domain is refused (`domain_active`); destroy then undefine
 *   works. Starting an unknown domain is `domain_not_found`.
 * - start refuses when an encrypted disk's secret is missing (`secret_missing`), as after a
 *   libvirtd restart (`restartDaemon()`), which also emits `disconnected` and drops all secrets.
 * - secrets are ephemeral and private: the value is not stored at all, only that one was set.
 *   Keys must be valid UTF-8, as QEMU reads LUKS passphrases as text (`invalid_key`).
 * - volumes have a virtual size, refuse to shrink, and a create of the same path with other
 *   size/format/encryption is a conflict.
 * - capacity: memory is reserved at start (sum of running domains' `<memory>`), storage at
 *   volume create/resize (sum of virtual sizes: thin provisioning is not modelled, so the
 *   simulation is conservative). Failures are `insufficient_capacity` with numbers in the message.
 * - lifecycle events in libvirt's vocabulary and order (`defined/added|updated`,
 *   `resumed/unpaused` + `started/booted`, `shutdown/host|guest` + `stopped/destroyed|shutdown`,
 *   `stopped/crashed`, `undefined/removed`), each emitted before the call that caused it resolves.
 * - a guest crash (`guestCrash()`) follows the live `<on_crash>`: `preserve` leaves an active
 *   `crashed` domain holding its memory until `destroy`; the destroy actions stop it.
 * - snapshots: named, of stopped domains only (`domain_active` while running), with a usable key
 *   for every encrypted disk (`invalid_key`); revert of an unknown name is `snapshot_not_found`.
 * - operations on one domain are serialised (libvirt's per-domain job lock); capacity is
 *   reserved before the simulated latency, so concurrent starts cannot overcommit.
 *
 * Deliberately NOT simulated: a guest (no boot, no console, no QEMU argv), cgroups and the
 * memory hard limit's effect (the value is only recorded in the live XML), seclabels and
 * AppArmor profiles, disk source files existing or backing files being valid, qcow2 allocation
 * (`actualSizeBytes` is a fixed small header size), vCPU limits (KVM overcommits vCPUs; `cpus`
 * is reported by `capacity()` only), bridges/VXLAN/VLAN devices (segments are names in a map),
 * and transient domains.
 */
import { createHash } from 'node:crypto';
import { basename } from 'node:path';
import { parseDomainXml, domainToXml, type Domain } from '../domain/domain';
import { hypervisorError, HypervisorErrorKind as K } from '../contract/errors';
import { checkLuksKey, checkSnapshotName } from '../contract/keys';
import { snapshotDisks } from '../contract/snapshots';
import { KeyedLock } from '../util/keyed-lock';
import type {
  DiskKeys,
  DomainDetails,
  DomainEvent,
  DomainState,
  DomainSummary,
  Hypervisor,
  SecretSpec,
  SegmentSpec,
  ShutdownOptions,
  VolumeInfo,
  VolumeSpec,
} from '../hypervisor';

export type SimulatedOperation =
  | 'define'
  | 'start'
  | 'shutdown'
  | 'destroy'
  | 'undefine'
  | 'secretDefine'
  | 'volumeCreate'
  | 'volumeResize'
  | 'volumeDelete'
  | 'ensureSegment'
  | 'removeSegment';

/** Fixed milliseconds, or a function of the operation and its subject (UUID, path, bridge). */
export type Latency =
  number | ((op: SimulatedOperation | 'guestShutdown', subject: string) => number);

export interface SimulatedClock {
  now(): Date;
  sleep(ms: number): Promise<void>;
}

export const realClock: SimulatedClock = {
  now: () => new Date(),
  sleep: (ms) => new Promise((resolve) => setTimeout(resolve, ms)),
};

/** A clock for tests: `sleep` resolves at once and advances `now` by the requested time. */
export function manualClock(start = new Date('2026-01-01T00:00:00Z')): SimulatedClock & {
  slept: number;
} {
  let t = start.getTime();
  const clock = {
    slept: 0,
    now: () => new Date(t),
    sleep: async (ms: number) => {
      t += ms;
      clock.slept += ms;
    },
  };
  return clock;
}

export interface SimulatedHypervisorOptions {
  capacity?: { cpus?: number; memoryMiB?: number; storageGiB?: number };
  /** Per-operation latency; `guestShutdown` is how long a guest takes to power off after ACPI. */
  latency?: Partial<Record<SimulatedOperation | 'guestShutdown', Latency>>;
  clock?: SimulatedClock;
  /** nwfilters the host reports; libvirt ships `clean-traffic` and its dependencies. */
  filters?: string[];
}

export interface SimulatedCapacity {
  cpus: number;
  memoryMiB: { total: number; used: number };
  storageGiB: { total: number; usedBytes: number };
}

/** qcow2 header plus one L1/refcount cluster, roughly what `qemu-img create` writes. */
const QCOW2_EMPTY_BYTES = 196_608;
const MiB = 1024 * 1024;
const GiB = 1024 * MiB;

interface SimDomain {
  definition: Domain;
  state: DomainState;
  reason?: string;
  /** The configuration the domain was started with; set only while running. */
  live?: Domain;
  /** Internal snapshot names, oldest first (the disks' content is not simulated). */
  snapshots: string[];
  ignoresAcpi: boolean;
}

interface SimVolume {
  info: VolumeInfo;
}

export class SimulatedHypervisor implements Hypervisor {
  private readonly domains = new Map<string, SimDomain>();
  private readonly secretUsage = new Map<string, string>(); // uuid -> usage
  private readonly volumeMap = new Map<string, SimVolume>();
  private readonly segments = new Map<string, SegmentSpec>();
  private readonly listeners = new Set<(e: DomainEvent) => void>();
  private readonly locks = new KeyedLock();
  private readonly clock: SimulatedClock;
  private readonly totals: { cpus: number; memoryMiB: number; storageGiB: number };
  private nextId = 1;
  private memoryReservedKiB = 0;

  constructor(private readonly options: SimulatedHypervisorOptions = {}) {
    this.clock = options.clock ?? realClock;
    this.totals = {
      cpus: options.capacity?.cpus ?? 64,
      memoryMiB: options.capacity?.memoryMiB ?? 256 * 1024,
      storageGiB: options.capacity?.storageGiB ?? 10 * 1024,
    };
  }

  // --- simulation controls (not part of the port) ----------------------------------------------

  capacity(): SimulatedCapacity {
    let usedBytes = 0;
    for (const v of this.volumeMap.values()) usedBytes += v.info.virtualSizeBytes;
    return {
      cpus: this.totals.cpus,
      memoryMiB: { total: this.totals.memoryMiB, used: this.memoryReservedKiB / 1024 },
      storageGiB: { total: this.totals.storageGiB, usedBytes },
    };
  }

  /** The guest powers itself off (e.g. `poweroff` inside the VM). */
  guestPowerOff(uuid: string): void {
    this.stopNow(this.mustGet(uuid), 'shutdown');
  }

  /** The guest panics. What follows is the live config's `<on_crash>`: `preserve` keeps the
   *  QEMU process (state `crashed`, memory still held, `destroy` ends it), the destroy actions
   *  stop the domain (`shutoff`/`crashed`), the restart actions keep it running. */
  guestCrash(uuid: string): void {
    const d = this.mustGet(uuid);
    if (d.state !== 'running' || !d.live) return;
    this.emit(d.definition, 'crashed', 'panicked');
    const action = d.live.onCrash;
    if (action === 'preserve') {
      d.state = 'crashed';
      d.reason = 'panicked';
    } else if (action === 'destroy' || action === 'coredump-destroy') {
      this.stopNow(d, 'crashed');
    }
  }

  /** From now on the guest ignores ACPI power-off requests, so `shutdown` times out. */
  setIgnoresAcpi(uuid: string, ignores: boolean): void {
    this.mustGet(uuid).ignoresAcpi = ignores;
  }

  /** libvirtd restarts: ephemeral secrets are lost and subscribers see `disconnected`, then
   *  `reconnected` (the simulated daemon is back at once). Running guests keep running (QEMU
   *  outlives libvirtd). */
  restartDaemon(): void {
    this.secretUsage.clear();
    const at = this.clock.now();
    for (const l of this.listeners) l({ kind: 'disconnected', at, reason: 'libvirtd restarted' });
    for (const l of this.listeners) l({ kind: 'reconnected', at: this.clock.now() });
  }

  // --- domains -----------------------------------------------------------------------------------

  async defineDomain(xml: string): Promise<{ uuid: string }> {
    let parsed: Domain;
    try {
      parsed = parseDomainXml(xml);
    } catch (e) {
      throw hypervisorError(K.INVALID_XML, `domain XML rejected: ${(e as Error).message}`, { xml });
    }
    const uuid = parsed.uuid.toLowerCase();
    return this.withLock(uuid, async () => {
      await this.delay('define', uuid);
      for (const [other, d] of this.domains) {
        if (other !== uuid && d.definition.name === parsed.name) {
          throw hypervisorError(
            K.DOMAIN_CONFLICT,
            `domain '${parsed.name}' already exists with uuid ${other}`,
            { xml },
          );
        }
      }
      const definition: Domain = { ...parsed, uuid };
      delete definition.id; // a runtime ID in the XML is not part of the persistent definition
      const existing = this.domains.get(uuid);
      if (existing && existing.definition.name !== definition.name) {
        throw hypervisorError(
          K.DOMAIN_CONFLICT,
          `domain '${existing.definition.name}' is already defined with uuid ${uuid}`,
          { xml },
        );
      }
      if (existing) {
        existing.definition = definition;
      } else {
        this.domains.set(uuid, {
          definition,
          state: 'shutoff',
          reason: 'unknown',
          ignoresAcpi: false,
          snapshots: [],
        });
      }
      this.emit(definition, 'defined', existing ? 'updated' : 'added');
      return { uuid };
    });
  }

  async start(uuid: string): Promise<void> {
    const key = uuid.toLowerCase();
    await this.withLock(key, async () => {
      const d = this.domains.get(key);
      if (!d) throw hypervisorError(K.DOMAIN_NOT_FOUND, `no domain with matching uuid '${uuid}'`);
      if (d.live) return; // running, or a preserved crash: libvirt calls both active
      const xml = domainToXml(d.definition);
      for (const disk of d.definition.devices.disks) {
        const secret = disk.encryption?.secretUuid;
        if (secret !== undefined && !this.secretUsage.has(secret.toLowerCase())) {
          throw hypervisorError(
            K.SECRET_MISSING,
            `secret '${secret}' for disk ${disk.target.dev} is not defined`,
            { xml },
          );
        }
      }
      const needKiB = d.definition.memoryKiB;
      const freeKiB = this.totals.memoryMiB * 1024 - this.memoryReservedKiB;
      if (needKiB > freeKiB) {
        throw hypervisorError(
          K.INSUFFICIENT_CAPACITY,
          `cannot start ${d.definition.name}: needs ${needKiB / 1024} MiB of memory, ` +
            `${freeKiB / 1024} MiB free of ${this.totals.memoryMiB} MiB`,
          { xml, neededMiB: needKiB / 1024, freeMiB: freeKiB / 1024 },
        );
      }
      // Reserve before waiting so concurrent starts of other domains see the memory as taken.
      this.memoryReservedKiB += needKiB;
      try {
        await this.delay('start', key);
      } catch (e) {
        this.memoryReservedKiB -= needKiB;
        throw e;
      }
      d.live = { ...structuredClone(d.definition), id: this.nextId++ };
      d.state = 'running';
      d.reason = 'booted';
      // libvirt starts the vCPUs (QEMU's RESUME) before it reports the start (measured).
      this.emit(d.definition, 'resumed', 'unpaused');
      this.emit(d.definition, 'started', 'booted');
    });
  }

  async shutdown(uuid: string, options: ShutdownOptions): Promise<{ stopped: boolean }> {
    const key = uuid.toLowerCase();
    return this.withLock(key, async () => {
      const d = this.domains.get(key);
      if (!d?.live) return { stopped: true };
      // A preserved crash has no guest left to answer ACPI; only destroy ends it.
      if (d.state !== 'running') return { stopped: false };
      await this.delay('shutdown', key);
      const guestMs = d.ignoresAcpi ? Infinity : this.latencyOf('guestShutdown', key);
      if (guestMs > options.timeoutMs) {
        await this.clock.sleep(options.timeoutMs);
        return { stopped: false };
      }
      if (guestMs > 0) await this.clock.sleep(guestMs);
      this.stopNow(d, 'shutdown');
      return { stopped: true };
    });
  }

  async destroy(uuid: string): Promise<void> {
    const key = uuid.toLowerCase();
    await this.withLock(key, async () => {
      const d = this.domains.get(key);
      if (!d?.live) return; // not running (a preserved crash still has its QEMU process)
      await this.delay('destroy', key);
      this.stopNow(d, 'destroyed');
    });
  }

  async undefine(uuid: string): Promise<void> {
    const key = uuid.toLowerCase();
    await this.withLock(key, async () => {
      const d = this.domains.get(key);
      if (!d) return;
      if (d.live) {
        throw hypervisorError(
          K.DOMAIN_ACTIVE,
          `domain '${d.definition.name}' is running; destroy or shut it down before undefine`,
        );
      }
      await this.delay('undefine', key);
      this.domains.delete(key);
      this.emit(d.definition, 'undefined', 'removed');
    });
  }

  async getDomain(uuid: string): Promise<DomainDetails | null> {
    const d = this.domains.get(uuid.toLowerCase());
    if (!d) return null;
    const details: DomainDetails = {
      ...this.summary(d),
      xml: domainToXml(d.live ?? d.definition),
    };
    if (d.reason !== undefined) details.reason = d.reason;
    return details;
  }

  async listDomains(): Promise<DomainSummary[]> {
    return [...this.domains.values()].map((d) => this.summary(d));
  }

  async setMemoryHardLimit(uuid: string, hardLimitKiB: number): Promise<void> {
    const key = uuid.toLowerCase();
    await this.withLock(key, async () => {
      const d = this.domains.get(key);
      if (!d) throw hypervisorError(K.DOMAIN_NOT_FOUND, `no domain with matching uuid '${uuid}'`);
      if (d.state !== 'running' || !d.live) {
        throw hypervisorError(K.DOMAIN_INACTIVE, `domain '${d.definition.name}' is not running`);
      }
      // Live only: the persistent definition is deliberately left alone (port contract).
      d.live.memtune = { ...d.live.memtune, hardLimitKiB };
    });
  }

  // --- snapshots -------------------------------------------------------------------------------

  readonly snapshots: Hypervisor['snapshots'] = {
    create: (uuid, name, keys) =>
      this.withStoppedDomain(uuid, name, keys, async (d) => {
        if (!d.snapshots.includes(name)) d.snapshots.push(name);
      }),
    revert: (uuid, name, keys) =>
      this.withStoppedDomain(uuid, name, keys, async (d) => {
        if (!d.snapshots.includes(name)) {
          throw hypervisorError(
            K.SNAPSHOT_NOT_FOUND,
            `no snapshot '${name}' of ${d.definition.name}`,
          );
        }
      }),
    delete: (uuid, name, keys) =>
      this.withStoppedDomain(uuid, name, keys, async (d) => {
        d.snapshots = d.snapshots.filter((n) => n !== name);
      }),
    list: async (uuid) => {
      const d = this.mustGet(uuid);
      snapshotDisks(d.definition);
      return [...d.snapshots];
    },
  };

  private withStoppedDomain(
    uuid: string,
    name: string,
    keys: DiskKeys,
    fn: (d: SimDomain) => Promise<void>,
  ): Promise<void> {
    const key = uuid.toLowerCase();
    return this.withLock(key, async () => {
      const d = this.mustGet(key);
      checkSnapshotName(name);
      if (d.live) {
        throw hypervisorError(
          K.DOMAIN_ACTIVE,
          `domain '${d.definition.name}' is running; snapshots are taken of stopped domains only`,
        );
      }
      snapshotDisks(d.definition, keys);
      await fn(d);
    });
  }

  // --- secrets -----------------------------------------------------------------------------------

  readonly secrets: Hypervisor['secrets'] = {
    define: async (secret: SecretSpec) => {
      checkLuksKey(secret.value, 'value');
      const uuid = secret.uuid.toLowerCase();
      for (const [other, usage] of this.secretUsage) {
        if (other !== uuid && usage === secret.usage) {
          throw hypervisorError(
            K.SECRET_CONFLICT,
            `a secret with usage '${secret.usage}' is already defined as ${other}`,
          );
        }
      }
      await this.delay('secretDefine', uuid);
      // Only the fact that a value was set is kept: a private secret's value is never readable.
      this.secretUsage.set(uuid, secret.usage);
    },
    undefine: async (uuid: string) => {
      this.secretUsage.delete(uuid.toLowerCase());
    },
    exists: async (uuid: string) => this.secretUsage.has(uuid.toLowerCase()),
    list: async () => [...this.secretUsage.keys()],
  };

  // --- volumes -----------------------------------------------------------------------------------

  readonly volumes: Hypervisor['volumes'] = {
    create: async (volume: VolumeSpec) =>
      this.withLock(`vol:${volume.path}`, async () => {
        const existing = this.volumeMap.get(volume.path);
        if (volume.luks) checkLuksKey(volume.luks.key, 'luks.key');
        const encrypted = volume.luks !== undefined;
        if (existing) {
          const i = existing.info;
          if (
            i.virtualSizeBytes !== volume.sizeBytes ||
            i.encrypted !== encrypted ||
            i.backingFile !== volume.backingFile?.path
          ) {
            throw hypervisorError(
              K.VOLUME_CONFLICT,
              `volume ${volume.path} exists with size ${i.virtualSizeBytes}, ` +
                `encrypted=${i.encrypted}, backing=${i.backingFile ?? 'none'}`,
              { path: volume.path },
            );
          }
          return { ...i };
        }
        this.reserveStorage(volume.path, volume.sizeBytes);
        const info: VolumeInfo = {
          path: volume.path,
          format: 'qcow2',
          virtualSizeBytes: volume.sizeBytes,
          actualSizeBytes: QCOW2_EMPTY_BYTES,
          encrypted,
        };
        if (volume.backingFile) info.backingFile = volume.backingFile.path;
        // Recorded before the latency so concurrent creates count this volume's storage.
        this.volumeMap.set(volume.path, { info });
        try {
          await this.delay('volumeCreate', volume.path);
        } catch (e) {
          this.volumeMap.delete(volume.path);
          throw e;
        }
        return { ...info };
      }),

    resize: async (path: string, sizeBytes: number) =>
      this.withLock(`vol:${path}`, async () => {
        const v = this.volumeMap.get(path);
        if (!v) throw hypervisorError(K.VOLUME_NOT_FOUND, `no volume at ${path}`, { path });
        const current = v.info.virtualSizeBytes;
        if (sizeBytes < current) {
          throw hypervisorError(
            K.VOLUME_SHRINK,
            `refusing to shrink ${path} from ${current} to ${sizeBytes} bytes`,
            { path, currentBytes: current, requestedBytes: sizeBytes },
          );
        }
        if (sizeBytes > current) {
          this.reserveStorage(path, sizeBytes - current);
          v.info.virtualSizeBytes = sizeBytes;
          await this.delay('volumeResize', path);
        }
        return { ...v.info };
      }),

    delete: async (path: string) =>
      this.withLock(`vol:${path}`, async () => {
        if (!this.volumeMap.has(path)) return;
        await this.delay('volumeDelete', path);
        this.volumeMap.delete(path);
      }),

    info: async (path: string) => {
      const v = this.volumeMap.get(path);
      return v ? { ...v.info } : null;
    },

    // A simulated volume has no file: its "bytes" are its description, so a copy between two
    // simulated hosts still streams, and is checksummed, like a real one.
    export: async (path: string) => {
      const v = this.volumeMap.get(path);
      if (!v) return null;
      const bytes = Buffer.from(
        JSON.stringify({
          simulatedVolume: 1,
          virtualSizeBytes: v.info.virtualSizeBytes,
          encrypted: v.info.encrypted,
          backingFile: v.info.backingFile ? basename(v.info.backingFile) : null,
        }),
      );
      return {
        sizeBytes: bytes.length,
        sha256: createHash('sha256').update(bytes).digest('hex'),
        ...(v.info.backingFile
          ? { backingFile: { name: basename(v.info.backingFile), format: 'qcow2' as const } }
          : {}),
        open: async function* () {
          yield bytes;
        },
      };
    },

    import: async (path, source, spec) =>
      this.withLock(`vol:${path}`, async () => {
        const chunks: Buffer[] = [];
        for await (const c of source) chunks.push(Buffer.from(c));
        const bytes = Buffer.concat(chunks);
        const actual = createHash('sha256').update(bytes).digest('hex');
        if (actual !== spec.sha256)
          throw hypervisorError(
            K.CHECKSUM_MISMATCH,
            `copy of ${path} has sha256 ${actual}, expected ${spec.sha256}`,
            { field: 'sha256', path },
          );
        let copy: { virtualSizeBytes: number; encrypted: boolean; backingFile: string | null };
        try {
          copy = JSON.parse(bytes.toString('utf8')) as typeof copy;
        } catch {
          throw hypervisorError(K.VOLUME_UNTRUSTED, `copy of ${path} is not a simulated volume`, {
            path,
          });
        }
        if ((copy.backingFile === null) !== (spec.backingFile === undefined))
          throw hypervisorError(
            K.VOLUME_UNTRUSTED,
            `copy of ${path}: backing file ${copy.backingFile ?? 'none'} but base ${spec.backingFile?.path ?? 'none'} given`,
            { field: 'backingFile', path },
          );
        const previous = this.volumeMap.get(path)?.info.virtualSizeBytes ?? 0;
        this.reserveStorage(path, Math.max(0, copy.virtualSizeBytes - previous));
        const info: VolumeInfo = {
          path,
          format: 'qcow2',
          virtualSizeBytes: copy.virtualSizeBytes,
          actualSizeBytes: QCOW2_EMPTY_BYTES,
          encrypted: copy.encrypted,
        };
        if (spec.backingFile) info.backingFile = spec.backingFile.path;
        this.volumeMap.set(path, { info });
        await this.delay('volumeCreate', path);
        return { ...info };
      }),
    list: async (dir: string) => {
      const prefix = dir.endsWith('/') ? dir : `${dir}/`;
      return [...this.volumeMap.keys()]
        .filter((p) => p.startsWith(prefix) && !p.slice(prefix.length).includes('/'))
        .map((p) => p.slice(prefix.length))
        .sort();
    },
  };

  // --- networks ----------------------------------------------------------------------------------

  readonly networks: Hypervisor['networks'] = {
    ensureSegment: async (segment: SegmentSpec) => {
      await this.delay('ensureSegment', segment.bridge);
      this.segments.set(segment.bridge, structuredClone(segment));
    },
    removeSegment: async (bridge: string) => {
      if (!this.segments.has(bridge)) return;
      const users = [...this.domains.values()].filter((d) =>
        d.live?.devices.interfaces.some((i) => i.sourceBridge === bridge),
      );
      if (users.length > 0) {
        throw hypervisorError(
          K.SEGMENT_IN_USE,
          `bridge ${bridge} is in use by ${users.map((d) => d.definition.name).join(', ')}`,
          { bridge },
        );
      }
      await this.delay('removeSegment', bridge);
      this.segments.delete(bridge);
    },
    listBridges: async () => [...this.segments.keys()].sort(),
    listFilters: async () => [
      ...(this.options.filters ?? [
        'allow-arp',
        'clean-traffic',
        'no-arp-spoofing',
        'no-ip-spoofing',
        'no-mac-spoofing',
      ]),
    ],
  };

  /** Bridges of the segments this host has, for assertions in tests. */
  segmentBridges(): string[] {
    return [...this.segments.keys()];
  }

  // --- events ------------------------------------------------------------------------------------

  events(listener: (event: DomainEvent) => void): () => void {
    this.listeners.add(listener);
    return () => {
      this.listeners.delete(listener);
    };
  }

  // --- internals ---------------------------------------------------------------------------------

  private summary(d: SimDomain): DomainSummary {
    const s: DomainSummary = {
      uuid: d.definition.uuid,
      name: d.definition.name,
      state: d.state,
      persistent: true,
    };
    const palisade = d.definition.metadata?.palisade;
    if (palisade) s.palisade = structuredClone(palisade);
    return s;
  }

  private mustGet(uuid: string): SimDomain {
    const d = this.domains.get(uuid.toLowerCase());
    if (!d) throw hypervisorError(K.DOMAIN_NOT_FOUND, `no domain with matching uuid '${uuid}'`);
    return d;
  }

  private stopNow(d: SimDomain, detail: string): void {
    if (!d.live) return;
    this.release(d);
    d.state = 'shutoff';
    d.reason = detail;
    // QEMU's SHUTDOWN precedes the stop: `host` for destroy (measured, libvirt 9.0); `guest` for
    // a guest power-off, and none for a crash, as libvirt's qemuProcessHandleShutdown reads
    // (not measured here: no test guest reacts to ACPI).
    if (detail === 'destroyed') this.emit(d.definition, 'shutdown', 'host');
    if (detail === 'shutdown') this.emit(d.definition, 'shutdown', 'guest');
    this.emit(d.definition, 'stopped', detail);
  }

  private release(d: SimDomain): void {
    if (d.live) this.memoryReservedKiB -= d.live.memoryKiB;
    delete d.live;
  }

  private reserveStorage(path: string, bytes: number): void {
    const total = this.totals.storageGiB * GiB;
    const used = this.capacity().storageGiB.usedBytes;
    if (used + bytes > total) {
      throw hypervisorError(
        K.INSUFFICIENT_CAPACITY,
        `cannot allocate ${bytes / GiB} GiB for ${path}: ${(total - used) / GiB} GiB free ` +
          `of ${this.totals.storageGiB} GiB`,
        { path, neededBytes: bytes, freeBytes: total - used },
      );
    }
  }

  private emit(domain: Domain, event: string, detail: string): void {
    const e: DomainEvent = {
      kind: 'lifecycle',
      uuid: domain.uuid,
      name: domain.name,
      event,
      detail,
      at: this.clock.now(),
    };
    for (const l of this.listeners) l(e);
  }

  private latencyOf(op: SimulatedOperation | 'guestShutdown', subject: string): number {
    const l = this.options.latency?.[op];
    if (l === undefined) return 0;
    return typeof l === 'number' ? l : l(op, subject);
  }

  private async delay(op: SimulatedOperation, subject: string): Promise<void> {
    const ms = this.latencyOf(op, subject);
    if (ms > 0) await this.clock.sleep(ms);
  }

  private withLock<T>(key: string, fn: () => Promise<T>): Promise<T> {
    return this.locks.run(key, fn);
  }
}
