/**
 * Copying a volume file between hosts for a cold migration, on the libvirt side: export streams
 * the file as stored (LUKS ciphertext stays ciphertext; no key is involved), import writes the
 * stream beside its final name, verifies its SHA-256, re-points its backing name at this host's
 * base image (qcow2-backing.ts) and only then renames it into place.
 *
 * Must never: open the image through QEMU's crypto layer (there is no key here); let a copy that
 * failed its checksum, or whose references leave the volume directories, appear at its path.
 */
import { createHash, randomBytes } from 'node:crypto';
import { createReadStream, createWriteStream } from 'node:fs';
import { lstat, open, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { Transform } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { hypervisorError, HypervisorErrorKind as K } from '../contract/errors';
import type { VolumeExport, VolumeImport, VolumeInfo } from '../hypervisor';
import { readQcow2Backing, rewriteQcow2Backing } from './qcow2-backing';

/** The largest qcow2 cluster (2 MiB): the header, extensions and backing name are inside it. */
const HEADER_READ = 2 * 1024 * 1024;

export interface TransferDeps {
  allowedPath(p: string, field: string): Promise<string>;
  volumeInfo(target: string): Promise<VolumeInfo | null>;
  /** The format recorded for the image's backing file, if it has one. */
  backingFormat(target: string): Promise<'qcow2' | 'raw' | undefined>;
}

export async function sha256OfFile(file: string): Promise<string> {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return hash.digest('hex');
}

export async function exportVolume(
  deps: TransferDeps,
  volumePath: string,
): Promise<VolumeExport | null> {
  const target = await deps.allowedPath(volumePath, 'path');
  const st = await lstat(target).catch((e: NodeJS.ErrnoException) => {
    if (e.code === 'ENOENT') return undefined;
    throw e;
  });
  if (!st) return null;
  if (!st.isFile())
    throw hypervisorError(K.VOLUME_UNTRUSTED, `${target} is not a regular file`, { path: target });
  // Validates the chain (every reference inside the volume directories) before anything moves.
  const info = await deps.volumeInfo(target);
  if (!info) return null;
  const format = info.backingFile ? await deps.backingFormat(target) : undefined;
  return {
    sizeBytes: st.size,
    sha256: await sha256OfFile(target),
    ...(info.backingFile && format
      ? { backingFile: { name: path.basename(info.backingFile), format } }
      : {}),
    open: () => createReadStream(target),
  };
}

export async function importVolume(
  deps: TransferDeps,
  volumePath: string,
  source: AsyncIterable<Uint8Array>,
  spec: VolumeImport,
): Promise<VolumeInfo> {
  const target = await deps.allowedPath(volumePath, 'path');
  const backing = spec.backingFile
    ? await deps.allowedPath(spec.backingFile.path, 'backingFile.path')
    : undefined;
  const tmp = `${target}.import-${randomBytes(6).toString('hex')}`;
  try {
    const hash = createHash('sha256');
    await pipeline(
      source,
      new Transform({
        transform(chunk: Buffer, _enc, done) {
          hash.update(chunk);
          done(null, chunk);
        },
      }),
      createWriteStream(tmp, { mode: 0o600, flags: 'wx' }),
    );
    const actual = hash.digest('hex');
    if (actual !== spec.sha256)
      throw hypervisorError(
        K.CHECKSUM_MISMATCH,
        `copy of ${path.basename(target)} has sha256 ${actual}, expected ${spec.sha256}`,
        { field: 'sha256', path: target },
      );
    await repointBacking(tmp, backing);
    // The same checks as any volume: references inside the volume directories, formats recorded.
    const info = await deps.volumeInfo(tmp);
    if (!info) throw new Error(`${tmp} vanished`);
    if (backing && info.backingFile !== backing)
      throw hypervisorError(K.VOLUME_UNTRUSTED, `${tmp} does not name ${backing} after re-point`, {
        path: target,
      });
    await rename(tmp, target);
  } catch (e) {
    await rm(tmp, { force: true });
    throw e;
  }
  const info = await deps.volumeInfo(target);
  if (!info) throw new Error(`${target} vanished after import`);
  return info;
}

/** Rewrites the copy's backing name to this host's base, or refuses a mismatch either way. */
async function repointBacking(file: string, backing: string | undefined): Promise<void> {
  const fh = await open(file, 'r+');
  try {
    const header = Buffer.alloc(HEADER_READ);
    const { bytesRead } = await fh.read(header, 0, HEADER_READ, 0);
    const head = header.subarray(0, bytesRead);
    let current: string | null;
    try {
      current = readQcow2Backing(head).name;
    } catch (e) {
      throw hypervisorError(K.VOLUME_UNTRUSTED, `copied volume: ${(e as Error).message}`, {});
    }
    if (!backing) {
      if (current !== null)
        throw hypervisorError(
          K.VOLUME_UNTRUSTED,
          `copied volume names a backing file (${current}) but no base was given`,
          { field: 'backingFile' },
        );
      return;
    }
    if (current === null)
      throw hypervisorError(K.VOLUME_UNTRUSTED, 'copied volume has no backing file to re-point', {
        field: 'backingFile',
      });
    rewriteQcow2Backing(head, backing);
    await fh.write(head, 0, bytesRead, 0);
  } finally {
    await fh.close();
  }
}
