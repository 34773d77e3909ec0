import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { ROOTFS_DIR } from './initramfs';

// /init and inittab run under busybox in the guest; check them against the busybox the
// builder copies in (busybox-static is a build dependency).
const applets = new Set(
  execFileSync('busybox', ['--list-full'], { encoding: 'utf8' })
    .split('\n')
    .filter(Boolean)
    .map((p) => `/${p}`),
);

describe('rootfs', () => {
  it('/init is valid busybox sh', () => {
    expect(() =>
      execFileSync('busybox', ['sh', '-n', path.join(ROOTFS_DIR, 'init')]),
    ).not.toThrow();
  });

  it('inittab runs only programs the initramfs has', () => {
    const commands = readFileSync(path.join(ROOTFS_DIR, 'etc/inittab'), 'utf8')
      .split('\n')
      .filter((l) => l && !l.startsWith('#'))
      .map((l) => l.split(':').slice(3).join(':').replace(/^-/, '').split(' ')[0]!);
    expect(commands.length).toBeGreaterThan(0);
    for (const c of commands) expect(applets, c).toContain(c);
  });

  it('/init prints every marker the parser knows', () => {
    const init = readFileSync(path.join(ROOTFS_DIR, 'init'), 'utf8');
    for (const m of [
      'BOOT',
      'DISKS',
      'READY',
      'USERDATA-DONE',
      'USERDATA-SKIPPED',
      'ERROR',
      'WARN',
    ])
      expect(init).toMatch(new RegExp(`say "${m} `));
  });
});
