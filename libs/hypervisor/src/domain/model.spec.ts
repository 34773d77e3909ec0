// One expected-XML (golden) test per model part, after Nova's config tests: each sample value is
// written and compared with its file in __golden__, read back to the same value, and embedded in a
// minimal domain that libvirt's own schema must accept.
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { expectGolden, validateDomainXml } from '../testing/golden';
import { parseXml, writeXml } from '../xml/xml';
import { consoleCodec, serialCodec, type Console, type Serial } from './chardev';
import type { Codec } from './codec';
import { cpuCodec, type Cpu } from './cpu';
import { diskCodec, type Disk } from './disk';
import { domainCodec, domainToXml, parseDomainXml, type Domain } from './domain';
import { featuresCodec, type Features } from './features';
import { graphicsCodec, isLocalOnly, type Graphics, type GraphicsListen } from './graphics';
import { interfaceCodec, type Interface } from './interface';
import { metadataCodec, PALISADE_XMLNS, type Metadata } from './metadata';
import { osCodec, type Os } from './os';
import { secLabelCodec, type SecLabel } from './seclabel';
import {
  blkioTuneCodec,
  cpuTuneCodec,
  memTuneCodec,
  resourceCodec,
  type BlkioTune,
  type CpuTune,
  type MemTune,
  type Resource,
} from './tuning';

const GOLDEN = path.join(__dirname, '__golden__');

const VM = '6b0d3f4e-2a51-4c7e-9d6f-0a1b2c3d4e5f';
const TENANT = '0e4f7a2c-9b1d-4e3f-8a5b-6c7d8e9f0a1b';
const SECRET = '3f2504e0-4f89-41d3-9a0c-0305e82c3301';

