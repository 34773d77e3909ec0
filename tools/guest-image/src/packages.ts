/**
 * The Debian packages the image builder needs on the build host, checked with one dpkg-query
 * call and installed with apt-get when we are root. It never installs the guest kernel into the
 * host: the kernel .deb is only downloaded and unpacked (see kernel.ts).
 */
import { exec, mustExec } from './proc';

/**
 * What `buildGuestImage` runs: busybox, cpio, xz (to unpack vmlinux), mkfs.vfat, mcopy,
 * syslinux + mbr.bin, qemu-img. apt-get, dpkg-deb and gzip are part of every Debian system.
 */
export const BUILD_PACKAGES = [
  'busybox-static',
  'cpio',
  'xz-utils',
  'dosfstools',
  'mtools',
  'syslinux',
  'syslinux-common',
  'qemu-utils',
] as const;

/** `makeSeed` alone needs only mkfs.vfat and mcopy. */
export const SEED_PACKAGES = ['dosfstools', 'mtools'] as const;

/** Booting the image (the integration test, and any developer trying it by hand). */
export const BOOT_PACKAGES = ['qemu-system-x86', 'qemu-utils'] as const;

/** Parses `dpkg-query -W -f '${Package} ${Version} ${Status}\n'` into name → version. */
export function installedFrom(dpkgOutput: string): Map<string, string> {
  const installed = new Map<string, string>();
  for (const line of dpkgOutput.split('\n')) {
    const [name, version, ...status] = line.trim().split(/\s+/);
    if (name && version && status.join(' ') === 'install ok installed')
      installed.set(name.split(':')[0]!, version);
  }
  return installed;
}

/** Installed versions of `packages`; a package that is not installed is absent from the map. */
export async function installedVersions(packages: readonly string[]): Promise<Map<string, string>> {
  // dpkg-query exits 1 when one of the packages is unknown but still prints the others.
  const r = await exec('dpkg-query', [
    '-W',
    '-f',
    '${Package} ${Version} ${Status}\\n',
    ...packages,
  ]);
  return installedFrom(r.stdout);
}

export class MissingPackagesError extends Error {
  constructor(readonly missing: string[]) {
    super(
      `missing system packages; install them and run again:\n  sudo apt-get install -y --no-install-recommends ${missing.join(' ')}`,
    );
  }
}

export async function ensurePackages(
  packages: readonly string[],
  log: (line: string) => void,
): Promise<void> {
  const have = await installedVersions(packages);
  const missing = packages.filter((p) => !have.has(p));
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) throw new MissingPackagesError(missing);
  log(`installing ${missing.join(' ')} (apt-get)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // One apt at a time on this machine: the other tools of the project take the same lock.
  await aptUpdate(env);
  await mustExec(
    'flock',
    [
      '/tmp/palisade-apt.lock',
      'apt-get',
      'install',
      '-y',
      '-qq',
      '--no-install-recommends',
      ...missing,
    ],
    { env, timeoutMs: 1_200_000 },
  );
  const after = await installedVersions(missing);
  const still = missing.filter((p) => !after.has(p));
  if (still.length > 0) throw new Error(`apt-get did not install: ${still.join(' ')}`);
}

export async function aptUpdate(env: NodeJS.ProcessEnv = process.env): Promise<void> {
  await mustExec('flock', ['/tmp/palisade-apt.lock', 'apt-get', 'update', '-qq'], {
    env: { ...env, DEBIAN_FRONTEND: 'noninteractive' },
    timeoutMs: 600_000,
  });
}
