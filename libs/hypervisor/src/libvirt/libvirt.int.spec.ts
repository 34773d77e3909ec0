// LibvirtHypervisor against the real libvirtd on qemu:///system with TCG domains that sit in the
// BIOS (no OS disk): first the shared contract suite, the same assertions the simulation passes,
// then what only the real host can show (ACPI ignored, the event child dying, image references
// outside the volume directories, LUKS resize). Needs libvirtd (`npm run stack -- up --only
// libvirt`). Everything it creates has a random name, lives in
// /var/lib/libvirt/images/palisade-test-<rand> (libvirt-qemu cannot read /root, and cache='none'
// rules out tmpfs) and is removed in afterAll even when a test fails.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdirSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { promisify } from 'node:util';
import { ErrorCode } from '@palisade/contracts';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { describeHypervisorContract, minimalDomainXml } from '../contract/hypervisor-contract';
import { hypervisorErrorKind } from '../contract/errors';
import type { DomainEvent } from '../hypervisor';
import { LibvirtHypervisor } from './libvirt';

vi.setConfig({ testTimeout: 60_000, hookTimeout: 60_000 });

const run = promisify(execFile);
const URI = 'qemu:///system';
const virsh = (...args: string[]) => run('virsh', ['-c', URI, ...args], { timeout: 30_000 });
const qemuImg = (...args: string[]) => run('qemu-img', args, { timeout: 60_000 });

const tag = randomBytes(4).toString('hex');
const dir = `/var/lib/libvirt/images/palisade-test-${tag}`;
const outside = `/var/lib/libvirt/images/palisade-test-${tag}-outside`;
const MiB = 1024 * 1024;

/** Domains this file's own tests define (the contract suite cleans up its own). */
const domains = new Set<string>();
const secrets = new Set<string>();
const instances: LibvirtHypervisor[] = [];

function make(): LibvirtHypervisor {
  const hv = new LibvirtHypervisor({
    uri: URI,
    volumeDirs: [dir],
    luksIterTimeMs: 50,
    eventBackoff: { initialMs: 100, maxMs: 2000 },
  });
  instances.push(hv);
  return hv;
}

async function kindOf(p: Promise<unknown>): Promise<string> {
  try {
    await p;
    return 'resolved';
  } catch (e) {
    return hypervisorErrorKind(e) ?? `unknown: ${String(e)}`;
  }
}

beforeAll(async () => {
  try {
    await virsh('version');
  } catch (e) {
    throw new Error(
      `libvirtd does not answer on ${URI}; start it with \`npm run stack -- up --only libvirt\` (${String(e)})`,
    );
  }
  mkdirSync(dir, { recursive: true });
  mkdirSync(outside, { recursive: true });
});

afterAll(async () => {
  for (const hv of instances) hv.close();
  for (const uuid of domains) {
    await virsh('destroy', uuid).catch(() => undefined);
    await virsh('undefine', '--snapshots-metadata', uuid).catch(() => undefined);
  }
  for (const uuid of secrets) await virsh('secret-undefine', uuid).catch(() => undefined);
  rmSync(dir, { recursive: true, force: true });
  rmSync(outside, { recursive: true, force: true });
});

describeHypervisorContract(
  'libvirt (qemu:///system, TCG)',
  async () => {
    const hv = make();
    return { hv, cleanup: async () => hv.close() };
  },
  // No `segment`: bridges belong to the host-network driver; its own tests create them.
  { volumeDir: dir, eventTimeoutMs: 15_000 },
);

function newDomain(memoryMiB = 64) {
  const uuid = randomUUID();
  domains.add(uuid);
  return { uuid, name: `palisade-${uuid}`, memoryMiB };
}

