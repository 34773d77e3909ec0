/**
 * Minimal ELF64 little-endian files for unit tests: just the parts the builder reads (a
 * `.modinfo` section; PT_NOTE program headers). Test-only; never used by the builder itself.
 */

/** An ELF with sections null, .modinfo (`entries` joined by NULs), .shstrtab. */
export function elfWithModinfo(entries: string[]): Buffer {
  const shstrtab = Buffer.from('\0.modinfo\0.shstrtab\0', 'latin1');
  const modinfo = Buffer.from(`${entries.join('\0')}\0\0\0`, 'latin1');
  const modinfoOff = 64;
  const strOff = modinfoOff + modinfo.length;
  const shoff = Math.ceil((strOff + shstrtab.length) / 8) * 8;
  const buf = Buffer.alloc(shoff + 3 * 64);
  header(buf);
  buf.writeBigUInt64LE(BigInt(shoff), 0x28);
  buf.writeUInt16LE(64, 0x3a);
  buf.writeUInt16LE(3, 0x3c);
  buf.writeUInt16LE(2, 0x3e);
  modinfo.copy(buf, modinfoOff);
  shstrtab.copy(buf, strOff);
  const section = (i: number, name: number, off: number, size: number) => {
    const at = shoff + i * 64;
    buf.writeUInt32LE(name, at);
    buf.writeUInt32LE(1, at + 4);
    buf.writeBigUInt64LE(BigInt(off), at + 24);
    buf.writeBigUInt64LE(BigInt(size), at + 32);
  };
  section(1, 1, modinfoOff, modinfo.length);
  section(2, 10, strOff, shstrtab.length);
  return buf;
}

/** An ELF with one PT_NOTE segment holding `notes` (name, type, 4-byte descriptor each). */
export function elfWithNotes(notes: { name: string; type: number }[]): Buffer {
  const parts = notes.map(({ name, type }) => {
    const n = Buffer.from(`${name}\0`, 'latin1');
    const padded = Buffer.alloc(Math.ceil(n.length / 4) * 4);
    n.copy(padded);
    const head = Buffer.alloc(12);
    head.writeUInt32LE(n.length, 0);
    head.writeUInt32LE(4, 4);
    head.writeUInt32LE(type, 8);
    return Buffer.concat([head, padded, Buffer.alloc(4)]);
  });
  const notesBuf = Buffer.concat(parts);
  const phoff = 64;
  const noteOff = phoff + 56;
  const buf = Buffer.alloc(noteOff + notesBuf.length);
  header(buf);
  buf.writeBigUInt64LE(BigInt(phoff), 0x20);
  buf.writeUInt16LE(56, 0x36);
  buf.writeUInt16LE(1, 0x38);
  buf.writeUInt32LE(4, phoff);
  buf.writeBigUInt64LE(BigInt(noteOff), phoff + 8);
  buf.writeBigUInt64LE(BigInt(notesBuf.length), phoff + 32);
  notesBuf.copy(buf, noteOff);
  return buf;
}

function header(buf: Buffer) {
  buf.writeUInt32BE(0x7f454c46, 0);
  buf[4] = 2; // ELFCLASS64
  buf[5] = 1; // little-endian
  buf[6] = 1;
}
