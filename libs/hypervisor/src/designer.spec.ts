// Designer cases, each with a golden domain XML that libvirt's schema must accept (validated on
// the checked-in file itself, see golden-files.spec.ts), plus the isolation decisions asserted
// directly: what was applied, what was weakened, what was refused.
import path from 'node:path';
import { vmSpecSchema, type VmSpec } from '@palisade/contracts';
import { describe, expect, it } from 'vitest';
import {
  designDomain,
  domainNameFor,
  selinuxLabels,
  tenantPartition,
  virtioDiskName,
  type DesignOptions,
  type DesignResult,
  type HostSecurity,
} from './designer';
import { parseDomainXml, parsePalisadeMetadata } from './domain/domain';
import { isLocalOnly } from './domain/graphics';
import { expectGolden, validateDomainXml } from './testing/golden';

const GOLDEN = path.join(__dirname, '__golden__');

const VM = '6b0d3f4e-2a51-4c7e-9d6f-0a1b2c3d4e5f';
const TENANT = '0e4f7a2c-9b1d-4e3f-8a5b-6c7d8e9f0a1b';

function baseSpec(overrides: Partial<VmSpec> = {}): VmSpec {
  // Parsed, so every fixture is also a valid VmSpec by the contract's own rules.
  return vmSpecSchema.parse({
    vmId: VM,
    tenantId: TENANT,
    name: 'web-1',
    specRevision: 4,
    vcpus: 2,
    memoryMiB: 512,
    cpu: { shares: 2048, quotaUs: 50000, periodUs: 100000 },
    memtune: { hardLimitMiB: 768, softLimitMiB: 512 },
    blkio: { weight: 500 },
    disks: [
      {
        id: 'a3f1c0de-0000-4000-8000-000000000001',
        volumeId: '9c1e7d2a-4b3f-4e5d-8a6b-000000000002',
        path: '/var/lib/palisade/volumes/9c1e7d2a-4b3f-4e5d-8a6b-000000000002.qcow2',
        format: 'qcow2',
        bus: 'virtio',
        encrypted: { secretUuid: '3f2504e0-4f89-41d3-9a0c-0305e82c3301' },
        iotune: { totalIops: 2000, totalBytesSec: 104857600 },
      },
      {
        id: 'a3f1c0de-0000-4000-8000-000000000004',
        volumeId: '9c1e7d2a-4b3f-4e5d-8a6b-000000000005',
        path: '/var/lib/palisade/volumes/9c1e7d2a-4b3f-4e5d-8a6b-000000000005.qcow2',
        format: 'qcow2',
        bus: 'virtio',
        encrypted: { secretUuid: '3f2504e0-4f89-41d3-9a0c-0305e82c3302' },
        iotune: {},
      },
    ],
    seed: { path: `/var/lib/palisade/seeds/${VM}.img` },
    nics: [
      {
        id: 'a3f1c0de-0000-4000-8000-000000000003',
        mac: '52:54:00:6b:0d:3f',
        bridge: 'pbr-vx4097',
        ip: '10.20.0.5',
        bandwidth: { averageKBps: 12500, peakKBps: 25000, burstKB: 1024 },
      },
    ],
    isolation: { svirt: 'required', mcs: { c1: 12, c2: 845 } },
    console: { vnc: 'loopback' },
    boot: { kind: 'disk' },
    ...overrides,
  });
}

const SELINUX_KVM: HostSecurity = {
  securityDriver: 'selinux',
  allowWeakerIsolation: false,
  acceleration: 'kvm',
};
const SELINUX_TCG: HostSecurity = { ...SELINUX_KVM, acceleration: 'tcg' };
const APPARMOR_KVM: HostSecurity = {
  securityDriver: 'apparmor',
  allowWeakerIsolation: false,
  acceleration: 'kvm',
};
/** The machines this project is developed on: no MAC driver, KVM unusable, TCG only. */
const NONE_TCG: HostSecurity = {
  securityDriver: 'none',
  allowWeakerIsolation: false,
  acceleration: 'tcg',
};

