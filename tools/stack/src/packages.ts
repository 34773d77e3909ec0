/**
 * The Debian packages the stack needs, checked with one dpkg-query call and installed with
 * apt-get when we are root. Never assume a package someone installed by hand.
 */
import { exec, mustExec } from './proc';

export const PACKAGES = {
  services: ['postgresql', 'redis-server', 'openjdk-17-jre-headless', 'maven'],
  hypervisor: [
    'qemu-system-x86',
    'qemu-utils',
    'libvirt-daemon-system',
    'libvirt-clients',
    'libxml2-utils',
    'busybox-static',
    'cpio',
    'dosfstools',
    'mtools',
  ],
  browser: ['chromium'],
} as const;

export const ALL_PACKAGES: string[] = Object.values(PACKAGES).flat();

/** Parses `dpkg-query -W -f '${Package} ${Status}\n'` output into the installed set. */
export function installedFrom(dpkgOutput: string): Set<string> {
  const installed = new Set<string>();
  for (const line of dpkgOutput.split('\n')) {
    const [name, ...status] = line.trim().split(/\s+/);
    if (name && status.join(' ') === 'install ok installed') installed.add(name.split(':')[0]!);
  }
  return installed;
}

export async function missingPackages(packages: readonly string[]): Promise<string[]> {
  // dpkg-query exits 1 when a package is unknown but still prints the others.
  const r = await exec('dpkg-query', ['-W', '-f', '${Package} ${Status}\\n', ...packages]);
  const installed = installedFrom(r.stdout);
  return packages.filter((p) => !installed.has(p));
}

export async function ensurePackages(
  packages: readonly string[],
  log: (line: string) => void,
): Promise<void> {
  const missing = await missingPackages(packages);
  if (missing.length === 0) return;
  if (process.getuid?.() !== 0) {
    throw new Error(
      `missing system packages; install them and run again:\n  sudo apt-get install -y ${missing.join(' ')}`,
    );
  }
  log(`installing ${missing.join(' ')} (apt-get)…`);
  const env = { ...process.env, DEBIAN_FRONTEND: 'noninteractive' };
  // One apt at a time on this machine: other tools of the project take the same lock.
  await mustExec('flock', ['/tmp/palisade-apt.lock', 'apt-get', 'update', '-qq'], {
    env,
    timeoutMs: 600_000,
  });
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
  const still = await missingPackages(missing);
  if (still.length > 0) throw new Error(`apt-get did not install: ${still.join(' ')}`);
}
