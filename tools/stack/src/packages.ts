/**
 * The Debian packages the stack needs: checked with one dpkg-query call (cheap, so a warm `up`
 * stays fast) and installed with apt-get when we are root. As any other user it names the exact
 * missing packages and stops; it never assumes a package someone installed by hand.
 */
import { exec, mustExec } from './proc';

/** Needed by the project beyond the services themselves; installed by a full `up` (no --only). */
export const TOOLING_PACKAGES: readonly string[] = [
  // The guest-image builder's tools (tools/ and libs/testkit build small test guests).
  'busybox-static',
  'cpio',
  'dosfstools',
  'mtools',
  'syslinux',
  'syslinux-common',
  'xz-utils',
  // ssh-keygen: tests check SSH key fingerprints against it.
  'openssh-client',
  // The browser the e2e tests drive through the real login (playwright-core, no bundled browser).
  'chromium',
];

export const APT_LOCK = '/tmp/palisade-apt.lock';

/** Parses `dpkg-query -W -f '${Package} ${Status}\n'` output into the set of installed packages. */
export function installedFrom(dpkgOutput: string): Set<string> {
  const installed = new Set<string>();
  for (const line of dpkgOutput.split('\n')) {
    const [name, ...status] = line.trim().split(/\s+/);
    if (name && status.join(' ') === 'install ok installed') installed.add(name.split(':')[0]!);
  }
  return installed;
}

export async function missingPackages(packages: readonly string[]): Promise<string[]> {
  if (packages.length === 0) return [];
  // dpkg-query exits 1 when it knows nothing of a package but still reports the others.
  const r = await exec('dpkg-query', ['-W', '-f', '${Package} ${Status}\\n', ...packages]);
  if (r.code === 127) throw new Error('dpkg-query not found: the stack needs a Debian-based host');
  const installed = installedFrom(r.stdout);
  return [...new Set(packages)].filter((p) => !installed.has(p));
}

export class MissingPackagesError extends Error {
  constructor(readonly missing: string[]) {
    super(
      `missing Debian packages: ${missing.join(' ')}\n  install them as root, then run again:\n  apt-get install -y --no-install-recommends ${missing.join(' ')}`,
    );
  }
}

/** Installs what is missing (root only); resolves with the packages it installed. */
export async function ensurePackages(
  packages: readonly string[],
  log: (line: string) => void,
  isRoot = process.getuid?.() === 0,
): Promise<string[]> {
  const missing = await missingPackages(packages);
  if (missing.length === 0) return [];
  if (!isRoot) throw new MissingPackagesError(missing);
  log(`installing ${missing.join(' ')} with apt-get (one-time)…`);
  // One lock around update and install: every script of the project takes the same lock, so two
  // engineers' tools never run apt at once. The index is refreshed only when something is missing.
  await mustExec(
    'flock',
    [
      APT_LOCK,
      'sh',
      '-c',
      'apt-get update -qq && apt-get install -y -qq --no-install-recommends "$@"',
      'apt-get',
      ...missing,
    ],
    { env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' }, timeoutMs: 1_800_000 },
  );
  const still = await missingPackages(missing);
  if (still.length > 0) throw new Error(`apt-get did not install: ${still.join(' ')}`);
  return missing;
}
