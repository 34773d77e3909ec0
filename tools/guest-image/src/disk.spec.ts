import { describe, expect, it } from 'vitest';
import { buildMbr, chs, DISK_LAYOUT, syslinuxConfig } from './disk';

describe('buildMbr', () => {
  const code = Buffer.alloc(440, 0xcc);
  const mbr = buildMbr(code, 0xdeadbeef, [
    { bootable: true, type: 0x0e, startLba: 2048, sectors: 81920 },
    { bootable: false, type: 0x83, startLba: 83968, sectors: 47104 },
  ]);

  it('keeps the boot code, the signature and the 0x55AA trailer', () => {
    expect(mbr.length).toBe(512);
    expect(mbr.subarray(0, 440).equals(code)).toBe(true);
    expect(mbr.readUInt32LE(440)).toBe(0xdeadbeef);
    expect([mbr[510], mbr[511]]).toEqual([0x55, 0xaa]);
  });

  it('writes each partition entry: active flag, type, LBA start and length', () => {
    expect(mbr[446]).toBe(0x80);
    expect(mbr[450]).toBe(0x0e);
    expect(mbr.readUInt32LE(454)).toBe(2048);
    expect(mbr.readUInt32LE(458)).toBe(81920);
    expect(mbr[462]).toBe(0x00);
    expect(mbr[466]).toBe(0x83);
    expect(mbr.readUInt32LE(470)).toBe(83968);
    expect(mbr.readUInt32LE(474)).toBe(47104);
    expect(mbr.subarray(478, 510).every((b) => b === 0)).toBe(true);
  });

  it('refuses boot code that would overwrite the partition table', () => {
    expect(() => buildMbr(Buffer.alloc(441), 0, [])).toThrow('max 440');
  });
});

describe('chs', () => {
  it('encodes the conventional 255/63 geometry, saturating past cylinder 1023', () => {
    expect(chs(2048)).toEqual([32, 33, 0]); // what fdisk writes for the 1 MiB boundary
    expect(chs(0)).toEqual([0, 1, 0]);
    expect(chs(1024 * 255 * 63)).toEqual([0xfe, 0xff, 0xff]);
  });
});

describe('layout', () => {
  it('fits both partitions inside the disk, after the MBR gap', () => {
    const L = DISK_LAYOUT;
    expect(L.bootStart + L.bootSectors + L.scratchSectors).toBeLessThanOrEqual(L.totalSectors);
  });

  it('boots the kernel with the given command line', () => {
    const cfg = syslinuxConfig('console=ttyS0 quiet');
    expect(cfg.split('\n')[0]).toBe('SERIAL 0 115200');
    expect(cfg).toContain('  APPEND console=ttyS0 quiet\n');
  });
});
