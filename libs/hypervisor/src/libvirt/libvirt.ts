/**
 * `LibvirtHypervisor`: the `Hypervisor` port on a real host, driving `virsh -c <uri>` and
 * `qemu-img` as child processes (no libvirt bindings: the agent stays plain Node and the commands
 * are the ones an operator would type). Images are `QemuImages`' (images.ts), segments (bridges,
 * VXLAN/VLAN uplinks) the injected `segments` driver's; this class never touches host networking.
 *
 * What it must never do: put key material in argv, a log or an error (keys travel in 0600 temp
 * files removed right after use); let qemu-img probe an image format (`-f` is always explicit);
 * touch or hand to QEMU an image, backing file or data file outside `volumeDirs`; write the memory
 * hard limit to the persistent definition.
 *
 * libvirt semantics the port asks for that libvirt itself does not give, and how they are made:
 * - undefine of a running domain is allowed by libvirt (it becomes transient); the port refuses
 *   it, so undefine checks the state under a per-domain lock (`domain_active`).
 * - start/destroy/undefine/secret-undefine of something already in the wanted state fail in
 *   virsh; those specific failures are success here.
 * - a private secret's value cannot be read back, so "exists with a value" is kept true by
 *   construction: define always sets the value and undefines a secret whose value failed to set.
 */
import { AppError, ErrorCode } from '@palisade/contracts';
import { hypervisorError, hypervisorErrorKind, HypervisorErrorKind as K } from '../contract/errors';
import { checkLuksKey, checkSnapshotName } from '../contract/keys';
import { snapshotDisks, type SnapshotDisk } from '../contract/snapshots';
import { parseDomainXml, type Domain } from '../domain/domain';
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
} from '../hypervisor';
import { KeyedLock } from '../util/keyed-lock';
import { el, textEl, writeXml } from '../xml/xml';
import { VirshEventStream, type LifecycleLine } from './events';
import { QemuImages } from './images';
import { toAppError } from './libvirt-errors';
import {
  identityOf,
  lines,
  metadataOf,
  parseDomIfList,
  parseKeyValues,
  parseNwfilterList,
  parseSecretList,
  parseState,
  parseStateXmlBatch,
  uuidArg,
} from './virsh-output';
import { CommandError, runCommand, withPrivateFile } from './runner';

/** The host-networking half of segments, implemented with iproute2 elsewhere (host-network). */
export interface SegmentDriver {
  // Results (e.g. the steps LinuxSegments took) are not part of the port and are ignored.
  ensureSegment(spec: SegmentSpec): Promise<unknown>;
  removeSegment(bridge: string): Promise<unknown>;
  listBridges(): Promise<string[]>;
}

export interface LibvirtHypervisorOptions {
  /** e.g. `qemu:///system`, or `qemu:///system?socket=/run/ns1/libvirt-sock` for a libvirtd in
   *  a network namespace. */
  uri: string;
  /** Directories that volumes, their backing files and external data files must live in. */
  volumeDirs: string[];
  segments?: SegmentDriver;
  /** Per-command timeout for virsh (default 60 s) and qemu-img (default 300 s). */
  timeouts?: { virshMs?: number; qemuImgMs?: number };
  /** Reconnect backoff of the event stream (default 250 ms doubling up to 10 s). */
  eventBackoff?: { initialMs: number; maxMs: number };
  /** How long an operation waits for a just-started event stream to register (default 10 s). */
  eventReadyTimeoutMs?: number;
  /** PBKDF2 time QEMU spends on the LUKS key slot at create, and again at every open (each VM
   *  start, each resize). QEMU's default is 2000 ms. Palisade's keys are random (not passwords),
   *  so stretching adds no strength; tests use a small value to spare the shared CPUs. */
  luksIterTimeMs?: number;
  virsh?: string;
  qemuImg?: string;
}

const SHUTDOWN_POLL_MS = 250;

