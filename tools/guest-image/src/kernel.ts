/**
 * The guest kernel: a Debian `linux-image-<release>-amd64` package, resolved through apt's
 * metadata, fetched with `apt-get download` into the cache and unpacked with `dpkg-deb -x` into a
 * temporary folder.
 *
 * It must never install the package into the host (no dpkg -i, no apt-get install): the host
 * runs its own kernel, and a second one in /boot would change what the host boots next time.
 */
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { aptUpdate } from './packages';
import { exec, mustExec } from './proc';

/** The Debian meta-package whose dependency names the current kernel image package. */
export const KERNEL_META_PACKAGE = 'linux-image-amd64';

export interface KernelPackage {
  /** e.g. linux-image-6.1.0-56-amd64 */
  name: string;
  /** Debian version, e.g. 6.1.192-2 */
  version: string;
}

/**
 * From `apt-cache show --no-all-versions <pkg>` (the candidate's record): its version, and the
 * linux-image-<release>-amd64 it depends on with the exact version the meta-package pins.
 */
export function parseShow(text: string): { version: string | null; kernel: KernelPackage | null } {
  const version = /^Version:\s*(\S+)/m.exec(text)?.[1] ?? null;
  const dep = /^Depends:.*?\b(linux-image-[0-9][^\s:,(]*-amd64)\s*\(=\s*([^)\s]+)\s*\)/m.exec(text);
  return { version, kernel: dep ? { name: dep[1]!, version: dep[2]! } : null };
}

/** Changes whenever `apt-get update` rewrites the package lists. */
function aptListsStamp(): string {
  try {
    return String(statSync('/var/lib/apt/lists').mtimeMs);
  } catch {
    return 'none';
  }
}

async function aptLookup(override: string | undefined): Promise<KernelPackage | null> {
  const r = await exec('apt-cache', ['show', '--no-all-versions', override ?? KERNEL_META_PACKAGE]);
  if (r.code !== 0) return null;
  const show = parseShow(r.stdout);
  if (override) return show.version ? { name: override, version: show.version } : null;
  return show.kernel;
}

/**
 * Which kernel package to use: `override` (PALISADE_GUEST_KERNEL) or the one linux-image-amd64
 * depends on. The answer is remembered in `memoFile` until apt's lists change, because asking
 * apt-cache costs about a second here and a warm build should answer at once. When apt has no
 * package lists yet and we are root, they are fetched once.
 */
export async function resolveKernelPackage(
  override: string | undefined,
  memoFile: string,
  log: (line: string) => void,
): Promise<KernelPackage> {
  const key = JSON.stringify({ stamp: aptListsStamp(), override: override ?? null });
  try {
    const memo = JSON.parse(readFileSync(memoFile, 'utf8')) as { key: string; pkg: KernelPackage };
    if (memo.key === key) return memo.pkg;
  } catch {
    // No memo yet, or an unreadable one: ask apt.
  }
  let found = await aptLookup(override);
  if (!found) {
    if (process.getuid?.() !== 0)
      throw new Error(
        `apt knows no ${override ?? KERNEL_META_PACKAGE} package; run 'sudo apt-get update' and try again`,
      );
    log('apt has no kernel package in its lists; running apt-get update…');
    await aptUpdate();
    found = await aptLookup(override);
    if (!found) throw new Error(`apt has no installable ${override ?? KERNEL_META_PACKAGE}`);
  }
  mkdirSync(path.dirname(memoFile), { recursive: true });
  writeFileSync(
    memoFile,
    JSON.stringify({
      key: JSON.stringify({ stamp: aptListsStamp(), override: override ?? null }),
      pkg: found,
    }),
  );
  return found;
}

/** Debian's file name for a package version: the epoch's ':' is written '%3a'. */
export function debFileName(pkg: KernelPackage): string {
  return `${pkg.name}_${pkg.version.replace(/:/g, '%3a')}_amd64.deb`;
}

/**
 * The kernel .deb in `debDir`, downloaded on first use. The download goes to a private folder
 * first so that an interrupted fetch never leaves a truncated .deb where the cache looks.
 */
export async function fetchKernelDeb(
  pkg: KernelPackage,
  debDir: string,
  log: (line: string) => void,
): Promise<string> {
  const target = path.join(debDir, debFileName(pkg));
  if (existsSync(target)) return target;
  const incoming = path.join(debDir, `incoming-${process.pid}`);
  mkdirSync(incoming, { recursive: true });
  try {
    log(`downloading ${pkg.name} ${pkg.version} (apt-get download)…`);
    await mustExec('apt-get', ['download', '-q', `${pkg.name}=${pkg.version}`], {
      cwd: incoming,
      timeoutMs: 900_000,
    });
    const got = readdirSync(incoming).filter((f) => f.endsWith('.deb'));
    if (got.length !== 1) throw new Error(`apt-get download left ${got.length} .deb files`);
    const fields = await mustExec('dpkg-deb', [
      '-f',
      path.join(incoming, got[0]!),
      'Package',
      'Version',
    ]);
    if (!fields.includes(`Package: ${pkg.name}`) || !fields.includes(`Version: ${pkg.version}`))
      throw new Error(`downloaded package is not ${pkg.name} ${pkg.version}:\n${fields}`);
    renameSync(path.join(incoming, got[0]!), target);
    return target;
  } finally {
    rmSync(incoming, { recursive: true, force: true });
  }
}

export interface ExtractedKernel {
  /** The kernel release, e.g. 6.1.0-56-amd64 (the name of its lib/modules folder). */
  release: string;
  vmlinuz: string;
  modulesDir: string;
}

/** `dpkg-deb -x` into `into` (a temporary folder the caller removes). */
export async function extractKernel(deb: string, into: string): Promise<ExtractedKernel> {
  await mustExec('dpkg-deb', ['-x', deb, into], { timeoutMs: 600_000 });
  const boot = path.join(into, 'boot');
  const images = readdirSync(boot).filter((f) => f.startsWith('vmlinuz-'));
  if (images.length !== 1)
    throw new Error(`expected one vmlinuz in ${deb}, found ${images.length}`);
  const release = images[0]!.slice('vmlinuz-'.length);
  // Debian moved modules from /lib to /usr/lib with the merged /usr; accept either.
  const modulesDir = ['lib', 'usr/lib']
    .map((d) => path.join(into, d, 'modules', release))
    .find((d) => existsSync(d));
  if (!modulesDir) throw new Error(`no lib/modules/${release} in ${deb}`);
  return { release, vmlinuz: path.join(boot, images[0]!), modulesDir };
}