describe('LibvirtHypervisor on the real host', () => {
  it('shutdown of a guest that does not answer ACPI gives up after the timeout and leaves it running', async () => {
    const hv = make();
    const p = newDomain();
    await hv.defineDomain(minimalDomainXml(p));
    await hv.start(p.uuid);
    // A domain without an OS sits in SeaBIOS, which has no ACPI power-button handler.
    expect(await hv.shutdown(p.uuid, { timeoutMs: 1500 })).toEqual({ stopped: false });
    expect((await hv.getDomain(p.uuid))?.state).toBe('running');
    await hv.destroy(p.uuid);
    expect(await hv.getDomain(p.uuid)).toMatchObject({ state: 'shutoff', reason: 'destroyed' });
  });

  it('getDomain returns the live XML with the runtime id while running, and listDomains the metadata', async () => {
    const hv = make();
    const p = newDomain();
    await hv.defineDomain(minimalDomainXml(p));
    await hv.start(p.uuid);
    const d = await hv.getDomain(p.uuid);
    expect(d).toMatchObject({ uuid: p.uuid, name: p.name, persistent: true, reason: 'booted' });
    expect(d?.xml).toMatch(/^<domain type='qemu' id='\d+'/);
    const listed = (await hv.listDomains()).find((s) => s.uuid === p.uuid);
    expect(listed).toEqual({
      uuid: p.uuid,
      name: p.name,
      state: 'running',
      persistent: true,
      palisade: expect.objectContaining({ vmId: p.uuid }),
    });
    await hv.destroy(p.uuid);
  });

  it("a domain with unreadable Palisade metadata is listed as not Palisade's and can be undefined", async () => {
    const hv = make();
    const p = newDomain();
    const xml = minimalDomainXml(p).replace(
      /<palisade:vm>[^<]*<\/palisade:vm>/,
      `<palisade:vm id='${p.uuid}'/>`,
    );
    expect(xml).not.toBe(minimalDomainXml(p));
    await hv.defineDomain(xml);
    const listed = (await hv.listDomains()).find((d) => d.uuid === p.uuid);
    expect(listed).toMatchObject({ uuid: p.uuid, state: 'shutoff' });
    expect(listed?.palisade).toBeUndefined();
    expect((await hv.getDomain(p.uuid))?.palisade).toBeUndefined();
    await hv.undefine(p.uuid);
    expect(await hv.getDomain(p.uuid)).toBeNull();
  });

  it("a define libvirt rejects carries libvirt's message and the XML", async () => {
    const hv = make();
    const p = newDomain();
    const xml = minimalDomainXml(p).replace(/<os>[\s\S]*<\/os>/, '');
    try {
      await hv.defineDomain(xml);
      expect.unreachable('define should fail');
    } catch (e) {
      expect(hypervisorErrorKind(e)).toBe('invalid_xml');
      expect((e as { details: Record<string, unknown> }).details).toMatchObject({
        xml,
        libvirtError: expect.stringContaining('os <type> must be specified'),
      });
    }
    expect(await hv.getDomain(p.uuid)).toBeNull();
  });

  it('a start that fails for a missing secret carries the definition that failed', async () => {
    const hv = make();
    const path = `${dir}/start-fail-${randomUUID()}.qcow2`;
    const secretUuid = randomUUID();
    await hv.volumes.create({
      path,
      sizeBytes: 16 * MiB,
      luks: { key: Buffer.from(randomBytes(32).toString('base64')) },
    });
    const p = newDomain();
    await hv.defineDomain(minimalDomainXml({ ...p, disk: { path, secretUuid } }));
    try {
      await hv.start(p.uuid);
      expect.unreachable('start should fail');
    } catch (e) {
      expect(hypervisorErrorKind(e)).toBe('secret_missing');
      const details = (e as { details: Record<string, unknown> }).details;
      expect(details['xml']).toContain(`<uuid>${p.uuid}</uuid>`);
      expect(details['libvirtError']).toContain(secretUuid);
    }
  });

  it('a start beyond the host memory is insufficient_capacity and leaves the domain shut off', async () => {
    // 1 TiB: QEMU's mmap of guest RAM fails at once under heuristic overcommit on this 23 GiB
    // host, so nothing is ever allocated.
    const hv = make();
    const p = newDomain(1024 * 1024);
    await hv.defineDomain(minimalDomainXml(p));
    try {
      await hv.start(p.uuid);
      expect.unreachable('start should fail');
    } catch (e) {
      expect(hypervisorErrorKind(e)).toBe('insufficient_capacity');
      expect((e as { details: Record<string, unknown> }).details).toMatchObject({
        xml: expect.stringContaining(`<uuid>${p.uuid}</uuid>`),
        libvirtError: expect.stringContaining('Cannot allocate memory'),
      });
    }
    expect((await hv.getDomain(p.uuid))?.state).toBe('shutoff');
  });

  it('when the virsh event child dies it reports disconnected, reconnects, and delivers again', async () => {
    const hv = make();
    const seen: DomainEvent[] = [];
    const unsubscribe = hv.events((e) => seen.push(e));
    const p = newDomain();
    await hv.defineDomain(minimalDomainXml(p)); // waits for the stream to register
    const first = hv.eventStreamPid;
    expect(first).toBeTypeOf('number');
    process.kill(first!, 'SIGKILL'); // what a libvirtd restart does to it, from our side
    await vi.waitFor(() => expect(seen.some((e) => e.kind === 'disconnected')).toBe(true), {
      timeout: 15_000,
    });
    await vi.waitFor(() => expect(hv.eventStreamPid).not.toBe(first), { timeout: 15_000 });
    await hv.start(p.uuid); // waits for the new child to register
    await vi.waitFor(
      () =>
        expect(
          seen.some((e) => e.kind === 'lifecycle' && e.uuid === p.uuid && e.event === 'started'),
        ).toBe(true),
      { timeout: 15_000 },
    );
    // The new child registered: listeners heard that events flow again, after the disconnect.
    expect(seen.filter((e) => e.kind !== 'lifecycle').map((e) => e.kind)).toEqual([
      'disconnected',
      'reconnected',
    ]);
    unsubscribe();
    expect(hv.eventStreamPid).toBeUndefined();
    await hv.destroy(p.uuid);
  });

  it('secrets: the key never stays on disk and a usage clash is secret_conflict', async () => {
    const hv = make();
    const a = randomUUID();
    const b = randomUUID();
    secrets.add(a).add(b);
    const usage = `palisade-test/${tag}/${a}`;
    await hv.secrets.define({
      uuid: a,
      usage,
      value: Buffer.from(randomBytes(32).toString('base64')),
    });
    expect(readdirSync(tmpdir()).filter((f) => f.startsWith('palisade-key-'))).toEqual([]);
    expect(
      await kindOf(
        hv.secrets.define({
          uuid: b,
          usage,
          value: Buffer.from(randomBytes(32).toString('base64')),
        }),
      ),
    ).toBe('secret_conflict');
    expect(await hv.secrets.exists(b)).toBe(false);
    // private='yes': libvirt refuses to hand the value back.
    await expect(virsh('secret-get-value', a)).rejects.toThrow(/secret is private/);
  });

  it('reverting a snapshot of a LUKS disk brings back the data written before it', async () => {
    const hv = make();
    const secretUuid = randomUUID();
    secrets.add(secretUuid);
    const key = Buffer.from(randomBytes(32).toString('base64'));
    const path = `${dir}/snap-${randomUUID()}.qcow2`;
    await hv.volumes.create({ path, sizeBytes: 16 * MiB, luks: { key } });
    const p = newDomain();
    await hv.defineDomain(minimalDomainXml({ ...p, disk: { path, secretUuid } }));
    const keyFile = `${dir}/.key-${randomUUID()}`;
    writeFileSync(keyFile, key, { mode: 0o600 });
    // qemu-io reads and writes through the LUKS layer, as the guest would.
    const io = (cmd: string) =>
      run('qemu-io', [
        '--object',
        `secret,id=k,file=${keyFile},format=raw`,
        '--image-opts',
        `driver=qcow2,file.filename=${path},encrypt.key-secret=k`,
        '-c',
        cmd,
      ]);
    try {
      await io('write -P 0x5a 0 64k');
      await hv.snapshots.create(p.uuid, 'before', { [secretUuid]: key });
      await io('write -P 0xa5 0 64k');
      expect((await io('read -P 0xa5 0 64k')).stdout).not.toMatch(/Pattern verification failed/);
      expect(
        await kindOf(hv.snapshots.revert(p.uuid, 'before', { [secretUuid]: Buffer.from('wrong') })),
      ).toBe('invalid_key');
      await hv.snapshots.revert(p.uuid, 'before', { [secretUuid]: key });
      const after = await io('read -P 0x5a 0 64k');
      expect(after.stdout).toContain('read 65536/65536 bytes');
      expect(after.stdout).not.toMatch(/Pattern verification failed/);
    } finally {
      rmSync(keyFile, { force: true });
    }
  });

  describe('volumes', () => {
    it('creates on a raw base image with an explicit backing format, and reports it', async () => {
      const hv = make();
      const base = `${dir}/base-${randomUUID()}.raw`;
      writeFileSync(base, Buffer.alloc(8 * MiB));
      const path = `${dir}/overlay-${randomUUID()}.qcow2`;
      const info = await hv.volumes.create({
        path,
        sizeBytes: 32 * MiB,
        backingFile: { path: base, format: 'raw' },
      });
      expect(info).toMatchObject({
        format: 'qcow2',
        backingFile: base,
        virtualSizeBytes: 32 * MiB,
      });
      const j = JSON.parse(
        (await qemuImg('info', '-f', 'qcow2', '--output=json', '-U', path)).stdout,
      ) as Record<string, unknown>;
      expect(j['backing-filename-format']).toBe('raw');
    });

    it('refuses paths, backing files and data files outside the volume directories', async () => {
      const hv = make();
      const foreign = `${outside}/foreign.qcow2`;
      await qemuImg('create', '-f', 'qcow2', foreign, String(16 * MiB));
      expect(await kindOf(hv.volumes.create({ path: foreign, sizeBytes: 16 * MiB }))).toBe(
        'volume_untrusted',
      );
      expect(
        await kindOf(hv.volumes.info(`${dir}/../palisade-test-${tag}-outside/foreign.qcow2`)),
      ).toBe('volume_untrusted');
      expect(await kindOf(hv.volumes.delete(foreign))).toBe('volume_untrusted');
      expect(
        await kindOf(
          hv.volumes.create({
            path: `${dir}/on-foreign-${randomUUID()}.qcow2`,
            sizeBytes: 16 * MiB,
            backingFile: { path: foreign, format: 'qcow2' },
          }),
        ),
      ).toBe('volume_untrusted');

      // Images planted in the directory that point out of it (as a tampered upload would).
      const chained = `${dir}/chained-${randomUUID()}.qcow2`;
      await qemuImg('create', '-f', 'qcow2', '-b', foreign, '-F', 'qcow2', chained);
      expect(await kindOf(hv.volumes.info(chained))).toBe('volume_untrusted');
      const withData = `${dir}/data-file-${randomUUID()}.qcow2`;
      await qemuImg(
        'create',
        '-f',
        'qcow2',
        '-o',
        `data_file=${outside}/data.raw`,
        withData,
        '16M',
      );
      expect(await kindOf(hv.volumes.info(withData))).toBe('volume_untrusted');
      expect(
        await kindOf(
          hv.volumes.create({
            path: `${dir}/on-chained-${randomUUID()}.qcow2`,
            sizeBytes: 16 * MiB,
            backingFile: { path: chained, format: 'qcow2' },
          }),
        ),
      ).toBe('volume_untrusted');
      // Nothing was created by the refused calls.
      expect(readdirSync(dir).filter((f) => f.startsWith('on-'))).toEqual([]);
    });

    it('refuses a qcow2 claim for a raw file instead of probing it', async () => {
      const hv = make();
      const raw = `${dir}/claims-${randomUUID()}.raw`;
      writeFileSync(raw, Buffer.alloc(MiB));
      const kind = await kindOf(
        hv.volumes.create({
          path: `${dir}/on-raw-${randomUUID()}.qcow2`,
          sizeBytes: 16 * MiB,
          backingFile: { path: raw, format: 'qcow2' },
        }),
      );
      expect(kind).not.toBe('resolved');
      expect(readdirSync(dir).filter((f) => f.startsWith('on-raw-'))).toEqual([]);
    });

    it('a raw file where a volume should be is a volume_conflict, not a probe', async () => {
      const hv = make();
      const path = `${dir}/raw-${randomUUID()}.qcow2`;
      writeFileSync(path, Buffer.alloc(MiB));
      expect(await kindOf(hv.volumes.create({ path, sizeBytes: MiB }))).toBe('volume_conflict');
      expect(await kindOf(hv.volumes.info(path))).toBe('volume_conflict');
    });

    it('grows an encrypted volume only with its key', async () => {
      const hv = make();
      const path = `${dir}/luks-${randomUUID()}.qcow2`;
      const key = Buffer.from(randomBytes(32).toString('base64'));
      await hv.volumes.create({ path, sizeBytes: 16 * MiB, luks: { key } });
      await expect(hv.volumes.resize(path, 32 * MiB)).rejects.toMatchObject({
        code: ErrorCode.VALIDATION_FAILED,
        details: { field: 'luks' },
      });
      expect(
        await kindOf(
          hv.volumes.resize(path, 32 * MiB, {
            key: Buffer.from(randomBytes(32).toString('base64')),
          }),
        ),
      ).not.toBe('resolved');
      const grown = await hv.volumes.resize(path, 32 * MiB, { key });
      expect(grown).toMatchObject({ virtualSizeBytes: 32 * MiB, encrypted: true });
    });
  });
});