export class LibvirtHypervisor implements Hypervisor {
  private readonly locks = new KeyedLock();
  private readonly listeners = new Set<(e: DomainEvent) => void>();
  /** Domain name -> UUID, for events (virsh prints names only). */
  private readonly uuidByName = new Map<string, string>();
  private stream: VirshEventStream | undefined;
  private delivery: Promise<void> = Promise.resolve();
  private readonly images: QemuImages;

  readonly volumes: Hypervisor['volumes'];

  constructor(private readonly options: LibvirtHypervisorOptions) {
    this.images = new QemuImages({
      volumeDirs: options.volumeDirs,
      ...(options.luksIterTimeMs === undefined ? {} : { luksIterTimeMs: options.luksIterTimeMs }),
      ...(options.timeouts?.qemuImgMs === undefined
        ? {}
        : { timeoutMs: options.timeouts.qemuImgMs }),
      ...(options.qemuImg === undefined ? {} : { qemuImg: options.qemuImg }),
    });
    this.volumes = this.images.volumes;
  }

  /** PID of the event stream's virsh child, while one runs (diagnostics and tests). */
  get eventStreamPid(): number | undefined {
    return this.stream?.pid;
  }

  /** Stops the event stream and drops every listener; the instance stays usable for calls. */
  close(): void {
    this.listeners.clear();
    this.stream?.stop();
    this.stream = undefined;
  }

  // --- domains -----------------------------------------------------------------------------------

  async defineDomain(xml: string): Promise<{ uuid: string }> {
    const { uuid, name } = identityOf(xml);
    await this.eventsSettled();
    return this.locks.run(uuid, async () => {
      // A file, not stdin: Node's stdio pipes are sockets, which virsh cannot open as /dev/stdin.
      await withPrivateFile(
        Buffer.from(xml),
        (file) => this.virsh(['define', file], `define domain ${name}`, { xml }),
        'domain.xml',
      );
      this.uuidByName.set(name, uuid);
      return { uuid };
    });
  }

  async start(uuid: string): Promise<void> {
    const key = uuidArg(uuid);
    await this.eventsSettled();
    await this.locks.run(key, async () => {
      try {
        await this.virsh(['start', key], `start domain ${key}`);
      } catch (e) {
        const kind = hypervisorErrorKind(e);
        if (kind === K.DOMAIN_ACTIVE) return;
        if (kind === K.DOMAIN_NOT_FOUND || !(e instanceof AppError)) throw e;
        // The definition that failed to start belongs in the error (STYLE.md, errors).
        const xml = await this.virsh(['dumpxml', '--inactive', key], 'dumpxml').then(
          (r) => r,
          () => undefined,
        );
        throw new AppError(e.code, e.message, {
          details: { ...e.details, ...(xml ? { xml } : {}) },
          cause: e.cause,
        });
      }
    });
  }

  async shutdown(uuid: string, options: ShutdownOptions): Promise<{ stopped: boolean }> {
    const key = uuidArg(uuid);
    await this.eventsSettled();
    return this.locks.run(key, async () => {
      const state = await this.stateOf(key);
      if (state === undefined || state === 'shutoff') return { stopped: true };
      // A preserved crash has no guest left to answer ACPI; only destroy ends it.
      if (state === 'crashed') return { stopped: false };
      try {
        await this.virsh(['shutdown', '--mode', 'acpi', key], `shutdown domain ${key}`);
      } catch (e) {
        const kind = hypervisorErrorKind(e);
        if (kind !== K.DOMAIN_INACTIVE && kind !== K.DOMAIN_NOT_FOUND) throw e;
      }
      const deadline = Date.now() + options.timeoutMs;
      for (;;) {
        const now = await this.stateOf(key);
        if (now === undefined || now === 'shutoff') return { stopped: true };
        if (Date.now() >= deadline) return { stopped: false };
        await sleep(Math.min(SHUTDOWN_POLL_MS, Math.max(0, deadline - Date.now())));
      }
    });
  }

