/**
 * `QemuImages`: Palisade's qcow2 volumes on a host through `qemu-img` (the port's `volumes` and
 * the disk half of `snapshots`), confined to the volume directories.
 *
 * Must never: let qemu-img probe a format (`-f`, `--image-opts driver=` or a recorded backing
 * format, always); open or create anything outside `volumeDirs`, including through a backing
 * file, an external data file or a `json:`/protocol reference; put a key in argv (0600 temp file).
 */
import { randomBytes } from 'node:crypto';
import { access, lstat, readdir, realpath, rename, rm } from 'node:fs/promises';
import path from 'node:path';
import { AppError, ErrorCode } from '@palisade/contracts';
import { hypervisorError, hypervisorErrorKind, HypervisorErrorKind as K } from '../contract/errors';
import { checkLuksKey } from '../contract/keys';
import type { SnapshotDisk } from '../contract/snapshots';
import type { Hypervisor, VolumeInfo, VolumeSpec } from '../hypervisor';
import { KeyedLock } from '../util/keyed-lock';
import { toAppError } from './libvirt-errors';
import { CommandError, runCommand, withPrivateFile } from './runner';

export interface QemuImagesOptions {
  /** Directories that volumes, their backing files and external data files must live in. */
  volumeDirs: string[];
  /** PBKDF2 time for a new LUKS key slot (see LibvirtHypervisorOptions). */
  luksIterTimeMs?: number;
  timeoutMs?: number;
  qemuImg?: string;
}

const MAX_BACKING_DEPTH = 16;

interface QemuImgInfo {
  'virtual-size': number;
  'actual-size'?: number;
  format: string;
  encrypted?: boolean;
  'backing-filename'?: string;
  'full-backing-filename'?: string;
  'backing-filename-format'?: string;
  'format-specific'?: { data?: { 'data-file'?: string; encrypt?: unknown } };
}

export class QemuImages {
  private readonly locks = new KeyedLock();
  private allowedDirs: Promise<string[]> | undefined;

  constructor(private readonly options: QemuImagesOptions) {}