function designed(spec: VmSpec, host: HostSecurity, options?: DesignOptions) {
  const r = designDomain(spec, host, options);
  if (!r.ok) throw new Error(`expected a domain, got a refusal: ${r.reason}`);
  return r;
}

interface GoldenCase {
  name: string;
  spec: VmSpec;
  host: HostSecurity;
  options?: DesignOptions;
}

const goldenCases: GoldenCase[] = [
  { name: 'designer-selinux-kvm', spec: baseSpec(), host: SELINUX_KVM },
  {
    name: 'designer-selinux-tcg-memtune-xml',
    spec: baseSpec(),
    host: SELINUX_TCG,
    options: { memoryHardLimit: 'domain-xml' },
  },
  {
    name: 'designer-apparmor-kvm',
    spec: baseSpec({ console: { vnc: 'unix', vncSocketPath: `/run/palisade/vnc/${VM}.sock` } }),
    host: APPARMOR_KVM,
  },
  {
    name: 'designer-none-allowed-weaker',
    spec: baseSpec(),
    host: { ...NONE_TCG, allowWeakerIsolation: true },
  },
  {
    name: 'designer-none-preferred',
    spec: baseSpec({ isolation: { svirt: 'preferred', mcs: { c1: 12, c2: 845 } } }),
    host: NONE_TCG,
  },
  {
    name: 'designer-kernel-boot-tcg',
    spec: baseSpec({
      disks: [],
      nics: [],
      memtune: undefined,
      isolation: { svirt: 'preferred', mcs: { c1: 0, c2: 1023 } },
      console: { vnc: 'none' },
      boot: {
        kind: 'kernel',
        kernel: '/var/lib/palisade/images/tiny/vmlinuz',
        initrd: '/var/lib/palisade/images/tiny/initrd.img',
        cmdline: 'console=ttyS0 panic=-1 quiet',
      },
    }),
    host: NONE_TCG,
  },
  {
    name: 'designer-boot-order-q35',
    spec: baseSpec({
      machine: 'q35',
      disks: baseSpec().disks.map((d, i) => ({ ...d, bootOrder: 2 - i })),
    }),
    host: SELINUX_KVM,
  },
];

describe('designDomain golden XML', () => {
  for (const c of goldenCases) {
    describe(c.name, () => {
      const r = designed(c.spec, c.host, c.options);

      it(`writes __golden__/${c.name}.xml`, () => {
        expectGolden(path.join(GOLDEN, `${c.name}.xml`), r.xml);
      });

      it("is accepted by libvirt's domain schema", async () => {
        const v = await validateDomainXml(r.xml);
        expect(v.valid, v.output).toBe(true);
      });

      it('parses back to the designed domain', () => {
        expect(parseDomainXml(r.xml)).toEqual(r.domain);
      });

      it('is deterministic', () => {
        expect(designed(c.spec, c.host, c.options).xml).toBe(r.xml);
      });

      it('keeps VNC off the network and nested virtualisation off', () => {
        for (const g of r.domain.devices.graphics) expect(isLocalOnly(g)).toBe(true);
        expect(r.xml).not.toContain('0.0.0.0');
        expect(r.domain.cpu?.features).toEqual(
          expect.arrayContaining([
            { policy: 'disable', name: 'vmx' },
            { policy: 'disable', name: 'svm' },
          ]),
        );
        expect(r.isolation.nestedVirtualisation).toBe('disabled');
      });

      it('records who the domain belongs to in its metadata', () => {
        expect(parsePalisadeMetadata(r.xml)).toMatchObject({
          vmId: c.spec.vmId,
          tenantId: c.spec.tenantId,
          specRevision: c.spec.specRevision,
          name: c.spec.name,
        });
      });
    });
  }
});

