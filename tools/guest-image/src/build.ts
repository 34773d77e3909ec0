/**
 * Builds Palisade Tiny into `${PALISADE_CACHE:-~/.cache/palisade}/guest-image/<version>/`:
 * `vmlinuz` and `initrd.img` for direct kernel boot, `palisade-tiny.qcow2` for BIOS boot, and
 * `manifest.json` describing them. `<version>` hashes every input (kernel package and version,
 * busybox and syslinux versions, this builder's recipe files), so a warm call is a cache lookup
 * and any change of input builds a new folder beside the old one.
 *
 * A build is assembled in a private staging folder and renamed into place, so a reader never sees
 * a half-built image and two concurrent builders cannot corrupt each other. It must never write
 * inside the repository, and never install the guest kernel into the host.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { buildBootDisk } from './disk';
import { buildInitramfs, ROOTFS_DIR } from './initramfs';
import { extractKernel, fetchKernelDeb, resolveKernelPackage } from './kernel';
import { ROOT_MODULES, selectModules } from './modules';
import { extractVmlinux } from './vmlinux';
import { BUILD_PACKAGES, ensurePackages, installedVersions } from './packages';
import { mustExec } from './proc';

/**
 * The kernel command line for direct kernel boot (and baked into the qcow2's syslinux.cfg).
 * `quiet` keeps the kernel's boot log off the serial line: under TCG every byte of it costs time.
 */
export const KERNEL_CMDLINE = 'console=ttyS0 quiet';

export const FILES = {
  vmlinuz: 'vmlinuz',
  vmlinux: 'vmlinux',
  initrd: 'initrd.img',
  qcow2: 'palisade-tiny.qcow2',
  manifest: 'manifest.json',
} as const;

/** What manifest.json holds: everything about a build except where it lies. */
export interface GuestImageManifest {
  /** The version hash: the name of the cache folder. */
  version: string;
  cmdline: string;
  /** False when the kernel could not be unpacked to a PVH-bootable vmlinux. */
  hasVmlinux: boolean;
  kernel: { package: string; version: string; release: string };
  busybox: string;
  /** Modules /init loads, in this order. */
  modules: string[];
  sizes: {
    vmlinuz: number;
    vmlinux: number | null;
    initrd: number;
    qcow2: number;
    qcow2Virtual: number;
  };
  builtAt: string;
  buildMs: number;
}

export interface GuestImage extends GuestImageManifest {
  dir: string;
  /** The Debian bzImage, as the package ships it (also inside the qcow2). */
  vmlinuz: string;
  /**
   * The same kernel uncompressed, booted by QEMU through PVH: the fastest direct boot under TCG.
   * Null when `hasVmlinux` is false.
   */
  vmlinux: string | null;
  initrd: string;
  /** BIOS-bootable disk: syslinux, then the same kernel and initrd. */
  qcow2: string;
  /** What to pass as -kernel/-initrd/-append (libvirt: <kernel>, <initrd>, <cmdline>). */
  directBoot: { kernel: string; initrd: string; cmdline: string };
  /** True when this call found the image in the cache and built nothing. */
  cached: boolean;
}

export interface BuildOptions {
  /** Defaults to `defaultCacheRoot()`. */
  cacheRoot?: string;
  /** A linux-image-<release>-amd64 package name, instead of the one linux-image-amd64 names. */
  kernelPackage?: string;
  log?: (line: string) => void;
}

/** `${PALISADE_CACHE:-$HOME/.cache/palisade}` */
export function defaultCacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  if (env.PALISADE_CACHE) return path.resolve(env.PALISADE_CACHE);
  return path.join(env.HOME || os.homedir(), '.cache', 'palisade');
}

/** The files whose content defines the image; any change to them yields a new version. */
function recipeFiles(): string[] {
  const walk = (dir: string): string[] =>
    readdirSync(dir, { withFileTypes: true }).flatMap((e) =>
      e.isDirectory() ? walk(path.join(dir, e.name)) : [path.join(dir, e.name)],
    );
  const src = ['build.ts', 'disk.ts', 'initramfs.ts', 'kernel.ts', 'modules.ts', 'vmlinux.ts'].map(
    (f) => path.join(__dirname, f),
  );
  return [...src, ...walk(ROOTFS_DIR)].sort();
}

