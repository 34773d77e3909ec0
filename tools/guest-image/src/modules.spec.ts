import { describe, expect, it } from 'vitest';
import { dependsOf, loadOrder, moduleName, parseBuiltin, parseModinfo } from './modules';
import { elfWithModinfo } from './testing/elf';

// The dependencies of Debian 6.1's virtio modules, as their .modinfo declares them.
const DEBIAN_61: Record<string, string[]> = {
  virtio_ring: [],
  virtio: ['virtio_ring'],
  virtio_pci_legacy_dev: [],
  virtio_pci_modern_dev: [],
  virtio_pci: ['virtio_ring', 'virtio_pci_modern_dev', 'virtio_pci_legacy_dev', 'virtio'],
  failover: [],
  net_failover: ['failover'],
  virtio_net: ['virtio_ring', 'virtio', 'net_failover'],
  virtio_blk: ['virtio', 'virtio_ring'],
  fat: [],
  vfat: ['fat'],
  nls_cp437: [],
  nls_ascii: [],
};

describe('loadOrder', () => {
  it('puts every module after all of its dependencies, each once', () => {
    const order = loadOrder(
      ['virtio_pci', 'virtio_blk', 'virtio_net', 'vfat'],
      (n) => DEBIAN_61[n],
    );
    expect(new Set(order).size).toBe(order.length);
    for (const [i, m] of order.entries())
      for (const d of DEBIAN_61[m]!) expect(order.indexOf(d), `${d} before ${m}`).toBeLessThan(i);
    expect(order).toEqual([
      'virtio_ring',
      'virtio_pci_modern_dev',
      'virtio_pci_legacy_dev',
      'virtio',
      'virtio_pci',
      'virtio_blk',
      'failover',
      'net_failover',
      'virtio_net',
      'fat',
      'vfat',
    ]);
  });

  it('skips built-in modules and their subtree', () => {
    const order = loadOrder(['vfat'], (n) => DEBIAN_61[n], new Set(['fat']));
    expect(order).toEqual(['vfat']);
  });

  it('names the chain that needs a missing module', () => {
    expect(() =>
      loadOrder(['virtio_net'], (n) => (n === 'failover' ? undefined : DEBIAN_61[n])),
    ).toThrow('kernel module failover not found (needed by virtio_net -> net_failover)');
  });

  it('refuses a dependency cycle instead of looping', () => {
    const deps: Record<string, string[]> = { a: ['b'], b: ['a'] };
    expect(() => loadOrder(['a'], (n) => deps[n])).toThrow('module dependency cycle: a -> b -> a');
  });
});

describe('modinfo', () => {
  it('reads depends= from the .modinfo section of an ELF module', () => {
    const ko = elfWithModinfo([
      'license=GPL',
      'depends=virtio_ring,virtio-pci-modern-dev',
      'name=x',
    ]);
    expect(parseModinfo(ko).get('license')).toEqual(['GPL']);
    expect(dependsOf(ko)).toEqual(['virtio_ring', 'virtio_pci_modern_dev']);
  });

  it('treats an empty depends= as no dependencies', () => {
    expect(dependsOf(elfWithModinfo(['depends=', 'name=fat']))).toEqual([]);
  });

  it('rejects a file that is not a 64-bit ELF', () => {
    expect(() => parseModinfo(Buffer.from('#!/bin/sh\n'.padEnd(80)))).toThrow('not an ELF file');
  });

  it('normalises file names and modules.builtin entries to module names', () => {
    expect(moduleName('kernel/drivers/char/hw_random/virtio-rng.ko')).toBe('virtio_rng');
    expect(moduleName('vfat.ko.xz')).toBe('vfat');
    expect(parseBuiltin('kernel/fs/nls/nls_base.ko\n\nkernel/fs/fat/fat.ko\n')).toEqual(
      new Set(['nls_base', 'fat']),
    );
  });
});
