/**
 * Which kernel modules go into the initramfs, and in which order /init loads them.
 *
 * A Debian kernel package ships no modules.dep (depmod writes it at install time, and we never
 * install the guest kernel into the host), so the dependencies are read from each module's own
 * `.modinfo` ELF section (`depends=a,b`), which is what depmod reads too. The result is the
 * transitive closure of a few root modules, ordered so that every module comes after all of its
 * dependencies: busybox `insmod` does no resolution of its own.
 *
 * Pure apart from `readModinfo`/`indexModules`, which only read files. Must never pull in a
 * module that is not needed by a root: the guest stays small and its behaviour stays obvious.
 */
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';

/**
 * Drivers the guest needs: virtio PCI transport, virtio disks and NICs, and what mounting the
 * vfat `cidata` seed needs (vfat + the default codepage 437 and iocharset of Debian's kernel,
 * CONFIG_FAT_DEFAULT_CODEPAGE=437 / CONFIG_FAT_DEFAULT_IOCHARSET="ascii"; without them the mount
 * fails because the guest has no modprobe helper to load them on demand).
 */
export const ROOT_MODULES = [
  'virtio_pci',
  'virtio_blk',
  'virtio_net',
  'vfat',
  'nls_cp437',
  'nls_ascii',
] as const;

/** Kernel module names treat '-' and '_' alike; files use either. */
export function moduleName(fileOrName: string): string {
  return path
    .basename(fileOrName)
    .replace(/\.ko(\.(xz|zst|gz))?$/, '')
    .replace(/-/g, '_');
}

/** The `key=value` strings of an ELF64 little-endian object's `.modinfo` section. */
export function parseModinfo(elf: Buffer): Map<string, string[]> {
  if (elf.length < 64 || elf.readUInt32BE(0) !== 0x7f454c46) throw new Error('not an ELF file');
  if (elf[4] !== 2 || elf[5] !== 1) throw new Error('not a 64-bit little-endian ELF file');
  const shoff = Number(elf.readBigUInt64LE(0x28));
  const shentsize = elf.readUInt16LE(0x3a);
  const shnum = elf.readUInt16LE(0x3c);
  const shstrndx = elf.readUInt16LE(0x3e);
  const section = (i: number) => {
    const at = shoff + i * shentsize;
    return {
      name: elf.readUInt32LE(at),
      offset: Number(elf.readBigUInt64LE(at + 24)),
      size: Number(elf.readBigUInt64LE(at + 32)),
    };
  };
  const strtab = section(shstrndx);
  const nameOf = (off: number) => {
    const start = strtab.offset + off;
    return elf.toString('latin1', start, elf.indexOf(0, start));
  };
  const info = new Map<string, string[]>();
  for (let i = 0; i < shnum; i++) {
    const s = section(i);
    if (nameOf(s.name) !== '.modinfo') continue;
    for (const entry of elf.toString('latin1', s.offset, s.offset + s.size).split('\0')) {
      const eq = entry.indexOf('=');
      if (eq <= 0) continue;
      const key = entry.slice(0, eq);
      info.set(key, [...(info.get(key) ?? []), entry.slice(eq + 1)]);
    }
    return info;
  }
  throw new Error('no .modinfo section');
}

export function dependsOf(elf: Buffer): string[] {
  const deps = parseModinfo(elf).get('depends')?.[0] ?? '';
  return deps
    .split(',')
    .map((d) => d.trim())
    .filter(Boolean)
    .map(moduleName);
}

/** Module name → path of its .ko, for every module under `<modulesDir>/kernel`. */
export function indexModules(modulesDir: string): Map<string, string> {
  const index = new Map<string, string>();
  const walk = (dir: string) => {
    for (const e of readdirSync(dir, { withFileTypes: true })) {
      const p = path.join(dir, e.name);
      if (e.isDirectory()) walk(p);
      else if (/\.ko$/.test(e.name)) index.set(moduleName(e.name), p);
      else if (/\.ko\.(xz|zst|gz)$/.test(e.name))
        // Debian's 6.1 kernels ship plain .ko files; a compressed one would need unpacking
        // before busybox insmod could load it, so refuse loudly instead of building a dud.
        throw new Error(`compressed kernel module ${p} is not supported by this builder`);
    }
  };
  walk(path.join(modulesDir, 'kernel'));
  return index;
}

/** Names listed in modules.builtin (compiled into the kernel: nothing to load). */
export function parseBuiltin(text: string): Set<string> {
  return new Set(
    text
      .split('\n')
      .map((l) => l.trim())
      .filter(Boolean)
      .map(moduleName),
  );
}

/**
 * The modules to load for `roots`, each after its dependencies (depth-first post-order, roots
 * in the given order). Built-in modules are skipped; an unknown module or a cycle is an error.
 */
export function loadOrder(
  roots: readonly string[],
  depsOf: (name: string) => string[] | undefined,
  builtin: ReadonlySet<string> = new Set(),
): string[] {
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string, via: string[]) => {
    if (builtin.has(name) || state.get(name) === 'done') return;
    if (state.get(name) === 'visiting')
      throw new Error(`module dependency cycle: ${[...via, name].join(' -> ')}`);
    const deps = depsOf(name);
    if (deps === undefined)
      throw new Error(
        `kernel module ${name} not found${via.length ? ` (needed by ${via.join(' -> ')})` : ''}`,
      );
    state.set(name, 'visiting');
    for (const d of deps) visit(d, [...via, name]);
    state.set(name, 'done');
    order.push(name);
  };
  for (const r of roots) visit(moduleName(r), []);
  return order;
}

export interface ModuleSelection {
  /** Load order. */
  order: string[];
  /** name → .ko path inside the extracted kernel package. */
  files: Map<string, string>;
}

/** Resolves ROOT_MODULES against an extracted `lib/modules/<release>` directory. */
export function selectModules(
  modulesDir: string,
  roots: readonly string[] = ROOT_MODULES,
): ModuleSelection {
  const index = indexModules(modulesDir);
  let builtin = new Set<string>();
  try {
    builtin = parseBuiltin(readFileSync(path.join(modulesDir, 'modules.builtin'), 'utf8'));
  } catch {
    // Without modules.builtin every root must exist as a module, which loadOrder checks.
  }
  const cache = new Map<string, string[]>();
  const order = loadOrder(
    roots,
    (name) => {
      const file = index.get(name);
      if (file === undefined) return undefined;
      if (!cache.has(name)) cache.set(name, dependsOf(readFileSync(file)));
      return cache.get(name);
    },
    builtin,
  );
  return { order, files: new Map(order.map((n) => [n, index.get(n)!])) };
}