/** The smallest domain the schema accepts; each part is embedded into it for validation. */
function minimalDomain(): Domain {
  return {
    type: 'qemu',
    name: 'palisade-model-test',
    uuid: VM,
    memoryKiB: 131072,
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
}

interface Case<T> {
  name: string;
  codec: Codec<T>;
  value: T;
  embed: (d: Domain, v: T) => Domain;
}

const devices = (d: Domain, patch: Partial<Domain['devices']>): Domain => ({
  ...d,
  devices: { ...d.devices, ...patch },
});

// `satisfies` keeps each case's value type tied to its codec.
const cases = [
  {
    name: 'seclabel-selinux-static',
    codec: secLabelCodec,
    value: {
      type: 'static',
      model: 'selinux',
      relabel: true,
      label: 'system_u:system_r:svirt_t:s0:c12,c845',
      imagelabel: 'system_u:object_r:svirt_image_t:s0:c12,c845',
    },
    embed: (d, v) => ({ ...d, seclabels: [v] }),
  } satisfies Case<SecLabel>,
  {
    name: 'seclabel-apparmor-dynamic',
    codec: secLabelCodec,
    value: { type: 'dynamic', model: 'apparmor', relabel: true },
    embed: (d, v) => ({ ...d, seclabels: [v] }),
  } satisfies Case<SecLabel>,
  {
    // What a running domain on a DAC-only host reports.
    name: 'seclabel-dac-live',
    codec: secLabelCodec,
    value: {
      type: 'dynamic',
      model: 'dac',
      relabel: true,
      label: '+64055:+994',
      imagelabel: '+64055:+994',
    },
    embed: (d, v) => ({ ...d, seclabels: [v] }),
  } satisfies Case<SecLabel>,
  {
    name: 'seclabel-none',
    codec: secLabelCodec,
    value: { type: 'none', model: 'none' },
    embed: (d, v) => ({ ...d, seclabels: [v] }),
  } satisfies Case<SecLabel>,
  {
    name: 'cputune',
    codec: cpuTuneCodec,
    value: { shares: 1024, period: 100000, quota: 50000 },
    embed: (d, v) => ({ ...d, cputune: v }),
  } satisfies Case<CpuTune>,
  {
    name: 'memtune',
    codec: memTuneCodec,
    value: { hardLimitKiB: 262144, softLimitKiB: 196608 },
    embed: (d, v) => ({ ...d, memtune: v }),
  } satisfies Case<MemTune>,
  {
    name: 'blkiotune',
    codec: blkioTuneCodec,
    value: { weight: 500 },
    embed: (d, v) => ({ ...d, blkiotune: v }),
  } satisfies Case<BlkioTune>,
  {
    name: 'resource',
    codec: resourceCodec,
    value: { partition: '/machine/palisade-0e4f7a2c9b1d4e3f8a5b6c7d8e9f0a1b' },
    embed: (d, v) => ({ ...d, resource: v }),
  } satisfies Case<Resource>,
  {
    name: 'cpu-tcg-custom',
    codec: cpuCodec,
    value: {
      mode: 'custom',
      match: 'exact',
      check: 'none',
      model: { name: 'qemu64', fallback: 'forbid' },
      features: [
        { policy: 'disable', name: 'vmx' },
        { policy: 'disable', name: 'svm' },
      ],
    },
    embed: (d, v) => ({ ...d, cpu: v }),
  } satisfies Case<Cpu>,
  {
    name: 'cpu-host-model',
    codec: cpuCodec,
    value: {
      mode: 'host-model',
      features: [
        { policy: 'disable', name: 'vmx' },
        { policy: 'disable', name: 'svm' },
      ],
    },
    embed: (d, v) => ({ ...d, cpu: v }),
  } satisfies Case<Cpu>,
  {
    name: 'disk-qcow2-luks',
    codec: diskCodec,
    value: {
      device: 'disk',
      driver: { type: 'qcow2', cache: 'none', discard: 'unmap' },
      sourceFile: '/var/lib/palisade/volumes/9c1e.qcow2',
      target: { dev: 'vda', bus: 'virtio' },
      serial: '9c1e7d2a4b3f4e5d8a6b',
      bootOrder: 1,
      encryption: { format: 'luks', secretUuid: SECRET },
      iotune: { totalIopsSec: 2000, totalBytesSec: 104857600 },
      alias: 'ua-disk0',
    },
    embed: (d, v) => devices({ ...d, os: { ...d.os, bootDevs: [] } }, { disks: [v] }),
  } satisfies Case<Disk>,
  {
    name: 'disk-seed-readonly',
    codec: diskCodec,
    value: {
      device: 'disk',
      driver: { type: 'raw' },
      sourceFile: '/var/lib/palisade/seeds/vm.iso',
      target: { dev: 'vdb', bus: 'virtio' },
      readonly: true,
      alias: 'ua-seed',
    },
    embed: (d, v) => devices(d, { disks: [v] }),
  } satisfies Case<Disk>,
  {
    name: 'interface-bridge',
    codec: interfaceCodec,
    value: {
      mac: '52:54:00:6b:0d:3f',
      sourceBridge: 'pbr-vx4097',
      model: 'virtio',
      filterref: { filter: 'clean-traffic', parameters: [{ name: 'IP', value: '10.20.0.5' }] },
      bandwidth: {
        inbound: { average: 12500, peak: 25000, burst: 1024 },
        outbound: { average: 12500 },
      },
      alias: 'ua-nic0',
    },
    embed: (d, v) => devices(d, { interfaces: [v] }),
  } satisfies Case<Interface>,
  {
    name: 'interface-live',
    codec: interfaceCodec,
    value: { mac: '52:54:00:00:00:01', sourceBridge: 'br0', targetDev: 'vnet3', model: 'virtio' },
    embed: (d, v) => devices(d, { interfaces: [v] }),
  } satisfies Case<Interface>,
  {
    name: 'serial-pty',
    codec: serialCodec,
    value: { type: 'pty', targetPort: 0 },
    embed: (d, v) => devices(d, { serials: [v] }),
  } satisfies Case<Serial>,
  {
    name: 'console-pty-live',
    codec: consoleCodec,
    value: { type: 'pty', targetType: 'serial', targetPort: 0, sourcePath: '/dev/pts/7' },
    embed: (d, v) => devices(d, { consoles: [v] }),
  } satisfies Case<Console>,
  {
    name: 'graphics-vnc-loopback',
    codec: graphicsCodec,
    value: { type: 'vnc', autoport: true, listens: [{ type: 'address', address: '127.0.0.1' }] },
    embed: (d, v) => devices(d, { graphics: [v] }),
  } satisfies Case<Graphics>,
  {
    name: 'graphics-vnc-socket',
    codec: graphicsCodec,
    value: { type: 'vnc', listens: [{ type: 'socket', socket: '/run/palisade/vnc/vm.sock' }] },
    embed: (d, v) => devices(d, { graphics: [v] }),
  } satisfies Case<Graphics>,
  {
    name: 'metadata',
    codec: metadataCodec,
    value: {
      palisade: {
        vmId: VM,
        tenantId: TENANT,
        specRevision: 7,
        name: 'web-1',
        disks: [
          {
            id: 'a3f1c0de-0000-4000-8000-000000000001',
            volumeId: '9c1e7d2a-4b3f-4e5d-8a6b-000000000002',
            target: 'vda',
          },
        ],
        nics: [{ id: 'a3f1c0de-0000-4000-8000-000000000003', mac: '52:54:00:6b:0d:3f' }],
      },
      other: [
        {
          name: 'other:thing',
          attrs: { 'xmlns:other': 'https://example.org/other' },
          children: [],
          text: 'kept verbatim',
        },
      ],
    },
    embed: (d, v) => ({ ...d, metadata: v }),
  } satisfies Case<Metadata>,
  {
    name: 'os-kernel',
    codec: osCodec,
    value: {
      type: 'hvm',
      arch: 'x86_64',
      machine: 'pc',
      bootDevs: [],
      kernel: '/var/lib/palisade/images/tiny/vmlinuz',
      initrd: '/var/lib/palisade/images/tiny/initrd.img',
      cmdline: 'console=ttyS0 panic=-1 quiet',
    },
    embed: (d, v) => ({ ...d, os: v }),
  } satisfies Case<Os>,
  {
    name: 'os-disk',
    codec: osCodec,
    value: { type: 'hvm', arch: 'x86_64', machine: 'q35', bootDevs: ['hd'] },
    embed: (d, v) => ({ ...d, os: v }),
  } satisfies Case<Os>,
  {
    name: 'features',
    codec: featuresCodec,
    value: { acpi: true, apic: true },
    embed: (d, v) => ({ ...d, features: v }),
  } satisfies Case<Features>,
  {
    name: 'domain-minimal',
    codec: domainCodec,
    value: minimalDomain(),
    embed: (_d, v) => v,
  } satisfies Case<Domain>,
] as Case<unknown>[];

describe('domain model parts (golden XML)', () => {
  for (const c of cases) {
    describe(c.name, () => {
      const xml = writeXml(c.codec.toElement(c.value));

      it(`writes __golden__/${c.name}.xml`, () => {
        expectGolden(path.join(GOLDEN, `${c.name}.xml`), xml);
      });

      it('reads its own XML back to the same value', () => {
        expect(c.codec.fromElement(parseXml(xml))).toEqual(c.value);
      });

      it("is accepted by libvirt's domain schema", async () => {
        const r = await validateDomainXml(domainToXml(c.embed(minimalDomain(), c.value)));
        expect(r.valid, r.output).toBe(true);
      });
    });
  }
});

describe('reading what libvirt prints', () => {
  it('converts scaled memory units to KiB, rounding up like libvirt', () => {
    const d = parseDomainXml(
      domainToXml(minimalDomain()).replace(
        "<memory unit='KiB'>131072</memory>",
        "<memory unit='MiB'>128</memory>",
      ),
    );
    expect(d.memoryKiB).toBe(131072);
    const mem = (unit: string, v: number) =>
      parseDomainXml(
        domainToXml(minimalDomain()).replace(
          "<memory unit='KiB'>131072</memory>",
          `<memory unit='${unit}'>${v}</memory>`,
        ),
      ).memoryKiB;
    expect(mem('G', 1)).toBe(1048576);
    expect(mem('GB', 1)).toBe(976563); // 10^9 bytes, rounded up to whole KiB
    expect(mem('bytes', 1025)).toBe(2);
    expect(mem('k', 5)).toBe(5);
    expect(() => mem('kytes', 1)).toThrow(/unknown unit/);
  });

  it('accepts <encryption> under <source> as well as under <disk>', () => {
    const disk = diskCodec.fromElement(
      parseXml(`<disk type='file' device='disk'>
        <driver name='qemu' type='qcow2'/>
        <source file='/v.qcow2'><encryption format='luks'><secret type='passphrase' uuid='${SECRET}'/></encryption></source>
        <target dev='vda' bus='virtio'/>
      </disk>`),
    );
    expect(disk.encryption).toEqual({ format: 'luks', secretUuid: SECRET });
  });

  it('reads a VNC listen given only as attributes (libvirt echoes both forms)', () => {
    const g = graphicsCodec.fromElement(
      parseXml(`<graphics type='vnc' port='5901' listen='127.0.0.1'/>`),
    );
    expect(g).toEqual({
      type: 'vnc',
      port: 5901,
      listens: [{ type: 'address', address: '127.0.0.1' }],
    });
    const s = graphicsCodec.fromElement(parseXml(`<graphics type='vnc' socket='/run/v.sock'/>`));
    expect(s.listens).toEqual([{ type: 'socket', socket: '/run/v.sock' }]);
  });

  it('finds Palisade metadata whatever prefix binds the namespace', () => {
    const m = metadataCodec.fromElement(
      parseXml(`<metadata><p:instance xmlns:p='${PALISADE_XMLNS}'><p:vm>${VM}</p:vm><p:tenant>${TENANT}</p:tenant>
        <p:specRevision>3</p:specRevision><p:name>x</p:name></p:instance></metadata>`),
    );
    expect(m.palisade).toEqual({
      vmId: VM,
      tenantId: TENANT,
      specRevision: 3,
      name: 'x',
      disks: [],
      nics: [],
    });
    expect(m.other).toEqual([]);
  });

  it('does not mistake another namespace that uses the palisade prefix for ours', () => {
    const m = metadataCodec.fromElement(
      parseXml(
        `<metadata><palisade:instance xmlns:palisade='https://impostor.example/ns'><palisade:vm>x</palisade:vm></palisade:instance></metadata>`,
      ),
    );
    expect(m.palisade).toBeUndefined();
    expect(m.other).toHaveLength(1);
  });

  it('refuses a value that is not an integer instead of reading NaN', () => {
    const xml = domainToXml(minimalDomain()).replace(
      "<vcpu placement='static'>1</vcpu>",
      '<vcpu>1.5</vcpu>',
    );
    expect(() => parseDomainXml(xml)).toThrow(/vcpu is not an integer/);
  });

  it('reports malformed XML as an internal error naming the position', () => {
    expect(() => parseDomainXml('<domain type="qemu"><name>x</domain>')).toThrow(
      expect.objectContaining({
        code: 'common.internal',
        message: expect.stringMatching(/line 1/),
      }),
    );
  });
});

describe('isLocalOnly', () => {
  it('accepts loopback and sockets, refuses wildcard and public listens and an absent listen', () => {
    const vnc = (listens: GraphicsListen[]) => isLocalOnly({ type: 'vnc', listens });
    expect(vnc([{ type: 'address', address: '127.0.0.1' }])).toBe(true);
    expect(vnc([{ type: 'socket', socket: '/run/x.sock' }])).toBe(true);
    expect(vnc([{ type: 'address', address: '0.0.0.0' }])).toBe(false);
    expect(vnc([{ type: 'address', address: '::' }])).toBe(false);
    expect(vnc([{ type: 'address', address: '10.0.0.1' }])).toBe(false);
    expect(vnc([])).toBe(false);
  });
});