  async destroy(uuid: string): Promise<void> {
    const key = uuidArg(uuid);
    await this.eventsSettled();
    await this.locks.run(key, async () => {
      try {
        await this.virsh(['destroy', key], `destroy domain ${key}`);
      } catch (e) {
        const kind = hypervisorErrorKind(e);
        if (kind !== K.DOMAIN_INACTIVE && kind !== K.DOMAIN_NOT_FOUND) throw e;
      }
    });
  }

  async undefine(uuid: string): Promise<void> {
    const key = uuidArg(uuid);
    await this.eventsSettled();
    await this.locks.run(key, async () => {
      const d = await this.describe(key);
      if (!d) return;
      if (d.state !== 'shutoff') {
        throw hypervisorError(
          K.DOMAIN_ACTIVE,
          `domain '${d.name}' is ${d.state}; destroy or shut it down before undefine`,
        );
      }
      try {
        // Snapshot metadata would block the undefine; the images (and snapshots in them) stay.
        await this.virsh(
          ['undefine', '--managed-save', '--snapshots-metadata', key],
          `undefine domain ${key}`,
        );
      } catch (e) {
        if (hypervisorErrorKind(e) !== K.DOMAIN_NOT_FOUND) throw e;
      }
    });
  }

  async getDomain(uuid: string): Promise<DomainDetails | null> {
    return (await this.describe(uuidArg(uuid))) ?? null;
  }

  /**
   * Three virsh processes whatever the number of domains (the list, the transient ones, and one
   * batch of `domstate; dumpxml` per domain) instead of one per domain. If a domain vanishes
   * mid-batch its commands fail and the batch no longer lines up, so it falls back to one
   * `describe` per domain.
   */
  async listDomains(): Promise<DomainSummary[]> {
    const uuids = lines(await this.virsh(['list', '--all', '--uuid'], 'list domains'));
    if (uuids.length === 0) return [];
    const transient = new Set(
      lines(await this.virsh(['list', '--all', '--transient', '--uuid'], 'list domains')),
    );
    let out: string | undefined;
    try {
      const batch = uuids.map((u) => `domstate ${uuidArg(u)}; dumpxml ${u}`).join('; ');
      out = await this.virsh([batch], 'describe domains');
    } catch (e) {
      if (hypervisorErrorKind(e) !== K.DOMAIN_NOT_FOUND) throw e;
    }
    const batched = out === undefined ? undefined : parseStateXmlBatch(out, uuids);
    if (batched) {
      return batched.map(({ uuid, state, xml }) => {
        const { name } = identityOf(xml);
        this.uuidByName.set(name, uuid);
        const summary: DomainSummary = { uuid, name, state, persistent: !transient.has(uuid) };
        const palisade = metadataOf(xml);
        if (palisade) summary.palisade = palisade;
        return summary;
      });
    }
    const result: DomainSummary[] = [];
    for (const uuid of uuids) {
      const d = await this.describe(uuid);
      if (!d) continue; // undefined between the list and now
      const { reason: _reason, xml: _xml, ...summary } = d;
      result.push(summary);
    }
    return result;
  }

  async setMemoryHardLimit(uuid: string, hardLimitKiB: number): Promise<void> {
    const key = uuidArg(uuid);
    if (!Number.isSafeInteger(hardLimitKiB) || hardLimitKiB <= 0) {
      throw new AppError(ErrorCode.VALIDATION_FAILED, 'hardLimitKiB must be a positive integer', {
        details: { field: 'hardLimitKiB', value: hardLimitKiB },
      });
    }
    await this.locks.run(key, async () => {
      // --live only: the persistent definition must never carry it (see the designer).
      await this.virsh(
        ['memtune', key, '--hard-limit', String(hardLimitKiB), '--live'],
        `set memory hard limit of ${key}`,
      );
    });
  }

  // --- snapshots -------------------------------------------------------------------------------