export function versionHash(inputs: Record<string, unknown>, files: string[]): string {
  const h = createHash('sha256');
  h.update(JSON.stringify(inputs));
  for (const f of files) {
    h.update(`\0${path.relative(path.resolve(__dirname, '..'), f)}\0`);
    h.update(readFileSync(f));
  }
  return h.digest('hex').slice(0, 16);
}

function readManifest(dir: string): GuestImage | null {
  const file = path.join(dir, FILES.manifest);
  if (!existsSync(file)) return null;
  try {
    const img = locate(JSON.parse(readFileSync(file, 'utf8')) as GuestImageManifest, dir, true);
    const files = [img.vmlinuz, img.initrd, img.qcow2, ...(img.vmlinux ? [img.vmlinux] : [])];
    return files.every((f) => existsSync(f)) ? img : null;
  } catch {
    return null;
  }
}

function artefactPaths(dir: string) {
  return {
    vmlinuz: path.join(dir, FILES.vmlinuz),
    vmlinux: path.join(dir, FILES.vmlinux),
    initrd: path.join(dir, FILES.initrd),
    qcow2: path.join(dir, FILES.qcow2),
  };
}

/** A manifest with the paths of its artefacts in `dir` (manifests hold no paths: caches move). */
function locate(m: GuestImageManifest, dir: string, cached: boolean): GuestImage {
  const p = artefactPaths(dir);
  const vmlinux = m.hasVmlinux ? p.vmlinux : null;
  return {
    ...m,
    dir,
    ...p,
    vmlinux,
    directBoot: { kernel: vmlinux ?? p.vmlinuz, initrd: p.initrd, cmdline: m.cmdline },
    cached,
  };
}

/** How many built versions the cache keeps (the newest, by build time). */
export const KEEP_VERSIONS = 3;

/**
 * Drops all but the newest KEEP_VERSIONS builds and every kernel .deb but the current one, so
 * that iterating on the recipe does not grow the cache by ~85 MB a build. Older builds are kept
 * at all because a guest started from one may still be running.
 */
function pruneCache(base: string, current: string, currentDeb: string, log: (l: string) => void) {
  const versions = readdirSync(base, { withFileTypes: true })
    .filter((e) => e.isDirectory() && /^[0-9a-f]{16}$/.test(e.name) && e.name !== current)
    .map((e) => ({ name: e.name, mtime: statSync(path.join(base, e.name)).mtimeMs }))
    .sort((a, b) => b.mtime - a.mtime);
  for (const old of versions.slice(KEEP_VERSIONS - 1)) {
    log(`removing old build ${old.name}`);
    rmSync(path.join(base, old.name), { recursive: true, force: true });
  }
  // Leftovers of builds that were killed: their staging folders and half-fetched downloads.
  const dead = (name: string) => {
    const pid = Number(/-(\d+)$/.exec(name)?.[1]);
    if (!pid) return false;
    try {
      process.kill(pid, 0);
      return false;
    } catch (e) {
      return (e as NodeJS.ErrnoException).code === 'ESRCH';
    }
  };
  for (const f of readdirSync(base))
    if (f.startsWith('.staging-') && dead(f))
      rmSync(path.join(base, f), { recursive: true, force: true });
  const debs = path.join(base, 'debs');
  for (const f of existsSync(debs) ? readdirSync(debs) : [])
    if (f.startsWith('incoming-') && dead(f))
      rmSync(path.join(debs, f), { recursive: true, force: true });
  for (const f of existsSync(debs) ? readdirSync(debs) : [])
    if (f.endsWith('.deb') && f !== currentDeb) rmSync(path.join(debs, f), { force: true });
}

