/**
 * The shared contract every `Hypervisor` implementation must pass: the libvirt semantics the
 * control plane relies on (idempotency, refusals, secrets, volumes, event order), registered as
 * vitest tests so the simulated and the libvirt implementation run the very same assertions.
 *
 * Test-only: must never be exported from the package index (it imports vitest). It creates only
 * domains, secrets, volumes and segments with fresh UUIDs/paths and removes them in `cleanup`.
 */
import { randomUUID } from 'node:crypto';
import { ErrorCode } from '@palisade/contracts';
import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { domainToXml, parseDomainXml, type Domain } from '../domain/domain';
import type { DomainEvent, Hypervisor, SegmentSpec } from '../hypervisor';
import { hypervisorErrorKind, type HypervisorErrorKind } from './errors';

export interface DomainXmlParams {
  uuid: string;
  name: string;
  memoryMiB: number;
  /** An encrypted qcow2 disk to attach, unlocked by the named secret. */
  disk?: { path: string; secretUuid: string };
  /** A NIC on this bridge. */
  bridge?: string;
}

export interface HypervisorContractOptions {
  /** Directory for the suite's volumes (a real, writable directory for the libvirt one). */
  volumeDir: string;
  /** Builds a domain that can start on this host without an OS. Defaults to a minimal TCG domain. */
  domainXml?: (p: DomainXmlParams) => string;
  /** A segment the host can create; the segment tests are skipped without it. */
  segment?: SegmentSpec;
  /** How long to wait for asynchronously delivered events (libvirt); default 5000 ms. */
  eventTimeoutMs?: number;
}

export function minimalDomainXml(p: DomainXmlParams): string {
  const d: Domain = {
    type: 'qemu',
    name: p.name,
    uuid: p.uuid,
    metadata: {
      palisade: {
        vmId: p.uuid,
        tenantId: '00000000-0000-4000-8000-000000000001',
        specRevision: 1,
        name: 'contract',
        disks: [],
        nics: [],
      },
      other: [],
    },
    memoryKiB: p.memoryMiB * 1024,
    vcpus: 1,
    os: { type: 'hvm', arch: 'x86_64', machine: 'pc', bootDevs: ['hd'] },
    features: { acpi: true, apic: true },
    clockOffset: 'utc',
    onPoweroff: 'destroy',
    onReboot: 'restart',
    onCrash: 'destroy',
    devices: { disks: [], interfaces: [], serials: [], consoles: [], graphics: [] },
    seclabels: [],
  };
  if (p.disk) {
    d.devices.disks.push({
      device: 'disk',
      driver: { type: 'qcow2' },
      sourceFile: p.disk.path,
      target: { dev: 'vda', bus: 'virtio' },
      encryption: { format: 'luks', secretUuid: p.disk.secretUuid },
    });
  }
  if (p.bridge) {
    d.devices.interfaces.push({
      mac: '52:54:00:aa:bb:01',
      sourceBridge: p.bridge,
      model: 'virtio',
    });
  }
  return domainToXml(d);
}

/** The `details.kind` of the rejection, so tests assert the stable kind, not libvirt's text. */
async function kindOf(p: Promise<unknown>): Promise<HypervisorErrorKind | 'resolved' | 'unknown'> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return hypervisorErrorKind(e) ?? 'unknown';
  }
}

const LIFECYCLE = new Set(['defined', 'started', 'stopped', 'undefined']);