  /**
   * Internal qcow2 snapshots through `qemu-img snapshot` on each disk of a shut-off domain, not
   * `virsh snapshot-create`: libvirt runs `qemu-img snapshot -c` for an inactive domain without
   * the LUKS key (fails: "Parameter 'encrypt.key-secret' is required for cipher"), and a live
   * internal snapshot of a LUKS qcow2 aborts QEMU 7.2 (`qcow2_co_encdec: Assertion
   * QEMU_IS_ALIGNED(len, sector_size)` while saving the memory state). Measured on this host.
   */
  readonly snapshots: Hypervisor['snapshots'] = {
    create: (uuid, name, keys) =>
      this.onStoppedDisks(uuid, name, keys, async (disks) => {
        for (const d of disks) {
          if (!d.tags.includes(name))
            await this.images.snapshotOp(['-c', name], d, 'create snapshot');
        }
      }),
    revert: (uuid, name, keys) =>
      this.onStoppedDisks(uuid, name, keys, async (disks) => {
        // All or nothing: check every disk has it before changing any.
        const missing = disks.filter((d) => !d.tags.includes(name)).map((d) => d.path);
        if (missing.length > 0) {
          throw hypervisorError(
            K.SNAPSHOT_NOT_FOUND,
            `no snapshot '${name}' on ${missing.join(', ')}`,
            { uuid, name, disks: missing },
          );
        }
        for (const d of disks) await this.images.snapshotOp(['-a', name], d, 'revert to snapshot');
      }),
    delete: (uuid, name, keys) =>
      this.onStoppedDisks(uuid, name, keys, async (disks) => {
        for (const d of disks) {
          if (d.tags.includes(name))
            await this.images.snapshotOp(['-d', name], d, 'delete snapshot');
        }
      }),
    list: async (uuid) => {
      const key = uuidArg(uuid);
      const disks = snapshotDisks(await this.persistentDefinition(key));
      const tagLists = await Promise.all(
        disks.map(async (d) =>
          this.images.snapshotTags(await this.images.allowedPath(d.path, 'disk')),
        ),
      );
      return tagLists[0]!.filter((t) => tagLists.every((l) => l.includes(t)));
    },
  };

  private async onStoppedDisks(
    uuid: string,
    name: string,
    keys: DiskKeys,
    fn: (disks: (SnapshotDisk & { tags: string[] })[]) => Promise<void>,
  ): Promise<void> {
    const key = uuidArg(uuid);
    await this.locks.run(key, async () => {
      const definition = await this.persistentDefinition(key);
      checkSnapshotName(name);
      const state = await this.stateOf(key);
      if (state !== 'shutoff') {
        throw hypervisorError(
          K.DOMAIN_ACTIVE,
          `domain '${definition.name}' is ${state ?? 'gone'}; snapshots are taken of stopped domains only`,
        );
      }
      const disks = [];
      for (const d of snapshotDisks(definition, keys)) {
        const path = await this.images.allowedPath(d.path, 'disk');
        if (!(await this.images.volumeInfo(path))) {
          throw hypervisorError(
            K.VOLUME_NOT_FOUND,
            `disk ${path} of ${definition.name} is missing`,
            {
              path,
            },
          );
        }
        disks.push({ ...d, path, tags: await this.images.snapshotTags(path) });
      }
      await fn(disks);
    });
  }

  private async persistentDefinition(uuid: string): Promise<Domain> {
    const xml = await this.virsh(['dumpxml', '--inactive', uuid], `definition of ${uuid}`);
    return parseDomainXml(xml);
  }

  // --- secrets -----------------------------------------------------------------------------------