  readonly volumes: Hypervisor['volumes'] = {
    create: (volume: VolumeSpec) =>
      this.locks.run(`vol:${path.resolve(volume.path)}`, async () => {
        const target = await this.allowedPath(volume.path, 'path');
        const backing = volume.backingFile
          ? {
              path: await this.allowedPath(volume.backingFile.path, 'backingFile.path'),
              format: volume.backingFile.format,
            }
          : undefined;
        if (!Number.isSafeInteger(volume.sizeBytes) || volume.sizeBytes <= 0) {
          throw new AppError(ErrorCode.VALIDATION_FAILED, 'sizeBytes must be a positive integer', {
            details: { field: 'sizeBytes', value: volume.sizeBytes },
          });
        }
        if (volume.luks) checkLuksKey(volume.luks.key, 'luks.key');
        const encrypted = volume.luks !== undefined;
        const existing = await this.volumeInfo(target);
        if (existing) {
          if (
            existing.format !== 'qcow2' ||
            existing.virtualSizeBytes !== volume.sizeBytes ||
            existing.encrypted !== encrypted ||
            existing.backingFile !== backing?.path
          ) {
            throw hypervisorError(
              K.VOLUME_CONFLICT,
              `volume ${target} exists as ${existing.format}, size ${existing.virtualSizeBytes}, ` +
                `encrypted=${existing.encrypted}, backing=${existing.backingFile ?? 'none'}`,
              { path: target },
            );
          }
          return existing;
        }
        if (backing) {
          // Validates the whole chain below the new volume and that the format is what it says.
          // With its declared format: qemu-img refuses a qcow2 claim for a file that is not one.
          const base = await this.volumeInfo(backing.path, backing.format);
          if (!base) {
            throw hypervisorError(K.VOLUME_NOT_FOUND, `no backing image at ${backing.path}`, {
              field: 'backingFile.path',
              path: backing.path,
            });
          }
        }
        // Created under a temporary name and renamed, so a crash never leaves a half-written
        // image at the path that a retry would then take for the finished one.
        const tmp = path.join(
          path.dirname(target),
          `.${path.basename(target)}.${randomBytes(4).toString('hex')}.tmp`,
        );
        const args = ['create', '-f', 'qcow2'];
        const iterTime = this.options.luksIterTimeMs ?? 2000;
        if (backing) args.push('-b', backing.path, '-F', backing.format);
        try {
          const create = async (keyFile?: string) => {
            const extra = keyFile
              ? [
                  '--object',
                  `secret,id=sec0,file=${qemuOptValue(keyFile)},format=raw`,
                  '-o',
                  `encrypt.format=luks,encrypt.key-secret=sec0,encrypt.iter-time=${iterTime}`,
                ]
              : [];
            await this.qemuImg(
              [...args, ...extra, tmp, String(volume.sizeBytes)],
              `create volume ${target}`,
              { path: target },
            );
          };
          if (volume.luks) await withPrivateFile(volume.luks.key, create);
          else await create();
          await rename(tmp, target);
        } finally {
          await rm(tmp, { force: true });
        }
        const info = await this.volumeInfo(target);
        if (!info) throw new AppError(ErrorCode.INTERNAL, `volume ${target} vanished after create`);
        return info;
      }),

    resize: (volumePath: string, sizeBytes: number, luks?: { key: Uint8Array }) =>
      this.locks.run(`vol:${path.resolve(volumePath)}`, async () => {
        const target = await this.allowedPath(volumePath, 'path');
        const info = await this.volumeInfo(target);
        if (!info) {
          throw hypervisorError(K.VOLUME_NOT_FOUND, `no volume at ${target}`, { path: target });
        }
        if (sizeBytes < info.virtualSizeBytes) {
          throw hypervisorError(
            K.VOLUME_SHRINK,
            `refusing to shrink ${target} from ${info.virtualSizeBytes} to ${sizeBytes} bytes`,
            { path: target, currentBytes: info.virtualSizeBytes, requestedBytes: sizeBytes },
          );
        }
        if (sizeBytes === info.virtualSizeBytes) return info;
        const what = `resize volume ${target}`;
        if (info.encrypted) {
          if (!luks) {
            throw new AppError(ErrorCode.VALIDATION_FAILED, `${target} is encrypted: key needed`, {
              details: { field: 'luks', path: target },
            });
          }
          // --image-opts names the driver explicitly, which is this form's `-f`.
          await withPrivateFile(luks.key, (file) =>
            this.qemuImg(
              [
                'resize',
                '--object',
                `secret,id=sec0,file=${qemuOptValue(file)},format=raw`,
                '--image-opts',
                `driver=${info.format},file.filename=${qemuOptValue(target)},encrypt.key-secret=sec0`,
                String(sizeBytes),
              ],
              what,
              { path: target },
            ),
          );
        } else {
          await this.qemuImg(['resize', '-f', info.format, target, String(sizeBytes)], what, {
            path: target,
          });
        }
        const after = await this.volumeInfo(target);
        if (!after) throw new AppError(ErrorCode.INTERNAL, `volume ${target} vanished on resize`);
        return after;
      }),

    delete: (volumePath: string) =>
      this.locks.run(`vol:${path.resolve(volumePath)}`, async () => {
        const target = await this.allowedPath(volumePath, 'path');
        const st = await lstat(target).catch((e: NodeJS.ErrnoException) => {
          if (e.code === 'ENOENT') return undefined;
          throw e;
        });
        if (!st) return;
        if (!st.isFile()) {
          throw hypervisorError(K.VOLUME_UNTRUSTED, `${target} is not a regular file`, {
            field: 'path',
            path: target,
          });
        }
        await rm(target, { force: true });
      }),

    info: async (volumePath: string) => this.volumeInfo(await this.allowedPath(volumePath, 'path')),

    list: async (dir: string) => {
      const names = await readdir(dir).catch((e: NodeJS.ErrnoException) => {
        if (e.code === 'ENOENT') return [];
        throw e;
      });
      return names.filter((n) => n.endsWith('.qcow2')).map((n) => path.join(dir, n));
    },
  };

  /** Internal snapshot names of a qcow2 image, oldest first; needs no key. */
  async snapshotTags(path: string): Promise<string[]> {
    const raw = await this.qemuImg(
      ['info', '-f', 'qcow2', '--output=json', '-U', path],
      `inspect volume ${path}`,
      { path },
    );
    const j = JSON.parse(raw) as { snapshots?: { name: string; 'date-sec': number }[] };
    return (j.snapshots ?? []).sort((a, b) => a['date-sec'] - b['date-sec']).map((s) => s.name);
  }

  /** `qemu-img snapshot` with `-c|-a|-d NAME`, through the LUKS layer when the disk has a key. */
  async snapshotOp(op: string[], disk: SnapshotDisk, what: string): Promise<void> {
    const label = `${what} ${op[1]} on ${disk.path}`;
    if (!disk.key) {
      await this.qemuImg(['snapshot', '-f', 'qcow2', ...op, disk.path], label, { path: disk.path });
      return;
    }
    await withPrivateFile(disk.key, (file) =>
      this.qemuImg(
        [
          'snapshot',
          '--object',
          `secret,id=sec0,file=${qemuOptValue(file)},format=raw`,
          '--image-opts',
          ...op,
          `driver=qcow2,file.filename=${qemuOptValue(disk.path)},encrypt.key-secret=sec0`,
        ],
        label,
        { path: disk.path, secretUuid: disk.secretUuid },
      ),
    );
  }

  private async qemuImg(args: string[], what: string, context: Record<string, unknown> = {}) {
    const cmd = this.options.qemuImg ?? 'qemu-img';
    try {
      return (await runCommand(cmd, args, { timeoutMs: this.options.timeoutMs ?? 300_000 })).stdout;
    } catch (e) {
      if (e instanceof CommandError) throw toAppError(e, what, context);
      throw e;
    }
  }