export function describeHypervisorContract(
  name: string,
  makeHypervisor: () => Promise<{ hv: Hypervisor; cleanup(): Promise<void> }>,
  opts: HypervisorContractOptions,
): void {
  const domainXml = opts.domainXml ?? minimalDomainXml;
  const eventTimeout = opts.eventTimeoutMs ?? 5000;

  describe(`Hypervisor contract: ${name}`, () => {
    let hv: Hypervisor;
    let cleanup: () => Promise<void>;
    const created: { domains: string[]; volumes: string[]; secrets: string[] } = {
      domains: [],
      volumes: [],
      secrets: [],
    };

    beforeEach(async () => {
      ({ hv, cleanup } = await makeHypervisor());
    });

    afterEach(async () => {
      for (const uuid of created.domains.splice(0)) {
        await hv.destroy(uuid);
        await hv.undefine(uuid);
      }
      for (const path of created.volumes.splice(0)) await hv.volumes.delete(path);
      for (const uuid of created.secrets.splice(0)) await hv.secrets.undefine(uuid);
      await cleanup();
    });

    function newDomain(extra: Partial<DomainXmlParams> = {}): DomainXmlParams {
      const uuid = randomUUID();
      created.domains.push(uuid);
      return { uuid, name: `palisade-${uuid}`, memoryMiB: 64, ...extra };
    }

    function volumePath(): string {
      const path = `${opts.volumeDir}/contract-${randomUUID()}.qcow2`;
      created.volumes.push(path);
      return path;
    }

    function newSecretUuid(): string {
      const uuid = randomUUID();
      created.secrets.push(uuid);
      return uuid;
    }

    describe('domains', () => {
      it('defines a shut-off persistent domain with its Palisade metadata', async () => {
        const p = newDomain();
        expect(await hv.defineDomain(domainXml(p))).toEqual({ uuid: p.uuid });
        const d = await hv.getDomain(p.uuid);
        expect(d).toMatchObject({ uuid: p.uuid, name: p.name, state: 'shutoff', persistent: true });
        expect(d?.palisade?.vmId).toBe(p.uuid);
        expect((await hv.listDomains()).map((s) => s.uuid)).toContain(p.uuid);
      });

      it('is idempotent by UUID and a redefine replaces the definition', async () => {
        const p = newDomain();
        await hv.defineDomain(domainXml(p));
        await hv.defineDomain(domainXml(p));
        await hv.defineDomain(domainXml({ ...p, memoryMiB: 96 }));
        const d = await hv.getDomain(p.uuid);
        expect(parseDomainXml(d!.xml).memoryKiB).toBe(96 * 1024);
        expect((await hv.listDomains()).filter((s) => s.uuid === p.uuid)).toHaveLength(1);
      });

      it('keeps the live configuration of a running domain until its next start', async () => {
        const p = newDomain();
        await hv.defineDomain(domainXml(p));
        await hv.start(p.uuid);
        await hv.defineDomain(domainXml({ ...p, memoryMiB: 96 }));
        expect(parseDomainXml((await hv.getDomain(p.uuid))!.xml).memoryKiB).toBe(64 * 1024);
        await hv.destroy(p.uuid);
        await hv.start(p.uuid);
        expect(parseDomainXml((await hv.getDomain(p.uuid))!.xml).memoryKiB).toBe(96 * 1024);
      });

      it('refuses a second domain with the same name', async () => {
        const p = newDomain();
        await hv.defineDomain(domainXml(p));
        const other = newDomain({ name: p.name });
        expect(await kindOf(hv.defineDomain(domainXml(other)))).toBe('domain_conflict');
      });

      it('rejects XML it cannot parse as invalid_xml', async () => {
        expect(await kindOf(hv.defineDomain('<domain'))).toBe('invalid_xml');
      });

      it('start is idempotent; starting an unknown domain is domain_not_found', async () => {
        const p = newDomain();
        await hv.defineDomain(domainXml(p));
        await hv.start(p.uuid);
        await hv.start(p.uuid);
        expect((await hv.getDomain(p.uuid))?.state).toBe('running');
        expect(await kindOf(hv.start(randomUUID()))).toBe('domain_not_found');
      });

      it('refuses to undefine a running domain; destroy then undefine works, twice', async () => {
        const p = newDomain();
        await hv.defineDomain(domainXml(p));
        await hv.start(p.uuid);
        expect(await kindOf(hv.undefine(p.uuid))).toBe('domain_active');
        expect((await hv.getDomain(p.uuid))?.state).toBe('running');
        await hv.destroy(p.uuid);
        await hv.destroy(p.uuid);
        expect((await hv.getDomain(p.uuid))?.state).toBe('shutoff');
        await hv.undefine(p.uuid);
        await hv.undefine(p.uuid);
        expect(await hv.getDomain(p.uuid)).toBeNull();
      });

      it('shutdown of a domain that is not running reports stopped', async () => {
        const p = newDomain();
        await hv.defineDomain(domainXml(p));
        expect(await hv.shutdown(p.uuid, { timeoutMs: 1000 })).toEqual({ stopped: true });
        expect(await hv.shutdown(randomUUID(), { timeoutMs: 1000 })).toEqual({ stopped: true });
      });

      it('sets the memory hard limit live only, and only on a running domain', async () => {
        const p = newDomain();
        await hv.defineDomain(domainXml(p));
        expect(await kindOf(hv.setMemoryHardLimit(p.uuid, 131072))).toBe('domain_inactive');
        await hv.start(p.uuid);
        await hv.setMemoryHardLimit(p.uuid, 131072);
        const live = parseDomainXml((await hv.getDomain(p.uuid))!.xml);
        expect(live.memtune?.hardLimitKiB).toBe(131072);
        await hv.destroy(p.uuid);
        const persistent = parseDomainXml((await hv.getDomain(p.uuid))!.xml);
        expect(persistent.memtune?.hardLimitKiB).toBeUndefined();
      });
    });

    describe('events', () => {
      it('reports lifecycle transitions in order, and not after unsubscribing', async () => {
        const p = newDomain();
        const seen: DomainEvent[] = [];
        const unsubscribe = hv.events((e) => seen.push(e));
        const mine = () =>
          seen.flatMap((e) =>
            e.kind === 'lifecycle' && e.uuid === p.uuid && LIFECYCLE.has(e.event)
              ? [`${e.event}/${e.detail}`]
              : [],
          );
        await hv.defineDomain(domainXml(p));
        await hv.defineDomain(domainXml({ ...p, memoryMiB: 80 }));
        await hv.start(p.uuid);
        await hv.start(p.uuid); // already running: no second event
        await hv.destroy(p.uuid);
        await hv.destroy(p.uuid);
        await hv.undefine(p.uuid);
        const expected = [
          'defined/added',
          'defined/updated',
          'started/booted',
          'stopped/destroyed',
          'undefined/removed',
        ];
        await vi.waitFor(() => expect(mine().length).toBeGreaterThanOrEqual(expected.length), {
          timeout: eventTimeout,
        });
        expect(mine()).toEqual(expected);
        for (const e of seen) expect(e.at).toBeInstanceOf(Date);
        // libvirt also reports the vCPUs resuming at start and QEMU's shutdown at destroy (their
        // order against started/stopped is libvirt's, so only their presence is asserted).
        await vi.waitFor(
          () =>
            expect(
              seen.flatMap((e) =>
                e.kind === 'lifecycle' && e.uuid === p.uuid ? [`${e.event}/${e.detail}`] : [],
              ),
            ).toEqual(expect.arrayContaining(['resumed/unpaused', 'shutdown/host'])),
          { timeout: eventTimeout },
        );

        unsubscribe();
        const count = seen.length;
        await hv.defineDomain(domainXml(p));
        await hv.undefine(p.uuid);
        expect(seen).toHaveLength(count);
      });
    });

    describe('secrets', () => {
      it('define is idempotent, exists and list report it, undefine is idempotent', async () => {
        const uuid = newSecretUuid();
        const secret = {
          uuid,
          usage: `palisade/volume/${uuid}`,
          value: new Uint8Array(32).fill(7),
        };
        expect(await hv.secrets.exists(uuid)).toBe(false);
        await hv.secrets.define(secret);
        await hv.secrets.define(secret);
        expect(await hv.secrets.exists(uuid)).toBe(true);
        // Listed once, however often it was defined.
        expect((await hv.secrets.list()).filter((u) => u === uuid)).toEqual([uuid]);
        await hv.secrets.undefine(uuid);
        await hv.secrets.undefine(uuid);
        expect(await hv.secrets.exists(uuid)).toBe(false);
        expect(await hv.secrets.list()).not.toContain(uuid);
      });

      it('a domain with an encrypted disk starts only while its secret exists', async () => {
        const secretUuid = newSecretUuid();
        const key = new Uint8Array(32).fill(9);
        const path = volumePath();
        await hv.volumes.create({ path, sizeBytes: 16 * 1024 * 1024, luks: { key } });
        const p = newDomain({ disk: { path, secretUuid } });
        await hv.defineDomain(domainXml(p));
        expect(await kindOf(hv.start(p.uuid))).toBe('secret_missing');
        expect((await hv.getDomain(p.uuid))?.state).toBe('shutoff');
        await hv.secrets.define({
          uuid: secretUuid,
          usage: `palisade/volume/${secretUuid}`,
          value: key,
        });
        await hv.start(p.uuid);
        expect((await hv.getDomain(p.uuid))?.state).toBe('running');
      });
    });

    describe('keys', () => {
      it('refuses a LUKS key that is not valid UTF-8, for a volume and for a secret', async () => {
        // QEMU reads LUKS passphrases as UTF-8 text; 0xff never occurs in UTF-8.
        const key = new Uint8Array(32).fill(0xff);
        const path = volumePath();
        expect(
          await kindOf(hv.volumes.create({ path, sizeBytes: 16 * 1024 * 1024, luks: { key } })),
        ).toBe('invalid_key');
        expect(await hv.volumes.info(path)).toBeNull();
        const uuid = newSecretUuid();
        expect(
          await kindOf(hv.secrets.define({ uuid, usage: `palisade/volume/${uuid}`, value: key })),
        ).toBe('invalid_key');
        expect(await hv.secrets.exists(uuid)).toBe(false);
      });
    });

    describe('volume transfer', () => {
      it('an exported LUKS volume imports elsewhere as the same volume; a wrong checksum leaves nothing', async () => {
        const key = new TextEncoder().encode(`contract-key-${randomUUID()}`);
        const from = volumePath();
        await hv.volumes.create({ path: from, sizeBytes: 16 * 1024 * 1024, luks: { key } });
        const out = await hv.volumes.export(from);
        expect(out?.sha256).toMatch(/^[0-9a-f]{64}$/);
        expect(out?.backingFile).toBeUndefined();
        const bad = volumePath();
        expect(await kindOf(hv.volumes.import(bad, out!.open(), { sha256: '0'.repeat(64) }))).toBe(
          'checksum_mismatch',
        );
        expect(await hv.volumes.info(bad)).toBeNull();
        const to = volumePath();
        const info = await hv.volumes.import(to, out!.open(), { sha256: out!.sha256 });
        expect(info).toMatchObject({ virtualSizeBytes: 16 * 1024 * 1024, encrypted: true });
        expect(await hv.volumes.export(volumePath())).toBeNull();
      });
    });

    describe('snapshots', () => {
      it('takes, lists, reverts and deletes named snapshots of a stopped domain with a LUKS disk', async () => {
        const secretUuid = newSecretUuid();
        const key = new TextEncoder().encode(`contract-key-${secretUuid}`);
        const keys = { [secretUuid]: key };
        const path = volumePath();
        await hv.volumes.create({ path, sizeBytes: 16 * 1024 * 1024, luks: { key } });
        await hv.secrets.define({
          uuid: secretUuid,
          usage: `palisade/volume/${secretUuid}`,
          value: key,
        });
        const p = newDomain({ disk: { path, secretUuid } });
        await hv.defineDomain(domainXml(p));

        expect(await hv.snapshots.list(p.uuid)).toEqual([]);
        await hv.snapshots.create(p.uuid, 'first', keys);
        await hv.snapshots.create(p.uuid, 'first', keys); // idempotent
        await hv.snapshots.create(p.uuid, 'second', keys);
        expect(await hv.snapshots.list(p.uuid)).toEqual(['first', 'second']);

        expect(await kindOf(hv.snapshots.create(p.uuid, 'third', {}))).toBe('invalid_key');
        expect(await kindOf(hv.snapshots.revert(p.uuid, 'missing', keys))).toBe(
          'snapshot_not_found',
        );
        await expect(hv.snapshots.create(p.uuid, '../x', keys)).rejects.toMatchObject({
          code: ErrorCode.VALIDATION_FAILED,
          details: { field: 'name' },
        });
        expect(await kindOf(hv.snapshots.list(randomUUID()))).toBe('domain_not_found');

        await hv.start(p.uuid);
        expect(await kindOf(hv.snapshots.create(p.uuid, 'live', keys))).toBe('domain_active');
        expect(await kindOf(hv.snapshots.revert(p.uuid, 'first', keys))).toBe('domain_active');
        await hv.destroy(p.uuid);

        await hv.snapshots.revert(p.uuid, 'first', keys);
        await hv.snapshots.delete(p.uuid, 'first', keys);
        await hv.snapshots.delete(p.uuid, 'first', keys); // idempotent
        expect(await hv.snapshots.list(p.uuid)).toEqual(['second']);
        expect(await hv.volumes.info(path)).toMatchObject({ encrypted: true });
      });
    });

    describe('volumes', () => {
      it('creates a qcow2 image idempotently and refuses a different one at the same path', async () => {
        const path = volumePath();
        const spec = { path, sizeBytes: 32 * 1024 * 1024 };
        const info = await hv.volumes.create(spec);
        expect(info).toMatchObject({
          path,
          format: 'qcow2',
          virtualSizeBytes: spec.sizeBytes,
          encrypted: false,
        });
        expect(await hv.volumes.create(spec)).toMatchObject({ virtualSizeBytes: spec.sizeBytes });
        expect(await kindOf(hv.volumes.create({ path, sizeBytes: 64 * 1024 * 1024 }))).toBe(
          'volume_conflict',
        );
        expect(await hv.volumes.info(path)).toMatchObject({ virtualSizeBytes: spec.sizeBytes });
      });

      it('reports encryption of a LUKS volume', async () => {
        const path = volumePath();
        const info = await hv.volumes.create({
          path,
          sizeBytes: 16 * 1024 * 1024,
          luks: { key: new Uint8Array(32).fill(1) },
        });
        expect(info.encrypted).toBe(true);
      });

      it('grows, never shrinks', async () => {
        const path = volumePath();
        await hv.volumes.create({ path, sizeBytes: 32 * 1024 * 1024 });
        expect((await hv.volumes.resize(path, 64 * 1024 * 1024)).virtualSizeBytes).toBe(
          64 * 1024 * 1024,
        );
        expect((await hv.volumes.resize(path, 64 * 1024 * 1024)).virtualSizeBytes).toBe(
          64 * 1024 * 1024,
        );
        expect(await kindOf(hv.volumes.resize(path, 32 * 1024 * 1024))).toBe('volume_shrink');
        expect((await hv.volumes.info(path))?.virtualSizeBytes).toBe(64 * 1024 * 1024);
      });

      it('delete is idempotent and info is null afterwards', async () => {
        const path = volumePath();
        await hv.volumes.create({ path, sizeBytes: 16 * 1024 * 1024 });
        await hv.volumes.delete(path);
        await hv.volumes.delete(path);
        expect(await hv.volumes.info(path)).toBeNull();
      });

      it('lists the files of a volume directory, and an absent directory as empty', async () => {
        const path = volumePath();
        const file = path.slice(opts.volumeDir.length + 1);
        expect(await hv.volumes.list(opts.volumeDir)).not.toContain(file);
        await hv.volumes.create({ path, sizeBytes: 16 * 1024 * 1024 });
        expect(await hv.volumes.list(opts.volumeDir)).toContain(file);
        expect(await hv.volumes.list(`${opts.volumeDir}/absent-${randomUUID()}`)).toEqual([]);
        await hv.volumes.delete(path);
        expect(await hv.volumes.list(opts.volumeDir)).not.toContain(file);
      });
    });

    describe('networks', () => {
      it('lists clean-traffic among the nwfilters', async () => {
        expect(await hv.networks.listFilters()).toContain('clean-traffic');
      });

      it.skipIf(!opts.segment)('refuses to remove a segment a running domain uses', async () => {
        const segment = opts.segment!;
        await hv.networks.ensureSegment(segment);
        await hv.networks.ensureSegment(segment);
        expect(await hv.networks.listBridges()).toContain(segment.bridge);
        const p = newDomain({ bridge: segment.bridge });
        await hv.defineDomain(domainXml(p));
        await hv.start(p.uuid);
        expect(await kindOf(hv.networks.removeSegment(segment.bridge))).toBe('segment_in_use');
        await hv.destroy(p.uuid);
        await hv.networks.removeSegment(segment.bridge);
        await hv.networks.removeSegment(segment.bridge);
        expect(await hv.networks.listBridges()).not.toContain(segment.bridge);
      });
    });
  });
}