describe('sVirt', () => {
  it('SELinux hosts get a static label with the cluster-unique MCS pair on process and images', () => {
    const r = designed(baseSpec(), SELINUX_KVM);
    expect(r.domain.seclabels).toEqual([
      {
        type: 'static',
        model: 'selinux',
        relabel: true,
        label: 'system_u:system_r:svirt_t:s0:c12,c845',
        imagelabel: 'system_u:object_r:svirt_image_t:s0:c12,c845',
      },
    ]);
    expect(r.xml).toContain(
      "<seclabel type='static' model='selinux' relabel='yes'>\n    <label>system_u:system_r:svirt_t:s0:c12,c845</label>",
    );
    expect(r.isolation.svirt.applied).toEqual({
      model: 'selinux',
      type: 'static',
      processLabel: 'system_u:system_r:svirt_t:s0:c12,c845',
      imageLabel: 'system_u:object_r:svirt_image_t:s0:c12,c845',
      mcs: { c1: 12, c2: 845 },
    });
    expect(r.isolation.weakened).toEqual([]);
  });

  it('a preferring VM on a SELinux host is labelled all the same', () => {
    const r = designed(
      baseSpec({ isolation: { svirt: 'preferred', mcs: { c1: 1, c2: 2 } } }),
      SELINUX_KVM,
    );
    expect(r.domain.seclabels[0]?.label).toBe(selinuxLabels({ c1: 1, c2: 2 }).process);
  });

  it('AppArmor hosts get a dynamic AppArmor label whose profile is named after the domain UUID', () => {
    const r = designed(baseSpec(), APPARMOR_KVM);
    expect(r.domain.seclabels).toEqual([{ type: 'dynamic', model: 'apparmor', relabel: true }]);
    expect(r.isolation.svirt.applied).toEqual({
      model: 'apparmor',
      type: 'dynamic',
      profile: `libvirt-${VM}`,
    });
    expect(r.domain.uuid).toBe(VM);
    expect(r.isolation.weakened).toEqual([]);
    expect(r.isolation.notes.join(' ')).toMatch(/MCS category pair is not used/);
  });

  it('a VM that requires sVirt is refused on a host with no MAC driver, and no domain is produced', () => {
    const r: DesignResult = designDomain(baseSpec(), NONE_TCG);
    expect(r).toEqual({
      ok: false,
      mechanism: 'svirt',
      requirement: 'required',
      hostDriver: 'none',
      reason: expect.stringMatching(
        /requires sVirt.*neither SELinux nor AppArmor.*not marked as allowing weaker isolation/,
      ),
    });
    expect(r).not.toHaveProperty('xml');
  });

  it('the operator allowing weaker isolation lets it run unlabelled, and the summary says so', () => {
    const r = designed(baseSpec(), { ...NONE_TCG, allowWeakerIsolation: true });
    expect(r.domain.seclabels).toEqual([]);
    expect(r.xml).not.toContain('<seclabel');
    expect(r.isolation.svirt).toEqual({
      requirement: 'required',
      hostDriver: 'none',
      applied: null,
    });
    expect(r.isolation.weakened).toEqual([
      { mechanism: 'svirt', reason: expect.stringMatching(/operator allowed weaker isolation/) },
    ]);
  });

  it('a VM that only prefers sVirt runs unlabelled on such a host, and the summary says why', () => {
    const r = designed(
      baseSpec({ isolation: { svirt: 'preferred', mcs: { c1: 1, c2: 2 } } }),
      NONE_TCG,
    );
    expect(r.domain.seclabels).toEqual([]);
    expect(r.isolation.weakened).toEqual([
      { mechanism: 'svirt', reason: expect.stringMatching(/only prefers sVirt/) },
    ]);
  });
});

