/**
 * The BIOS-bootable disk `palisade-tiny.qcow2`, built on an image file without mounting it:
 *
 *   sector 0           syslinux's mbr.bin + an MBR partition table written here
 *   partition 1 (FAT)  vmlinuz, initrd.img, syslinux.cfg, ldlinux.sys — mkfs.vfat --offset,
 *                      mcopy and `syslinux --offset --install` (the mtools flavour of syslinux)
 *   partition 2        scratch space, unformatted: /init reports it as the data disk, and tests
 *                      write plaintext there to prove it is encrypted at rest on the host
 *
 * then `qemu-img convert -O qcow2`. It must never touch a block device of the host: every tool
 * here gets a regular file inside the build's private folder.
 */
import {
  readFileSync,
  writeFileSync,
  closeSync,
  openSync,
  writeSync,
  ftruncateSync,
} from 'node:fs';
import path from 'node:path';
import { mustExec } from './proc';

export const SECTOR = 512;
export const DISK_LAYOUT = {
  bootStart: 2048,
  bootSectors: 40 * 2048, // 40 MiB: the kernel (~8 MiB) and initrd with room for a newer kernel
  scratchSectors: 23 * 2048, // up to 64 MiB in all
  totalSectors: 64 * 2048,
} as const;

/** Where Debian's syslinux-common puts the BIOS MBR boot code. */
export const SYSLINUX_MBR = '/usr/lib/syslinux/mbr/mbr.bin';

export interface MbrPartition {
  bootable: boolean;
  type: number;
  startLba: number;
  sectors: number;
}

/** CHS of an LBA for the usual 255-head, 63-sector geometry; past cylinder 1023 the max value. */
export function chs(lba: number): [number, number, number] {
  const c = Math.floor(lba / (255 * 63));
  if (c > 1023) return [0xfe, 0xff, 0xff];
  const h = Math.floor(lba / 63) % 255;
  const s = (lba % 63) + 1;
  return [h, s | ((c >> 2) & 0xc0), c & 0xff];
}

/** The 512-byte MBR: `bootCode` (≤ 440 bytes), disk signature, up to 4 primary partitions. */
export function buildMbr(bootCode: Buffer, diskSignature: number, parts: MbrPartition[]): Buffer {
  if (bootCode.length > 440) throw new Error(`MBR boot code is ${bootCode.length} bytes (max 440)`);
  if (parts.length > 4) throw new Error('an MBR holds at most 4 primary partitions');
  const mbr = Buffer.alloc(SECTOR);
  bootCode.copy(mbr, 0);
  mbr.writeUInt32LE(diskSignature >>> 0, 440);
  parts.forEach((p, i) => {
    const at = 446 + i * 16;
    mbr[at] = p.bootable ? 0x80 : 0x00;
    Buffer.from(chs(p.startLba)).copy(mbr, at + 1);
    mbr[at + 4] = p.type;
    Buffer.from(chs(p.startLba + p.sectors - 1)).copy(mbr, at + 5);
    mbr.writeUInt32LE(p.startLba, at + 8);
    mbr.writeUInt32LE(p.sectors, at + 12);
  });
  mbr[510] = 0x55;
  mbr[511] = 0xaa;
  return mbr;
}

export function syslinuxConfig(cmdline: string): string {
  // SERIAL must be the first directive; it puts the loader's own messages on ttyS0 as well.
  return [
    'SERIAL 0 115200',
    'DEFAULT palisade-tiny',
    'PROMPT 0',
    'TIMEOUT 0',
    'LABEL palisade-tiny',
    '  LINUX /vmlinuz',
    '  INITRD /initrd.img',
    `  APPEND ${cmdline}`,
    '',
  ].join('\n');
}

export interface DiskInput {
  work: string;
  vmlinuz: string;
  initrd: string;
  cmdline: string;
  /** 32-bit value used as MBR disk signature and FAT volume ID (reproducible builds). */
  id: number;
  out: string;
}

export async function buildBootDisk(input: DiskInput): Promise<void> {
  const L = DISK_LAYOUT;
  const raw = path.join(input.work, 'disk.raw');
  const fd = openSync(raw, 'w');
  try {
    ftruncateSync(fd, L.totalSectors * SECTOR);
    const mbr = buildMbr(readFileSync(SYSLINUX_MBR), input.id, [
      { bootable: true, type: 0x0e, startLba: L.bootStart, sectors: L.bootSectors },
      {
        bootable: false,
        type: 0x83,
        startLba: L.bootStart + L.bootSectors,
        sectors: L.scratchSectors,
      },
    ]);
    writeSync(fd, mbr, 0, SECTOR, 0);
  } finally {
    closeSync(fd);
  }

  const offsetBytes = L.bootStart * SECTOR;
  const volumeId = (input.id >>> 0).toString(16).padStart(8, '0');
  // -h: the boot sector's "hidden sectors" must be the partition's LBA, or ldlinux cannot find
  // itself when the BIOS hands over the partition rather than the disk.
  await mustExec('mkfs.vfat', [
    '--offset',
    String(L.bootStart),
    '-h',
    String(L.bootStart),
    '-F',
    '16',
    '-n',
    'PALISADE',
    '-i',
    volumeId,
    raw,
    String((L.bootSectors * SECTOR) / 1024),
  ]);
  const cfg = path.join(input.work, 'syslinux.cfg');
  writeFileSync(cfg, syslinuxConfig(input.cmdline));
  const env = { ...process.env, MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };
  const fat = `${raw}@@${offsetBytes}`;
  await mustExec('mcopy', ['-i', fat, input.vmlinuz, '::vmlinuz'], { env });
  await mustExec('mcopy', ['-i', fat, input.initrd, '::initrd.img'], { env });
  await mustExec('mcopy', ['-i', fat, cfg, '::syslinux.cfg'], { env });
  await mustExec('syslinux', ['--offset', String(offsetBytes), '--install', raw], { env });
  await mustExec('qemu-img', ['convert', '-q', '-f', 'raw', '-O', 'qcow2', raw, input.out], {
    timeoutMs: 300_000,
  });
}
