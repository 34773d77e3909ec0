/**
 * Volume export/import between two hosts' volume directories with the real qemu-img (no
 * libvirt): a LUKS qcow2 on a base image is exported as stored, imported under another host's
 * layout, re-pointed at that host's base without its key, and still decrypts to the bytes the
 * guest wrote. A copy with a wrong checksum, or naming a base when none is given, never appears.
 */
import { execFileSync } from 'node:child_process';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hypervisorErrorKind } from '../contract/errors';
import { QemuImages } from './images';
import { readQcow2Backing } from './qcow2-backing';

const KEY = 'bWlncmF0aW9uLXRlc3Qta2V5LW9mLTMyLWJ5dGVzISE=';

function qemuIo(file: string, cmd: string): string {
  return execFileSync(
    'qemu-io',
    [
      '--object',
      `secret,id=s0,data=${KEY}`,
      '--image-opts',
      `driver=qcow2,file.filename=${file},encrypt.key-secret=s0`,
      '-c',
      cmd,
    ],
    { encoding: 'utf8' },
  );
}

describe('volume export/import (real qemu-img)', () => {
  let dir: string;
  const hosts = { a: '', b: '' };
  let a: QemuImages;
  let b: QemuImages;
  const vol = 'f5f3a7e2-1111-4222-8333-444455556666.qcow2';

  beforeAll(async () => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-voltransfer-'));
    for (const h of ['a', 'b'] as const) {
      hosts[h] = path.join(dir, h);
      mkdirSync(path.join(hosts[h], 'images'), { recursive: true });
      mkdirSync(path.join(hosts[h], 'volumes'), { recursive: true });
    }
    const base = path.join(hosts.a, 'images', 'base.raw');
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', base, '4M']);
    copyFileSync(base, path.join(hosts.b, 'images', 'base.raw'));
    const images = (root: string) =>
      new QemuImages({
        volumeDirs: [path.join(root, 'volumes'), path.join(root, 'images')],
        luksIterTimeMs: 10,
      });
    a = images(hosts.a);
    b = images(hosts.b);
    await a.volumes.create({
      path: path.join(hosts.a, 'volumes', vol),
      sizeBytes: 8 * 1024 * 1024,
      backingFile: { path: base, format: 'raw' },
      luks: { key: new TextEncoder().encode(KEY) },
    });
    qemuIo(path.join(hosts.a, 'volumes', vol), 'write -P 0x5a 0 64k');
  });

  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('moves the ciphertext, re-points the base without the key, and the data reads back', async () => {
    const out = await a.volumes.export(path.join(hosts.a, 'volumes', vol));
    expect(out).toMatchObject({ backingFile: { name: 'base.raw', format: 'raw' } });
    const target = path.join(hosts.b, 'volumes', vol);
    const info = await b.volumes.import(target, out!.open(), {
      sha256: out!.sha256,
      backingFile: { path: path.join(hosts.b, 'images', 'base.raw'), format: 'raw' },
    });
    expect(info).toMatchObject({
      encrypted: true,
      backingFile: path.join(hosts.b, 'images', 'base.raw'),
    });
    // Read through the target's chain with the key: the guest's bytes survived the move.
    expect(qemuIo(target, 'read -P 0x5a 0 64k')).toContain('read 65536/65536 bytes');
    // The source image is untouched (it still names its own base).
    expect(readQcow2Backing(readFileSync(path.join(hosts.a, 'volumes', vol))).name).toBe(
      path.join(hosts.a, 'images', 'base.raw'),
    );
  });

  it('a copy whose checksum differs never appears, and leaves no partial file', async () => {
    const out = await a.volumes.export(path.join(hosts.a, 'volumes', vol));
    const target = path.join(hosts.b, 'volumes', 'bad-copy.qcow2');
    const err = await b.volumes
      .import(target, out!.open(), {
        sha256: '0'.repeat(64),
        backingFile: { path: path.join(hosts.b, 'images', 'base.raw'), format: 'raw' },
      })
      .catch((e: unknown) => e);
    expect(hypervisorErrorKind(err)).toBe('checksum_mismatch');
    expect(existsSync(target)).toBe(false);
    expect(readdirSync(path.join(hosts.b, 'volumes')).filter((f) => f.includes('import'))).toEqual(
      [],
    );
  });

  it('a copy that names a base is refused when the importing host is given none', async () => {
    const out = await a.volumes.export(path.join(hosts.a, 'volumes', vol));
    const target = path.join(hosts.b, 'volumes', 'no-base.qcow2');
    const err = await b.volumes
      .import(target, out!.open(), { sha256: out!.sha256 })
      .catch((e: unknown) => e);
    expect(hypervisorErrorKind(err)).toBe('volume_untrusted');
    expect(existsSync(target)).toBe(false);
  });

  it('export of a missing volume is null', async () => {
    expect(await a.volumes.export(path.join(hosts.a, 'volumes', 'missing.qcow2'))).toBeNull();
  });
});