export async function buildGuestImage(opts: BuildOptions = {}): Promise<GuestImage> {
  const started = Date.now();
  const log = opts.log ?? (() => {});
  const cacheRoot = opts.cacheRoot ?? defaultCacheRoot();
  const base = path.join(cacheRoot, 'guest-image');

  await ensurePackages(BUILD_PACKAGES, log);
  const versions = await installedVersions(BUILD_PACKAGES);
  const kernelPkg = await resolveKernelPackage(
    opts.kernelPackage,
    path.join(base, 'kernel-resolution.json'),
    log,
  );
  const version = versionHash(
    {
      kernel: kernelPkg,
      busybox: versions.get('busybox-static'),
      syslinux: versions.get('syslinux'),
      cmdline: KERNEL_CMDLINE,
      modules: ROOT_MODULES,
    },
    recipeFiles(),
  );
  const dir = path.join(base, version);
  const hit = readManifest(dir);
  if (hit) return hit;

  log(`building Palisade Tiny ${version} with ${kernelPkg.name} ${kernelPkg.version}…`);
  mkdirSync(base, { recursive: true });
  const deb = await fetchKernelDeb(kernelPkg, path.join(base, 'debs'), log);
  const work = mkdtempSync(path.join(os.tmpdir(), 'palisade-guest-image-'));
  const staging = path.join(base, `.staging-${version}-${process.pid}`);
  rmSync(staging, { recursive: true, force: true });
  mkdirSync(staging);
  try {
    log('unpacking the kernel package (dpkg-deb -x)…');
    const kernel = await extractKernel(deb, path.join(work, 'kernel'));
    const mods = selectModules(kernel.modulesDir);
    log(`modules, in load order: ${mods.order.join(' ')}`);

    const out = artefactPaths(staging);
    copyFileSync(kernel.vmlinuz, out.vmlinuz);
    log('unpacking vmlinux for PVH direct boot…');
    const hasVmlinux = await extractVmlinux(out.vmlinuz, out.vmlinux, log);
    if (!hasVmlinux) rmSync(out.vmlinux, { force: true });
    log('packing the initramfs…');
    await buildInitramfs({
      tree: path.join(work, 'initramfs'),
      modules: mods.order,
      moduleFiles: mods.files,
      imageId: version,
      out: out.initrd,
    });
    log('building the BIOS-bootable qcow2…');
    mkdirSync(path.join(work, 'disk'));
    await buildBootDisk({
      work: path.join(work, 'disk'),
      vmlinuz: out.vmlinuz,
      initrd: out.initrd,
      cmdline: KERNEL_CMDLINE,
      id: Number.parseInt(version.slice(0, 8), 16),
      out: out.qcow2,
    });
    const info = JSON.parse(await mustExec('qemu-img', ['info', '--output=json', out.qcow2])) as {
      'virtual-size': number;
    };

    const manifest: GuestImageManifest = {
      version,
      cmdline: KERNEL_CMDLINE,
      hasVmlinux,
      kernel: { package: kernelPkg.name, version: kernelPkg.version, release: kernel.release },
      busybox: versions.get('busybox-static') ?? 'unknown',
      modules: mods.order,
      sizes: {
        vmlinuz: statSync(out.vmlinuz).size,
        vmlinux: hasVmlinux ? statSync(out.vmlinux).size : null,
        initrd: statSync(out.initrd).size,
        qcow2: statSync(out.qcow2).size,
        qcow2Virtual: info['virtual-size'],
      },
      builtAt: new Date().toISOString(),
      buildMs: Date.now() - started,
    };
    writeFileSync(path.join(staging, FILES.manifest), `${JSON.stringify(manifest, null, 2)}\n`);
    try {
      renameSync(staging, dir);
    } catch (e) {
      // Another builder finished the same version first: its result is as good as ours.
      const code = (e as NodeJS.ErrnoException).code;
      if ((code !== 'ENOTEMPTY' && code !== 'EEXIST') || !readManifest(dir)) throw e;
      return readManifest(dir)!;
    }
    pruneCache(base, version, path.basename(deb), log);
    return locate(manifest, dir, false);
  } finally {
    rmSync(work, { recursive: true, force: true });
    rmSync(staging, { recursive: true, force: true });
  }
}
