/**
 * `node tools/guest-image/bin/build.mjs [--kernel linux-image-<release>-amd64]`
 *
 * Builds Palisade Tiny (or finds it in the cache) and prints one JSON object on stdout: the
 * artefact paths, kernel command line, versions and sizes (see GuestImage). Progress goes to
 * stderr, so `$(node …/build.mjs)` captures only the JSON. Exits 2 listing the apt packages to
 * install when they are missing and we are not root.
 */
import { buildGuestImage } from './build';
import { MissingPackagesError } from './packages';

export function parseArgs(argv: string[]): { kernelPackage?: string } {
  const out: { kernelPackage?: string } = {};
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i]!;
    if (a === '--kernel' || a.startsWith('--kernel=')) {
      const v = a.includes('=') ? a.slice(a.indexOf('=') + 1) : argv[++i];
      if (!v || !/^linux-image-[0-9][A-Za-z0-9.+~-]*-amd64$/.test(v))
        throw new Error('--kernel needs a package name like linux-image-6.1.0-56-amd64');
      out.kernelPackage = v;
    } else {
      throw new Error(
        `unknown argument ${a}\nusage: build.mjs [--kernel linux-image-<release>-amd64]`,
      );
    }
  }
  return out;
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  try {
    const image = await buildGuestImage({
      kernelPackage: args.kernelPackage ?? process.env.PALISADE_GUEST_KERNEL,
      log: (line) => process.stderr.write(`guest-image: ${line}\n`),
    });
    process.stdout.write(`${JSON.stringify(image, null, 2)}\n`);
    return 0;
  } catch (e) {
    if (e instanceof MissingPackagesError) {
      process.stderr.write(`guest-image: ${e.message}\n`);
      return 2;
    }
    throw e;
  }
}
