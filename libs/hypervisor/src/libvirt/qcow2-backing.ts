/**
 * Reads and rewrites the backing-file name in a qcow2 header: the "unsafe rebase" a migrated
 * volume needs when the target host keeps its base images under another directory.
 *
 * Why not `qemu-img rebase -u`: on a LUKS-encrypted qcow2 it opens the image and refuses without
 * the key ("Parameter 'encrypt.key-secret' is required for cipher", measured with QEMU 7.2), and
 * a migration must move the ciphertext without the key. The backing name is plain text in the
 * header's first cluster (qcow2 spec, docs/interop/qcow2.txt: `backing_file_offset` at byte 8,
 * `backing_file_size` at byte 16, the name after the header extensions, all inside cluster 0),
 * so it can be rewritten without touching the LUKS header or any data cluster.
 *
 * Pure: works on the header bytes; the caller reads and writes the file.
 */

const MAGIC = 0x514649fb; // "QFI\xfb"
/** What QEMU allows for a backing file name (block/qcow2.c: 1023 bytes). */
const MAX_NAME = 1023;

export interface Qcow2Backing {
  /** The backing name as stored (QEMU resolves a relative one against the image's directory). */
  name: string | null;
  /** Where the name may go: its current offset, or the end of the header extensions. */
  nameOffset: number;
  clusterSize: number;
}

/** The backing name of a qcow2 header (the first cluster of the file, or at least 64 KiB). */
export function readQcow2Backing(header: Buffer): Qcow2Backing {
  if (header.length < 72 || header.readUInt32BE(0) !== MAGIC)
    throw new Error('not a qcow2 image (bad magic)');
  const version = header.readUInt32BE(4);
  if (version !== 2 && version !== 3) throw new Error(`unsupported qcow2 version ${version}`);
  const clusterBits = header.readUInt32BE(20);
  if (clusterBits < 9 || clusterBits > 21) throw new Error(`bad qcow2 cluster_bits ${clusterBits}`);
  const clusterSize = 2 ** clusterBits;
  const offset = Number(header.readBigUInt64BE(8));
  const size = header.readUInt32BE(16);
  // Header extensions start after the header (v3 says how long it is) and end with type 0.
  let ext = version === 3 ? header.readUInt32BE(100) : 72;
  for (;;) {
    if (ext + 8 > header.length) throw new Error('qcow2 header extensions run past the header');
    const type = header.readUInt32BE(ext);
    const len = header.readUInt32BE(ext + 4);
    ext += 8;
    if (type === 0) break;
    ext += Math.ceil(len / 8) * 8;
  }
  if (offset === 0) return { name: null, nameOffset: ext, clusterSize };
  if (offset < ext || offset + size > Math.min(clusterSize, header.length) || size > MAX_NAME)
    throw new Error(`qcow2 backing name at ${offset}+${size} is outside the header cluster`);
  return {
    name: header.subarray(offset, offset + size).toString('utf8'),
    nameOffset: offset,
    clusterSize,
  };
}

/**
 * Patches `header` in place so the image names `name` as its backing file (same format: the
 * backing-format extension is left as it is). Refuses an image without a backing file (nothing
 * to re-point) and a name that would not fit in the header cluster.
 */
export function rewriteQcow2Backing(header: Buffer, name: string): void {
  const now = readQcow2Backing(header);
  if (now.name === null) throw new Error('the image has no backing file to re-point');
  const bytes = Buffer.from(name, 'utf8');
  if (bytes.length === 0 || bytes.length > MAX_NAME || name.includes('\0'))
    throw new Error(`backing name must be 1-${MAX_NAME} bytes without NUL`);
  if (now.nameOffset + bytes.length > Math.min(now.clusterSize, header.length))
    throw new Error('the new backing name does not fit in the qcow2 header cluster');
  bytes.copy(header, now.nameOffset);
  header.writeUInt32BE(bytes.length, 16);
}
