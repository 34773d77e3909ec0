/**
 * The NoCloud seed: a small vfat disk image labelled `cidata` holding `meta-data`, `user-data`
 * and `network-config` (netplan-style version 2), the format cloud-init reads and Palisade Tiny's
 * /init reads too. Built with mkfs.vfat and mcopy on an image file: no mount, no loop device, no
 * root needed. Lives here (not in tools/guest-image, which re-exports it) because the agent
 * builds every VM's seed.
 *
 * Every value that lands in a YAML file is validated first and written quoted, so a hostile
 * hostname or key cannot add keys to the guest's configuration. This module must never put a
 * secret of the host into the seed: it holds only what the caller passes.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, renameSync, rmSync, statSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { AppError, ErrorCode } from '@palisade/contracts';

const execFileP = promisify(execFile);

/** Runs a seed tool; its stderr in the error (the seed holds no secret of the host). */
async function mustExec(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv } = {}) {
  try {
    return (await execFileP(cmd, args, { encoding: 'utf8', timeout: 60_000, ...opts })).stdout;
  } catch (e) {
    const err = e as { stderr?: string; message: string };
    throw new Error(
      `${cmd} ${args.join(' ')} failed: ${(err.stderr || err.message).trim().slice(-2000)}`,
    );
  }
}

export const SEED_LABEL = 'cidata';

export interface SeedNetwork {
  /** MAC of the NIC to configure; /init matches it against /sys/class/net/<if>/address. */
  mac: string;
  /** IPv4 address with prefix, e.g. `10.0.2.15/24`. */
  address: string;
  /** IPv4 default gateway. */
  gateway?: string;
}

export interface SeedSpec {
  hostname: string;
  instanceId: string;
  network: SeedNetwork;
  sshAuthorizedKeys?: string[];
  /** A script starting with `#!` is run by /init after the READY marker; anything else is kept. */
  userData?: string;
}

export interface SeedFiles {
  'meta-data': string;
  'user-data': string;
  'network-config': string;
}

export interface SeedImage {
  path: string;
  label: typeof SEED_LABEL;
  format: 'raw';
  sizeBytes: number;
  files: SeedFiles;
}

/** user-data beyond this is refused: the seed is a config channel, not a way to ship payloads. */
export const MAX_USER_DATA_BYTES = 1024 * 1024;