  readonly secrets: Hypervisor['secrets'] = {
    define: async (secret: SecretSpec) => {
      const uuid = uuidArg(secret.uuid, 'secret.uuid');
      checkLuksKey(secret.value, 'value');
      return this.locks.run(`secret:${uuid}`, async () => {
        const xml = writeXml(
          el('secret', { ephemeral: 'yes', private: 'yes' }, [
            textEl('uuid', uuid),
            el('usage', { type: 'volume' }, [textEl('volume', secret.usage)]),
          ]),
        );
        const existed = await this.secrets.exists(uuid);
        await withPrivateFile(
          Buffer.from(xml),
          (file) => this.virsh(['secret-define', file], `define secret ${uuid}`),
          'secret.xml',
        );
        try {
          await withPrivateFile(secret.value, (file) =>
            this.virsh(
              ['secret-set-value', '--secret', uuid, '--file', file, '--plain'],
              `set value of secret ${uuid}`,
            ),
          );
        } catch (e) {
          // A secret without a value would make `exists` lie; remove what this call created.
          if (!existed) await this.secrets.undefine(uuid).catch(() => undefined);
          throw e;
        }
      });
    },
    undefine: async (uuid: string) => {
      try {
        await this.virsh(['secret-undefine', uuidArg(uuid)], `undefine secret ${uuid}`);
      } catch (e) {
        if (hypervisorErrorKind(e) !== K.SECRET_MISSING) throw e;
      }
    },
    exists: async (uuid: string) => {
      try {
        await this.virsh(['secret-dumpxml', uuidArg(uuid)], `look up secret ${uuid}`);
        return true;
      } catch (e) {
        if (hypervisorErrorKind(e) === K.SECRET_MISSING) return false;
        throw e;
      }
    },
    list: async () => parseSecretList(await this.virsh(['secret-list'], 'list secrets')),
  };

  // --- networks ----------------------------------------------------------------------------------

  readonly networks: Hypervisor['networks'] = {
    ensureSegment: async (segment: SegmentSpec) => {
      await this.segmentDriver().ensureSegment(segment);
    },
    removeSegment: async (bridge: string) => {
      const driver = this.segmentDriver();
      const users: string[] = [];
      const running = await this.virsh(['list', '--uuid'], 'list running domains');
      for (const uuid of running
        .split('\n')
        .map((l) => l.trim())
        .filter(Boolean)) {
        const ifaces = await this.virsh(['domiflist', uuid], `interfaces of ${uuid}`).catch(
          (e: unknown) => {
            if (hypervisorErrorKind(e) === K.DOMAIN_NOT_FOUND) return '';
            throw e;
          },
        );
        if (parseDomIfList(ifaces).some((i) => i.source === bridge)) users.push(uuid);
      }
      if (users.length > 0) {
        throw hypervisorError(
          K.SEGMENT_IN_USE,
          `bridge ${bridge} is in use by ${users.join(', ')}`,
          {
            bridge,
            domains: users,
          },
        );
      }
      await driver.removeSegment(bridge);
    },
    listBridges: () => this.segmentDriver().listBridges(),
    listFilters: async () =>
      parseNwfilterList(await this.virsh(['nwfilter-list'], 'list nwfilters')),
  };

  // --- events ------------------------------------------------------------------------------------

  events(listener: (event: DomainEvent) => void): () => void {
    this.listeners.add(listener);
    if (!this.stream) {
      this.stream = new VirshEventStream({
        uri: this.options.uri,
        virsh: this.options.virsh ?? 'virsh',
        backoff: this.options.eventBackoff ?? { initialMs: 250, maxMs: 10_000 },
        onEvent: (e) => this.deliver(e),
        onDisconnect: (reason, at) => {
          this.delivery = this.delivery.then(() => this.emit({ kind: 'disconnected', at, reason }));
        },
        onReconnect: (at) => {
          this.delivery = this.delivery.then(() => this.emit({ kind: 'reconnected', at }));
        },
      });
      this.stream.start();
    }
    return () => {
      this.listeners.delete(listener);
      if (this.listeners.size === 0 && this.stream) {
        this.stream.stop();
        this.stream = undefined;
      }
    };
  }

  // --- internals ---------------------------------------------------------------------------------

  private deliver(line: LifecycleLine): void {
    // In order, even when a name has to be looked up first.
    this.delivery = this.delivery.then(async () => {
      const uuid = await this.uuidOfName(line.name);
      this.emit({
        kind: 'lifecycle',
        uuid,
        name: line.name,
        event: line.event,
        detail: line.detail,
        at: line.at,
      });
    });
  }

  private emit(e: DomainEvent): void {
    for (const l of [...this.listeners]) {
      if (!this.listeners.has(l)) continue;
      try {
        l(e);
      } catch (err) {
        // A throwing listener must not stop delivery to the others or of later events; its error
        // surfaces as uncaught, like an EventEmitter listener's.
        queueMicrotask(() => {
          throw err;
        });
      }
    }
  }

