/**
 * The qcow2 backing-name rewrite on headers made by the real qemu-img: what QEMU then reads back
 * is the new name (its own parser is the judge), and what cannot be done safely is refused.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { readQcow2Backing, rewriteQcow2Backing } from './qcow2-backing';

describe('qcow2 backing name (headers from qemu-img)', () => {
  let dir: string;
  let withBase: string;
  let plain: string;

  beforeAll(() => {
    dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-qcow2hdr-'));
    execFileSync('qemu-img', ['create', '-q', '-f', 'raw', path.join(dir, 'a.raw'), '1M']);
    withBase = path.join(dir, 'top.qcow2');
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      path.join(dir, 'a.raw'),
      '-F',
      'raw',
      withBase,
      '2M',
    ]);
    plain = path.join(dir, 'plain.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', plain, '2M']);
  });
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  const backingOf = (file: string) =>
    JSON.parse(
      execFileSync('qemu-img', ['info', '-U', '-f', 'qcow2', '--output=json', file], {
        encoding: 'utf8',
      }),
    ) as { 'backing-filename'?: string; 'backing-filename-format'?: string };

  it('reads the name qemu-img wrote, and QEMU reads back a longer one written in its place', () => {
    const header = readFileSync(withBase);
    expect(readQcow2Backing(header)).toMatchObject({
      name: path.join(dir, 'a.raw'),
      clusterSize: 65536,
    });
    const longer = path.join(dir, 'images', `${'f'.repeat(64)}.raw`);
    rewriteQcow2Backing(header, longer);
    const out = path.join(dir, 'rewritten.qcow2');
    writeFileSync(out, header);
    expect(backingOf(out)).toMatchObject({
      'backing-filename': longer,
      'backing-filename-format': 'raw',
    });
  });

  it('an image without a backing file has nothing to re-point', () => {
    const header = readFileSync(plain);
    expect(readQcow2Backing(header).name).toBeNull();
    expect(() => rewriteQcow2Backing(header, '/x')).toThrow(/no backing file/);
  });

  it('refuses what is not a qcow2 header, and a name QEMU would not accept', () => {
    expect(() => readQcow2Backing(Buffer.alloc(512))).toThrow(/bad magic/);
    const header = readFileSync(withBase);
    expect(() => rewriteQcow2Backing(header, 'x'.repeat(1024))).toThrow(/1-1023 bytes/);
    expect(() => rewriteQcow2Backing(header, '')).toThrow(/1-1023 bytes/);
    // The refusals left the header as it was.
    expect(readQcow2Backing(header).name).toBe(path.join(dir, 'a.raw'));
  });
});
