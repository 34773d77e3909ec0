/**
 * The `Hypervisor` port: every host operation the agent performs on libvirt, QEMU images and host
 * networking, as one interface with two implementations (a libvirt one driving `virsh`, `qemu-img`
 * and iproute2, and a simulated one for tests of everything above the agent).
 *
 * Contract for implementations:
 * - Every mutating call is idempotent: BullMQ delivers at least once, so each may be called again
 *   after it (or part of it) already happened. "Already in the wanted state" is success.
 * - Expected outcomes are return values (`null` for "no such domain"); failures of the host are
 *   thrown as `AppError` whose details carry libvirt's error text and, for define/start, the
 *   domain XML that failed (STYLE.md, errors).
 * - Domains are addressed by UUID, which is Palisade's VM ID (the designer sets both).
 * - Secrets' values cross this interface only inbound; nothing here returns key material.
 *
 * This file is types only: no I/O, no implementation.
 */
import type { PalisadeMetadata } from './domain/metadata';

/** libvirt's domain states (`virsh domstate`). */
export type DomainState =
  'nostate' | 'running' | 'blocked' | 'paused' | 'shutdown' | 'shutoff' | 'crashed' | 'pmsuspended';

export interface DomainSummary {
  uuid: string;
  name: string;
  state: DomainState;
  persistent: boolean;
  /** Palisade's identity from the domain metadata; absent for domains Palisade did not define
   *  (the reconciler quarantines those). */
  palisade?: PalisadeMetadata;
}

export interface DomainDetails extends DomainSummary {
  /** libvirt's reason for the state, e.g. `shutdown` for shutoff after a guest power-off. */
  reason?: string;
  /** The live XML when running (with allocated ptys, tap names and labels), else the
   *  persistent definition. Parse it with `parseDomainXml`. */
  xml: string;
}

export interface ShutdownOptions {
  /** How long to wait for the guest to power off after the ACPI request. When it passes, the
   *  call returns `{ stopped: false }` and the caller decides whether to `destroy`. */
  timeoutMs: number;
}

export interface SecretSpec {
  uuid: string;
  /** Human-readable usage ID, e.g. `palisade/volume/<volumeId>`; unique per host. */
  usage: string;
  /** Raw key bytes. Implementations pass it on stdin or in a 0600 temp file, never argv. Must be
   *  valid UTF-8 (QEMU reads LUKS passphrases as text; `invalid_key` otherwise), e.g. the base64
   *  text of 32 random bytes. */
  value: Uint8Array;
}

/** A qcow2 image; with `luks` set, created with `encrypt.format=luks` using that secret. */
export interface VolumeSpec {
  path: string;
  sizeBytes: number;
  /** A read-only base image to create the volume on top of (copy-on-write). */
  backingFile?: { path: string; format: 'qcow2' | 'raw' };
  /** The key for `qemu-img --object secret`; the same bytes as the libvirt secret's value, so
   *  also valid UTF-8. */
  luks?: { key: Uint8Array };
}

export interface VolumeInfo {
  path: string;
  format: 'qcow2' | 'raw';
  virtualSizeBytes: number;
  actualSizeBytes: number;
  encrypted: boolean;
  backingFile?: string;
}

/** A volume's bytes as stored, to copy it to another host (a cold migration). */
export interface VolumeExport {
  sizeBytes: number;
  /** SHA-256 (hex) of exactly the bytes `open()` yields; the importing host verifies it. */
  sha256: string;
  /** The base image the volume sits on, as a file name in this host's image store
   *  (`<checksum>.<format>`); the importing host re-points the copy at its own copy of it. */
  backingFile?: { name: string; format: 'qcow2' | 'raw' };
  open(): AsyncIterable<Uint8Array>;
}

export interface VolumeImport {
  /** Expected SHA-256 (hex) of the stream: a copy that does not match never appears. */
  sha256: string;
  /** This host's copy of the base the exported volume named (required exactly when it named
   *  one): the copy's backing reference is rewritten to it, nothing is decrypted. */
  backingFile?: { path: string; format: 'qcow2' | 'raw' };
}

/** One tenant segment on this host: a Linux bridge whose uplink carries the segment. */
export interface SegmentSpec {
  bridge: string;
  uplink:
    | {
        kind: 'vxlan';
        vni: number;
        device: string;
        localIp: string;
        underlayDev: string;
        group?: string;
        remotes?: string[];
        dstPort: number;
      }
    | { kind: 'vlan'; vid: number; trunkDev: string };
  mtu?: number;
}

/** Disk keys by the libvirt secret UUID their disk's `<encryption>` names. */
export type DiskKeys = Record<string, Uint8Array>;

export type DomainEvent =
  | {
      kind: 'lifecycle';
      uuid: string;
      name: string;
      /** libvirt's event and detail, e.g. `stopped` / `shutdown`, `crashed` / `panicked`. */
      event: string;
      detail: string;
      at: Date;
    }
  /** The event stream was interrupted (libvirtd restarted); the caller must resynchronise by
   *  listing domains, because events in between were lost. */
  | { kind: 'disconnected'; at: Date; reason: string }
  /** After `disconnected`: the stream delivers events again (libvirtd is back). Events between
   *  the two were lost; resynchronise now, when listing domains can succeed. */
  | { kind: 'reconnected'; at: Date };

export interface Hypervisor {
  // --- domains -----------------------------------------------------------------------------------

  /** Defines or redefines the persistent domain described by `xml` (from the designer). A running
   *  domain keeps its current configuration until its next start. Returns the domain's UUID. */
  defineDomain(xml: string): Promise<{ uuid: string }>;