  private roots(): Promise<string[]> {
    this.allowedDirs ??= Promise.all(
      this.options.volumeDirs.map((d) => realpath(d).catch(() => path.resolve(d))),
    );
    return this.allowedDirs;
  }

  /**
   * The absolute path, with symlinks in its directory resolved, if it lies inside one of
   * `volumeDirs`; otherwise `volume_untrusted` naming the field.
   */
  async allowedPath(p: string, field: string): Promise<string> {
    if (!path.isAbsolute(p) || p.includes('\0')) {
      throw hypervisorError(K.VOLUME_UNTRUSTED, `${field} must be an absolute path: ${p}`, {
        field,
        path: p,
      });
    }
    const resolved = path.resolve(p);
    const dir = await realpath(path.dirname(resolved)).catch(() => path.dirname(resolved));
    const real = path.join(dir, path.basename(resolved));
    const roots = await this.roots();
    if (!roots.some((r) => real.startsWith(r.endsWith('/') ? r : `${r}/`))) {
      throw hypervisorError(
        K.VOLUME_UNTRUSTED,
        `${field} ${p} is outside the volume directories (${roots.join(', ')})`,
        { field, path: p },
      );
    }
    return real;
  }

  /**
   * `qemu-img info` of an image and, one image at a time, of its backing chain: every backing
   * file and external data file must be inside `volumeDirs` before qemu-img is pointed at it,
   * and every format is given explicitly, never probed: Palisade's volumes are qcow2, a base
   * image has its declared format, a backing file the format recorded in the image above it
   * (required). A probe would read a raw disk whose guest wrote a qcow2 header as qcow2.
   */
  async volumeInfo(
    target: string,
    topFormat: 'qcow2' | 'raw' = 'qcow2',
  ): Promise<VolumeInfo | null> {
    if (!(await exists(target))) return null;
    let current = target;
    let top: VolumeInfo | null = null;
    let format: 'qcow2' | 'raw' = topFormat;
    for (let depth = 0; ; depth++) {
      if (depth > MAX_BACKING_DEPTH) {
        throw hypervisorError(K.VOLUME_UNTRUSTED, `${target}: backing chain deeper than 16`, {
          path: target,
        });
      }
      const raw = await this.qemuImg(
        ['info', '-f', format, '--output=json', '-U', current],
        `inspect volume ${current}`,
        { path: current },
      );
      const j = JSON.parse(raw) as QemuImgInfo;
      const dataFile = j['format-specific']?.data?.['data-file'];
      if (dataFile !== undefined) await this.trustedReference(dataFile, current, 'data file');
      const backingName = j['backing-filename'];
      const backing =
        backingName === undefined
          ? undefined
          : await this.trustedReference(backingName, current, 'backing file');
      const info: VolumeInfo = {
        path: current,
        format: j.format === 'raw' ? 'raw' : 'qcow2',
        virtualSizeBytes: j['virtual-size'],
        actualSizeBytes: j['actual-size'] ?? 0,
        encrypted: j.encrypted === true || j['format-specific']?.data?.encrypt !== undefined,
      };
      if (backing) info.backingFile = backing;
      top ??= info;
      if (!backing) return top;
      const backingFormat = j['backing-filename-format'];
      if (backingFormat !== 'qcow2' && backingFormat !== 'raw') {
        throw hypervisorError(
          K.VOLUME_UNTRUSTED,
          `${current}: backing file ${backing} has no recorded format (${String(backingFormat)})`,
          { path: current },
        );
      }
      if (!(await exists(backing))) {
        throw hypervisorError(
          K.VOLUME_NOT_FOUND,
          `${current}: backing file ${backing} is missing`,
          {
            path: current,
            backingFile: backing,
          },
        );
      }
      current = backing;
      format = backingFormat;
    }
  }

  /** A file an image refers to, resolved like QEMU does (relative to the image's directory),
   *  if it is inside `volumeDirs`. */
  private async trustedReference(ref: string, image: string, what: string): Promise<string> {
    // `json:{...}` and protocol prefixes (nbd:, http:, ...) are not files at all.
    if (/^[a-z][a-z0-9+.-]*:/i.test(ref)) {
      throw hypervisorError(K.VOLUME_UNTRUSTED, `${image}: ${what} ${ref} is not a plain file`, {
        path: image,
      });
    }
    const abs = path.resolve(path.dirname(image), ref);
    try {
      return await this.allowedPath(abs, what);
    } catch (e) {
      if (hypervisorErrorKind(e) !== K.VOLUME_UNTRUSTED) throw e;
      throw hypervisorError(
        K.VOLUME_UNTRUSTED,
        `${image}: ${what} ${ref} is outside the volume directories`,
        { path: image, reference: ref },
      );
    }
  }
}

/** QEMU option values escape a comma by doubling it. */
function qemuOptValue(v: string): string {
  return v.replaceAll(',', ',,');
}

async function exists(file: string): Promise<boolean> {
  try {
    await access(file);
    return true;
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return false;
    throw e;
  }
}
