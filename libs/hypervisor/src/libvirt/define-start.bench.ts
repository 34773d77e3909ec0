// Benchmark (`npm run bench -- define-start`, not a test): what LibvirtHypervisor's
// defineDomain + start costs over typing `virsh define FILE` and `virsh start UUID` for the same
// TCG domain XML on qemu:///system. The wrapper adds a temp file for the XML, the XML identity
// parse and its lock; both run the same two virsh processes, so the figures should be close.
// Each run defines a fresh domain; destroy + undefine afterwards are not timed.
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { domainToXml, type Domain } from '../domain/domain';
import { LibvirtHypervisor } from './libvirt';

const URI = 'qemu:///system';
const run = promisify(execFile);
const virsh = (...args: string[]) => run('virsh', ['-c', URI, ...args], { timeout: 60_000 });

function tcgDomain(uuid: string): string {
  const d: Domain = {
    type: 'qemu',
    name: `palisade-bench-${uuid}`,
    uuid,
    memoryKiB: 64 * 1024,
    vcpus: 1,
    os: { type: 'hvm', arch: 'x86_64', machine: 'pc', bootDevs: ['hd'] },
    features: { acpi: true, apic: true },
    clockOffset: 'utc',
    onPoweroff: 'destroy',
    onReboot: 'restart',
    onCrash: 'destroy',
    devices: { disks: [], interfaces: [], serials: [], consoles: [], graphics: [] },
    seclabels: [],
  };
  return domainToXml(d);
}

let dir = '';
const created: string[] = [];
const hv = new LibvirtHypervisor({ uri: URI, volumeDirs: [] });

async function remove(uuid: string): Promise<void> {
  await virsh('destroy', uuid).catch(() => undefined);
  await virsh('undefine', uuid).catch(() => undefined);
}

function fresh(): { uuid: string; xml: string } {
  const uuid = randomUUID();
  created.push(uuid);
  return { uuid, xml: tcgDomain(uuid) };
}

export const benchmark = {
  name: 'define + start of a TCG domain (no disk) on qemu:///system',
  baseline: 'virsh define + virsh start',
  runs: 5,
  setup: async () => {
    await virsh('version');
    dir = mkdtempSync(path.join(tmpdir(), 'palisade-bench-'));
  },
  teardown: async () => {
    for (const uuid of created) await remove(uuid);
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
  cases: {
    'virsh define + virsh start': {
      run: async () => {
        const { uuid, xml } = fresh();
        const file = path.join(dir, `${uuid}.xml`);
        writeFileSync(file, xml);
        await virsh('define', file);
        await virsh('start', uuid);
      },
      after: async () => remove(created.at(-1)!),
    },
    'LibvirtHypervisor defineDomain + start': {
      run: async () => {
        const { uuid, xml } = fresh();
        await hv.defineDomain(xml);
        await hv.start(uuid);
      },
      after: async () => remove(created.at(-1)!),
    },
  },
};