const HOSTNAME =
  /^(?=.{1,253}$)[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?(\.[A-Za-z0-9]([A-Za-z0-9-]{0,61}[A-Za-z0-9])?)*$/;
const INSTANCE_ID = /^[A-Za-z0-9][A-Za-z0-9._:-]{0,127}$/;
const MAC = /^[0-9a-f]{2}(:[0-9a-f]{2}){5}$/;
const SSH_KEY = /^(ssh|ecdsa|sk)-[A-Za-z0-9@.-]+ [A-Za-z0-9+/=]+( [\x20-\x7e]*)?$/;

function invalid(field: string, message: string): AppError {
  return new AppError(ErrorCode.VALIDATION_FAILED, `seed: ${field} ${message}`, {
    userMessage: `${field} ${message}`,
    details: { field },
  });
}

function ipv4(value: string): number[] | null {
  const parts = value.split('.');
  if (parts.length !== 4) return null;
  const octets = parts.map((p) => (/^(0|[1-9][0-9]{0,2})$/.test(p) ? Number(p) : NaN));
  return octets.every((o) => o >= 0 && o <= 255) ? octets : null;
}

/** Checks a seed spec and returns it normalised (lower-case MAC). Throws VALIDATION_FAILED. */
export function validateSeedSpec(spec: SeedSpec): SeedSpec {
  if (!HOSTNAME.test(spec.hostname))
    throw invalid('hostname', 'must be an RFC 1123 host name (letters, digits, -, dots)');
  if (!INSTANCE_ID.test(spec.instanceId))
    throw invalid('instanceId', 'must be 1-128 of letters, digits, ".", "_", ":" or "-"');
  const mac = spec.network.mac.toLowerCase();
  if (!MAC.test(mac)) throw invalid('network.mac', 'must look like 52:54:00:12:34:56');
  if (Number.parseInt(mac.slice(0, 2), 16) & 1)
    throw invalid('network.mac', 'must be a unicast address');
  const [ip, prefix, extra] = spec.network.address.split('/');
  if (
    extra !== undefined ||
    !ip ||
    !ipv4(ip) ||
    prefix === undefined ||
    !/^([0-9]|[12][0-9]|3[0-2])$/.test(prefix)
  )
    throw invalid('network.address', 'must be an IPv4 address with a prefix, e.g. 10.0.0.5/24');
  if (spec.network.gateway !== undefined && !ipv4(spec.network.gateway))
    throw invalid('network.gateway', 'must be an IPv4 address');
  for (const key of spec.sshAuthorizedKeys ?? [])
    if (!SSH_KEY.test(key))
      throw invalid('sshAuthorizedKeys', 'holds a line that is not an SSH public key');
  if (Buffer.byteLength(spec.userData ?? '') > MAX_USER_DATA_BYTES)
    throw invalid('userData', `must be at most ${MAX_USER_DATA_BYTES} bytes`);
  return { ...spec, network: { ...spec.network, mac } };
}

// JSON strings are valid YAML double-quoted scalars; quoting also keeps YAML 1.1 readers from
// taking a MAC such as 12:34:56 for a sexagesimal number.
const q = (s: string) => JSON.stringify(s);

/** The three files of the seed, exactly as they are written into the image. */
export function seedFiles(input: SeedSpec): SeedFiles {
  const spec = validateSeedSpec(input);
  const keys = spec.sshAuthorizedKeys ?? [];
  const metaData = [
    `instance-id: ${q(spec.instanceId)}`,
    `local-hostname: ${q(spec.hostname)}`,
    ...(keys.length ? ['public-keys:', ...keys.map((k) => `  - ${q(k)}`)] : []),
  ];
  const net = spec.network;
  const networkConfig = [
    'version: 2',
    'ethernets:',
    '  nic0:',
    '    match:',
    `      macaddress: ${q(net.mac)}`,
    '    addresses:',
    `      - ${q(net.address)}`,
    ...(net.gateway
      ? ['    routes:', `      - to: ${q('0.0.0.0/0')}`, `        via: ${q(net.gateway)}`]
      : []),
  ];
  return {
    'meta-data': `${metaData.join('\n')}\n`,
    'user-data': spec.userData ?? '',
    'network-config': `${networkConfig.join('\n')}\n`,
  };
}

/**
 * Writes the seed image to `outPath` (replacing it atomically) and returns what it holds.
 * Attach it to the guest as a virtio disk (`-drive file=…,format=raw,if=virtio,readonly=on`).
 */
export async function makeSeed(spec: SeedSpec, outPath: string): Promise<SeedImage> {
  const files = seedFiles(spec);
  const work = mkdtempSync(path.join(os.tmpdir(), 'palisade-seed-'));
  try {
    const payload = Object.values(files).reduce((n, s) => n + Buffer.byteLength(s), 0);
    // FAT12 needs a little room for its tables; twice the payload plus 512 KiB is plenty.
    const kib = Math.max(1024, Math.ceil((payload * 2) / 1024) + 512);
    const img = path.join(work, 'seed.img');
    // A volume ID derived from the instance keeps two builds of the same seed alike.
    const volumeId = createHash('sha256').update(spec.instanceId).digest('hex').slice(0, 8);
    await mustExec('mkfs.vfat', ['-C', '-n', SEED_LABEL, '-i', volumeId, img, String(kib)]);
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };
    for (const [name, content] of Object.entries(files)) {
      const src = path.join(work, name);
      writeFileSync(src, content);
      await mustExec('mcopy', ['-i', img, '-o', src, `::${name}`], { env });
    }
    const tmpOut = `${outPath}.tmp-${process.pid}`;
    await mustExec('cp', ['--sparse=always', img, tmpOut]);
    renameSync(tmpOut, outPath);
    return {
      path: outPath,
      label: SEED_LABEL,
      format: 'raw',
      sizeBytes: statSync(outPath).size,
      files,
    };
  } finally {
    rmSync(work, { recursive: true, force: true });
  }
}
