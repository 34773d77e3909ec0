import { describe, expect, it } from 'vitest';
import { elfWithNotes } from './testing/elf';
import { bzImagePayload, hasPvhEntry } from './vmlinux';

function bzImage(payload: Buffer, setupSects = 3): Buffer {
  const start = (setupSects + 1) * 512;
  const offset = 100;
  const buf = Buffer.alloc(start + offset + payload.length + 4);
  buf[0x1f1] = setupSects;
  buf.write('HdrS', 0x202, 'latin1');
  buf.writeUInt16LE(0x20f, 0x206);
  buf.writeUInt32LE(offset, 0x248);
  buf.writeUInt32LE(payload.length, 0x24c);
  payload.copy(buf, start + offset);
  return buf;
}

describe('bzImagePayload', () => {
  it('finds the payload the setup header points at and tells its format', () => {
    const xz = Buffer.from([0xfd, 0x37, 0x7a, 0x58, 0x5a, 0x00, 1, 2, 3]);
    expect(bzImagePayload(bzImage(xz))).toEqual({ format: 'xz', data: xz });
    const gz = Buffer.from([0x1f, 0x8b, 8, 0]);
    expect(bzImagePayload(bzImage(gz, 30)).format).toBe('gzip');
    expect(bzImagePayload(bzImage(Buffer.from([0x28, 0xb5, 0x2f, 0xfd]))).format).toBe('other');
  });

  it('refuses a file without the HdrS signature', () => {
    expect(() => bzImagePayload(Buffer.alloc(4096))).toThrow('not a bzImage');
  });
});

describe('hasPvhEntry', () => {
  it('is true only with a Xen PHYS32_ENTRY (type 18) note', () => {
    expect(
      hasPvhEntry(
        elfWithNotes([
          { name: 'GNU', type: 3 },
          { name: 'Xen', type: 18 },
        ]),
      ),
    ).toBe(true);
    expect(
      hasPvhEntry(
        elfWithNotes([
          { name: 'Xen', type: 17 },
          { name: 'Linux', type: 18 },
        ]),
      ),
    ).toBe(false);
    expect(hasPvhEntry(Buffer.alloc(128))).toBe(false);
  });
});