describe('cgroups', () => {
  it('writes cputune, blkiotune, per-disk iotune, interface bandwidth and the tenant partition', () => {
    const r = designed(baseSpec(), SELINUX_KVM);
    expect(r.domain.cputune).toEqual({ shares: 2048, period: 100000, quota: 50000 });
    expect(r.domain.blkiotune).toEqual({ weight: 500 });
    expect(r.domain.devices.disks[0]?.iotune).toEqual({
      totalIopsSec: 2000,
      totalBytesSec: 104857600,
    });
    expect(r.domain.devices.disks[1]?.iotune).toBeUndefined();
    expect(r.domain.devices.interfaces[0]?.bandwidth).toEqual({
      inbound: { average: 12500, peak: 25000, burst: 1024 },
      outbound: { average: 12500, peak: 25000, burst: 1024 },
    });
    expect(r.domain.resource).toEqual({
      partition: '/machine/palisade-0e4f7a2c9b1d4e3f8a5b6c7d8e9f0a1b',
    });
  });

  it('by default leaves hard_limit out of the XML and returns it as a live post-start step', () => {
    const r = designed(baseSpec(), SELINUX_KVM);
    expect(r.xml).not.toContain('hard_limit');
    expect(r.domain.memtune).toEqual({ softLimitKiB: 512 * 1024 });
    expect(r.postStart).toEqual([
      {
        kind: 'set-memory-hard-limit',
        hardLimitKiB: 768 * 1024,
        why: expect.stringMatching(/RLIMIT_MEMLOCK/),
      },
    ]);
    expect(r.isolation.cgroups.memory).toEqual({
      hardLimitKiB: 768 * 1024,
      hardLimitVia: 'post-start',
      softLimitKiB: 512 * 1024,
    });
  });

  it("with memoryHardLimit 'domain-xml' writes hard_limit and needs no post-start step", () => {
    const r = designed(baseSpec(), SELINUX_KVM, { memoryHardLimit: 'domain-xml' });
    expect(r.domain.memtune).toEqual({ hardLimitKiB: 768 * 1024, softLimitKiB: 512 * 1024 });
    expect(r.xml).toContain("<hard_limit unit='KiB'>786432</hard_limit>");
    expect(r.postStart).toEqual([]);
  });

  it('omits <memtune> entirely when only a post-start hard limit is set', () => {
    const r = designed(baseSpec({ memtune: { hardLimitMiB: 768 } }), SELINUX_KVM);
    expect(r.domain.memtune).toBeUndefined();
    expect(r.xml).not.toContain('<memtune');
  });

  it('tenant partitions are one per tenant and contain only safe characters', () => {
    expect(tenantPartition(TENANT)).toMatch(/^\/machine\/palisade-[0-9a-f]{32}$/);
    expect(tenantPartition(TENANT.toUpperCase())).toBe(tenantPartition(TENANT));
  });
});