  /** Starts a defined domain; success if it is already running. */
  start(uuid: string): Promise<void>;

  /** Asks the guest to power off (ACPI) and waits up to `timeoutMs`. `stopped: true` also when the
   *  domain was not running. */
  shutdown(uuid: string, options: ShutdownOptions): Promise<{ stopped: boolean }>;

  /** Stops the domain immediately (pulls the plug); success if it is not running. */
  destroy(uuid: string): Promise<void>;

  /** Removes the persistent definition; success if there is none. The domain must be stopped
   *  first; images and secrets are not touched. */
  undefine(uuid: string): Promise<void>;

  /** State and XML of one domain, or `null` if libvirt does not know it. */
  getDomain(uuid: string): Promise<DomainDetails | null>;

  /** All domains on the host, defined or transient, Palisade's or not. */
  listDomains(): Promise<DomainSummary[]>;

  /** Sets the memory cgroup hard limit of a running domain (the designer's `post-start` step,
   *  `virsh memtune --hard-limit --live`). Never written to the persistent definition. */
  setMemoryHardLimit(uuid: string, hardLimitKiB: number): Promise<void>;

  // --- secrets (disk encryption keys) ----------------------------------------------------------

  secrets: {
    /** Defines an `ephemeral='yes' private='yes'` secret and sets its value, so the key lives
     *  only in libvirtd's memory and cannot be read back. Idempotent for the same UUID. */
    define(secret: SecretSpec): Promise<void>;
    /** Removes the secret; success if absent. */
    undefine(uuid: string): Promise<void>;
    /** Whether the secret exists with a value (after a libvirtd restart ephemeral secrets are
     *  gone and must be re-sent by the control plane before the VM can start). */
    exists(uuid: string): Promise<boolean>;
    /** UUIDs of every secret the host holds, Palisade's or not (inventory and crash tests: a
     *  volume's secret must exist once, and not outlive the volume). */
    list(): Promise<string[]>;
  };

  // --- volumes (qcow2 images) ------------------------------------------------------------------

  volumes: {
    /** Creates the image; success if an identical one (size, format, encryption) exists. */
    create(volume: VolumeSpec): Promise<VolumeInfo>;
    /** Grows the image to `sizeBytes` (never shrinks); the key is needed for encrypted images. */
    resize(path: string, sizeBytes: number, luks?: { key: Uint8Array }): Promise<VolumeInfo>;
    /** Deletes the file; success if absent. Crypto-erase (dropping the wrapped key) happens in the
     *  control plane before this call. */
    delete(path: string): Promise<void>;
    info(path: string): Promise<VolumeInfo | null>;
    /** The image's bytes exactly as stored: a LUKS image stays ciphertext, no key is needed or
     *  used. `null` when absent. The caller makes sure no running domain writes to it. */
    export(path: string): Promise<VolumeExport | null>;
    /** Writes a copy made by `export` at `path`: written beside it, checked against `sha256`,
     *  then renamed into place, so a short or corrupt copy never appears (and an earlier copy at
     *  `path` is replaced only by a verified one). `checksum_mismatch` when the bytes differ. */
    import(
      path: string,
      source: AsyncIterable<Uint8Array>,
      spec: VolumeImport,
    ): Promise<VolumeInfo>;
    /** Names of the files directly in `dir` (one of the volume directories), sorted; an absent
     *  directory lists nothing. For the reconciler: files no row accounts for are quarantined. */
    list(dir: string): Promise<string[]>;
  };

  // --- snapshots (internal qcow2 snapshots of a stopped domain's disks) -------------------------

  /**
   * Named internal snapshots taken on every qcow2 disk of the domain's persistent definition at
   * once. Only while the domain is shut off (`domain_active` otherwise): a live internal snapshot
   * writes the memory state into the image, and on a LUKS qcow2 that crashes QEMU 7.2 (measured,
   * see the README). Opening an encrypted image for writing needs its key, hence `keys` for every
   * encrypted disk (`invalid_key` naming the secret when one is missing or wrong).
   */
  snapshots: {
    /** Success if every disk already has a snapshot of that name. */
    create(uuid: string, name: string, keys: DiskKeys): Promise<void>;
    /** Puts every disk back to the snapshot; `snapshot_not_found` if a disk lacks it. */
    revert(uuid: string, name: string, keys: DiskKeys): Promise<void>;
    /** Removes the snapshot from every disk that has it; success if none has. */
    delete(uuid: string, name: string, keys: DiskKeys): Promise<void>;
    /** Names every disk has, oldest first. Needs no key. */
    list(uuid: string): Promise<string[]>;
  };

  // --- networks (tenant segments) --------------------------------------------------------------

  networks: {
    /** Creates or converges the bridge and its uplink for a segment. */
    ensureSegment(segment: SegmentSpec): Promise<void>;
    /** Removes the bridge and uplink; success if absent. Refuses (throws) while a domain's
     *  interface is still attached. */
    removeSegment(bridge: string): Promise<void>;
    /** Names of the bridges on the host (its segments' among them): what the control plane
     *  compares with where its VMs are, to find bridges no VM needs. */
    listBridges(): Promise<string[]>;
    /** Names of the nwfilters libvirt has, to check `clean-traffic` is present before start. */
    listFilters(): Promise<string[]>;
  };

  // --- events ------------------------------------------------------------------------------------

  /** Subscribes to domain lifecycle events. Returns a function that unsubscribes. */
  events(listener: (event: DomainEvent) => void): () => void;
}