  private async uuidOfName(name: string): Promise<string> {
    const cached = this.uuidByName.get(name);
    if (cached) return cached;
    try {
      const uuid = (await this.virsh(['domuuid', name], `uuid of ${name}`)).trim();
      this.uuidByName.set(name, uuid);
      return uuid;
    } catch {
      // Gone already (defined and undefined by someone else before we looked). Palisade's own
      // names carry the UUID; for anyone else's, the name is all that is left.
      return /^palisade-([0-9a-f-]{36})$/.exec(name)?.[1] ?? '';
    }
  }

  /** Operations wait until a just-started event stream is registered, so that a subscriber sees
   *  the events of every operation started after `events()` returned. */
  private async eventsSettled(): Promise<void> {
    const stream = this.stream;
    if (!stream) return;
    let timer: NodeJS.Timeout | undefined;
    await Promise.race([
      stream.ready(),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, this.options.eventReadyTimeoutMs ?? 10_000);
      }),
    ]);
    clearTimeout(timer);
  }

  private segmentDriver(): SegmentDriver {
    if (!this.options.segments) {
      throw new AppError(
        ErrorCode.INTERNAL,
        'LibvirtHypervisor has no segment driver (options.segments) configured',
      );
    }
    return this.options.segments;
  }

  private async stateOf(uuid: string): Promise<DomainState | undefined> {
    try {
      const out = await this.virsh(['domstate', uuid], `state of ${uuid}`);
      return parseState(out.trim()).state;
    } catch (e) {
      if (hypervisorErrorKind(e) === K.DOMAIN_NOT_FOUND) return undefined;
      throw e;
    }
  }

  /** One virsh process for state, identity and XML, so they describe the same moment. */
  private async describe(uuid: string): Promise<DomainDetails | undefined> {
    const args = [`domstate --reason ${uuid}; dominfo ${uuid}; dumpxml ${uuid}`];
    let out: string;
    try {
      out = await this.virsh(args, `describe domain ${uuid}`);
    } catch (e) {
      if (hypervisorErrorKind(e) === K.DOMAIN_NOT_FOUND) return undefined;
      throw e;
    }
    const xmlStart = out.indexOf('<domain');
    if (xmlStart < 0) {
      throw new AppError(ErrorCode.INTERNAL, `virsh printed no XML for ${uuid}`, {
        details: { output: out },
      });
    }
    const xml = out.slice(xmlStart);
    const head = out.slice(0, xmlStart).split('\n');
    const { state, reason } = parseState(head[0]!.trim());
    const info = parseKeyValues(head.slice(1));
    const name = info['Name'] ?? '';
    const details: DomainDetails = {
      uuid: (info['UUID'] ?? uuid).toLowerCase(),
      name,
      state,
      persistent: info['Persistent'] === 'yes',
      xml,
    };
    if (reason !== undefined) details.reason = reason;
    const palisade = metadataOf(xml);
    if (palisade) details.palisade = palisade;
    this.uuidByName.set(name, details.uuid);
    return details;
  }

  /** Runs virsh; batch arguments (`a; b`) report failures on stderr with exit code 0, so any
   *  `error:` line counts as a failure. */
  private async virsh(
    args: string[],
    what: string,
    context: Record<string, unknown> = {},
  ): Promise<string> {
    const cmd = this.options.virsh ?? 'virsh';
    const argv = ['-c', this.options.uri, ...args];
    const timeoutMs = this.options.timeouts?.virshMs ?? 60_000;
    try {
      const r = await runCommand(cmd, argv, { timeoutMs });
      if (/^error: /m.test(r.stderr)) {
        throw new CommandError(cmd, argv, 0, r.stderr, r.stdout, false);
      }
      return r.stdout;
    } catch (e) {
      if (e instanceof CommandError) throw toAppError(e, what, context);
      throw e;
    }
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
