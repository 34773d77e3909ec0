/**
 * The initramfs of Palisade Tiny: busybox (from the host's busybox-static package) with one
 * symlink per applet, the chosen kernel modules flattened into /lib/modules/<name>.ko, and the
 * files of ../rootfs (/init, inittab, the awk readers of the seed). Packed as a gzip'd newc cpio
 * with every file owned by root and a fixed timestamp, so equal inputs give an equal archive.
 *
 * It must never copy anything of the host into the guest but busybox and the files named here.
 */
import {
  chmodSync,
  copyFileSync,
  cpSync,
  existsSync,
  lutimesSync,
  mkdirSync,
  readdirSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { mustExec, pipeToFile } from './proc';

/** The overlay copied verbatim into the initramfs. */
export const ROOTFS_DIR = path.resolve(__dirname, '../rootfs');

/** Where busybox-static puts its binary on Debian. */
export const HOST_BUSYBOX = '/bin/busybox';

export interface InitramfsInput {
  /** Empty folder to assemble the tree in. */
  tree: string;
  /** Load order; each name must have a file in `moduleFiles`. */
  modules: string[];
  moduleFiles: Map<string, string>;
  /** Shown by /init in its BOOT line. */
  imageId: string;
  out: string;
}

/** Relative applet paths (`bin/sh`, `usr/bin/awk`, …) from `busybox --list-full`. */
export function parseAppletList(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => /^[a-z0-9/._[-]+$/i.test(l) && !l.startsWith('/') && !l.includes('..'));
}

export async function buildInitramfs(input: InitramfsInput): Promise<void> {
  const { tree } = input;
  for (const d of [
    'bin',
    'sbin',
    'usr/bin',
    'usr/sbin',
    'lib/modules',
    'etc/palisade',
    'proc',
    'sys',
    'dev',
    'run',
    'tmp',
    'mnt/seed',
    'root',
  ])
    mkdirSync(path.join(tree, d), { recursive: true });

  copyFileSync(HOST_BUSYBOX, path.join(tree, 'bin/busybox'));
  chmodSync(path.join(tree, 'bin/busybox'), 0o755);
  const applets = parseAppletList(await mustExec(HOST_BUSYBOX, ['--list-full']));
  for (const rel of applets) {
    const at = path.join(tree, rel);
    if (existsSync(at) || rel === 'bin/busybox') continue;
    mkdirSync(path.dirname(at), { recursive: true });
    symlinkSync(path.relative(path.dirname(at), path.join(tree, 'bin/busybox')), at);
  }

  for (const name of input.modules) {
    const file = input.moduleFiles.get(name);
    if (!file) throw new Error(`no file for module ${name}`);
    copyFileSync(file, path.join(tree, 'lib/modules', `${name}.ko`));
  }
  writeFileSync(path.join(tree, 'etc/palisade/modules'), `${input.modules.join('\n')}\n`);
  writeFileSync(path.join(tree, 'etc/palisade/image'), `${input.imageId}\n`);

  // Overlay last, so that /init and /etc/inittab replace busybox's applet links of those names.
  cpSync(ROOTFS_DIR, tree, { recursive: true, force: true, dereference: true });
  chmodSync(path.join(tree, 'init'), 0o755);
  chmodSync(path.join(tree, 'root'), 0o700);

  const entries = listTree(tree);
  // One fixed mtime (the epoch) for every entry; cpio --reproducible zeroes inode numbers.
  for (const rel of entries) lutimesSync(path.join(tree, rel), 0, 0);
  await pipeToFile(
    {
      cmd: 'cpio',
      args: ['--quiet', '-o', '-H', 'newc', '-R', '0:0', '--reproducible'],
      cwd: tree,
      stdin: `${entries.join('\n')}\n`,
    },
    { cmd: 'gzip', args: ['-9', '-n', '-c'] },
    input.out,
  );
}

/** Every path under `root`, relative, sorted, parents before children (what cpio wants). */
export function listTree(root: string): string[] {
  const out: string[] = [];
  const walk = (rel: string) => {
    const dir = path.join(root, rel);
    for (const e of readdirSync(dir, { withFileTypes: true }).sort((a, b) =>
      a.name < b.name ? -1 : 1,
    )) {
      const r = rel ? `${rel}/${e.name}` : e.name;
      out.push(r);
      // Dirent types come from lstat: a symlink to a folder is not followed.
      if (e.isDirectory()) walk(r);
    }
  };
  walk('');
  return out;
}