describe('disks', () => {
  it('every volume is a virtio qcow2 with LUKS via a libvirt secret, cache=none, discard=unmap', () => {
    const r = designed(baseSpec(), SELINUX_KVM);
    const [d0, d1] = r.domain.devices.disks;
    expect(d0).toMatchObject({
      device: 'disk',
      driver: { type: 'qcow2', cache: 'none', discard: 'unmap' },
      target: { dev: 'vda', bus: 'virtio' },
      encryption: { format: 'luks', secretUuid: '3f2504e0-4f89-41d3-9a0c-0305e82c3301' },
      serial: '4e5d8a6b000000000002',
      alias: 'ua-a3f1c0de-0000-4000-8000-000000000001',
    });
    expect(d1?.target.dev).toBe('vdb');
    expect(d1?.serial).toBe('4e5d8a6b000000000005');
    expect(r.isolation.storage.map((s) => s.encryption)).toEqual(['luks', 'luks']);
  });

  it('the NoCloud seed is the last disk, raw and read-only', () => {
    const r = designed(baseSpec(), SELINUX_KVM);
    expect(r.domain.devices.disks.at(-1)).toEqual({
      device: 'disk',
      driver: { type: 'raw' },
      sourceFile: `/var/lib/palisade/seeds/${VM}.img`,
      target: { dev: 'vdc', bus: 'virtio' },
      readonly: true,
      alias: 'ua-seed',
    });
  });

  it('an unencrypted disk is allowed by the spec but listed as weakened', () => {
    const spec = baseSpec();
    spec.disks[1]!.encrypted = null;
    const r = designed(spec, SELINUX_KVM);
    expect(r.domain.devices.disks[1]?.encryption).toBeUndefined();
    expect(r.isolation.weakened).toEqual([
      { mechanism: 'disk-encryption', reason: `disk ${spec.disks[1]!.id} is not encrypted` },
    ]);
  });

  it('a host that cannot shape bandwidth gets no <bandwidth> and the VM lists the weakening', () => {
    const host = { ...SELINUX_KVM, bandwidthUnenforceable: 'kernel lacks sfq' };
    const r = designed(baseSpec(), host);
    expect(r.domain.devices.interfaces.map((i) => i.bandwidth)).toEqual([undefined]);
    expect(r.xml).not.toContain('<bandwidth');
    expect(r.isolation.weakened).toEqual([
      { mechanism: 'bandwidth', reason: 'bandwidth limit not enforced: kernel lacks sfq' },
    ]);
    // Everything else is what a shaping host gets: only the limit is gone.
    const full = designed(baseSpec(), SELINUX_KVM);
    expect(full.xml).toContain('<bandwidth>');
    expect(r.domain.devices.interfaces.map(({ bandwidth: _b, ...rest }) => rest)).toEqual(
      full.domain.devices.interfaces.map(({ bandwidth: _b, ...rest }) => rest),
    );
    expect(r.domain.seclabels).toEqual(full.domain.seclabels);
  });

  it('a VM without NICs is not weakened by a host that cannot shape bandwidth', () => {
    const r = designed(baseSpec({ nics: [] }), {
      ...SELINUX_KVM,
      bandwidthUnenforceable: 'kernel lacks sfq',
    });
    expect(r.isolation.weakened).toEqual([]);
  });

  it('per-disk boot order replaces <os><boot dev>, which libvirt refuses alongside it', () => {
    const spec = baseSpec({ disks: baseSpec().disks.map((d, i) => ({ ...d, bootOrder: i + 1 })) });
    const r = designed(spec, SELINUX_KVM);
    expect(r.domain.os.bootDevs).toEqual([]);
    expect(r.domain.devices.disks.map((d) => d.bootOrder)).toEqual([1, 2, undefined]);
    expect(designed(baseSpec(), SELINUX_KVM).domain.os.bootDevs).toEqual(['hd']);
  });

  it('names virtio disks vda..vdz then vdaa', () => {
    expect([0, 1, 25, 26, 27, 701, 702].map(virtioDiskName)).toEqual([
      'vda',
      'vdb',
      'vdz',
      'vdaa',
      'vdab',
      'vdzz',
      'vdaaa',
    ]);
  });

  it('escapes paths with XML metacharacters and the schema still accepts them', async () => {
    const spec = baseSpec();
    spec.disks[0]!.path = `/srv/a&b/<x>/it's "q".qcow2`;
    const r = designed(spec, SELINUX_KVM);
    expect(r.xml).toContain(
      "<source file='/srv/a&amp;b/&lt;x&gt;/it&apos;s &quot;q&quot;.qcow2'/>",
    );
    expect(parseDomainXml(r.xml).devices.disks[0]?.sourceFile).toBe(spec.disks[0]!.path);
    const v = await validateDomainXml(r.xml);
    expect(v.valid, v.output).toBe(true);
  });
});

describe('network', () => {
  it('a bridge NIC with the fixed MAC, virtio, and clean-traffic bound to the allocated IP', () => {
    const r = designed(baseSpec(), SELINUX_KVM);
    expect(r.domain.devices.interfaces).toEqual([
      {
        mac: '52:54:00:6b:0d:3f',
        sourceBridge: 'pbr-vx4097',
        model: 'virtio',
        filterref: { filter: 'clean-traffic', parameters: [{ name: 'IP', value: '10.20.0.5' }] },
        bandwidth: {
          inbound: { average: 12500, peak: 25000, burst: 1024 },
          outbound: { average: 12500, peak: 25000, burst: 1024 },
        },
        alias: 'ua-a3f1c0de-0000-4000-8000-000000000003',
      },
    ]);
    expect(r.isolation.network).toEqual([
      {
        nicId: 'a3f1c0de-0000-4000-8000-000000000003',
        bridge: 'pbr-vx4097',
        mac: '52:54:00:6b:0d:3f',
        ip: '10.20.0.5',
        filter: 'clean-traffic',
        averageKBps: 12500,
      },
    ]);
  });
});

describe('consoles and CPU', () => {
  it('always has a serial pty console', () => {
    const r = designed(baseSpec({ console: { vnc: 'none' } }), SELINUX_KVM);
    expect(r.domain.devices.serials).toEqual([{ type: 'pty', targetPort: 0 }]);
    expect(r.domain.devices.consoles).toEqual([
      { type: 'pty', targetType: 'serial', targetPort: 0 },
    ]);
    expect(r.domain.devices.graphics).toEqual([]);
  });

  it('VNC listens on 127.0.0.1 or on the unix socket, nowhere else', () => {
    expect(designed(baseSpec(), SELINUX_KVM).domain.devices.graphics).toEqual([
      { type: 'vnc', autoport: true, listens: [{ type: 'address', address: '127.0.0.1' }] },
    ]);
    const sock = '/run/palisade/vnc/x.sock';
    expect(
      designed(baseSpec({ console: { vnc: 'unix', vncSocketPath: sock } }), SELINUX_KVM).domain
        .devices.graphics,
    ).toEqual([{ type: 'vnc', listens: [{ type: 'socket', socket: sock }] }]);
  });

  it("KVM gets <domain type='kvm'> and host-model; TCG gets type='qemu' and qemu64; nothing else differs", () => {
    const kvm = designed(baseSpec(), SELINUX_KVM).domain;
    const tcg = designed(baseSpec(), SELINUX_TCG).domain;
    expect(kvm.type).toBe('kvm');
    expect(tcg.type).toBe('qemu');
    expect(kvm.cpu).toEqual({
      mode: 'host-model',
      features: [
        { policy: 'disable', name: 'vmx' },
        { policy: 'disable', name: 'svm' },
      ],
    });
    expect(tcg.cpu).toEqual({
      mode: 'custom',
      match: 'exact',
      check: 'none',
      model: { name: 'qemu64', fallback: 'forbid' },
      features: [
        { policy: 'disable', name: 'vmx' },
        { policy: 'disable', name: 'svm' },
      ],
    });
    expect({ ...tcg, type: 'kvm', cpu: kvm.cpu }).toEqual(kvm);
  });

  it('direct kernel boot sets kernel, initrd and cmdline and no boot device', () => {
    const spec = goldenCases.find((c) => c.name === 'designer-kernel-boot-tcg')!.spec;
    const r = designed(spec, NONE_TCG);
    expect(r.domain.os).toEqual({
      type: 'hvm',
      arch: 'x86_64',
      machine: 'pc',
      bootDevs: [],
      kernel: '/var/lib/palisade/images/tiny/vmlinuz',
      initrd: '/var/lib/palisade/images/tiny/initrd.img',
      cmdline: 'console=ttyS0 panic=-1 quiet',
    });
    expect(r.domain.devices.disks).toHaveLength(1); // only the seed
  });
});

describe('identity', () => {
  it("the domain is named after the VM ID and titled with the tenant's name for it", () => {
    const r = designed(baseSpec(), SELINUX_KVM);
    expect(r.domain.name).toBe(domainNameFor(VM));
    expect(r.domain.uuid).toBe(VM);
    expect(r.domain.title).toBe('web-1');
  });

  it('the metadata maps disks to volumes and NICs to MACs, so the agent can rebuild its view', () => {
    const r = designed(baseSpec(), SELINUX_KVM);
    expect(parsePalisadeMetadata(r.xml)).toEqual({
      vmId: VM,
      tenantId: TENANT,
      specRevision: 4,
      name: 'web-1',
      disks: [
        {
          id: 'a3f1c0de-0000-4000-8000-000000000001',
          volumeId: '9c1e7d2a-4b3f-4e5d-8a6b-000000000002',
          target: 'vda',
        },
        {
          id: 'a3f1c0de-0000-4000-8000-000000000004',
          volumeId: '9c1e7d2a-4b3f-4e5d-8a6b-000000000005',
          target: 'vdb',
        },
      ],
      nics: [{ id: 'a3f1c0de-0000-4000-8000-000000000003', mac: '52:54:00:6b:0d:3f' }],
    });
  });
});
