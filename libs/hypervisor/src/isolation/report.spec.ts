// The report reads what it claims from the files and tools it names. Here cgroupfs is a directory
// tree laid out like libvirt's cgroup v1 machine hierarchy (the functional test reads the real
// one), and the images are real: a LUKS qcow2 and a raw seed made with qemu-img.
import { isolationReportSchema } from '@palisade/contracts';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { collectIsolationReport, parseNwfilterBindingList } from './report';

let dir: string;
const liveXml = (d: string) => `<domain type='qemu' id='7'>
  <name>palisade-0b6f7f2e-4c3a-4f0e-9d7b-2a1f5e8c9d01</name>
  <uuid>0b6f7f2e-4c3a-4f0e-9d7b-2a1f5e8c9d01</uuid>
  <memory unit='KiB'>196608</memory>
  <vcpu placement='static'>2</vcpu>
  <resource><partition>/machine/palisade-abc</partition></resource>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <features><acpi/><apic/></features>
  <clock offset='utc'/>
  <on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>
  <devices>
    <disk type='file' device='disk'>
      <driver name='qemu' type='qcow2' cache='none'/>
      <source file='${d}/data.qcow2'/>
      <target dev='vda' bus='virtio'/>
    </disk>
    <disk type='file' device='disk'>
      <driver name='qemu' type='raw'/>
      <source file='${d}/seed.img'/>
      <target dev='vdb' bus='virtio'/>
      <readonly/>
    </disk>
    <interface type='bridge'>
      <mac address='52:54:00:aa:bb:01'/>
      <source bridge='br1001'/>
      <target dev='palnotatap0'/>
      <model type='virtio'/>
      <filterref filter='clean-traffic'><parameter name='IP' value='10.11.0.11'/></filterref>
    </interface>
  </devices>
  <seclabel type='dynamic' model='dac' relabel='yes'><label>+64055:+994</label><imagelabel>+64055:+994</imagelabel></seclabel>
</domain>`;

beforeAll(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'palisade-isolation-'));
  const cg = (c: string, ...p: string[]) =>
    path.join(
      dir,
      'cg',
      c,
      'machine',
      'palisade-abc.partition',
      'qemu-7-palisade-0b6f7f2e-4c3a-4f0e-9d7b-2a1f5e8c9d01.libvirt-qemu',
      ...p,
    );
  const put = (file: string, text: string) => {
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, `${text}\n`);
  };
  put(cg('cpu', 'cpu.shares'), '512');
  for (const v of ['vcpu0', 'vcpu1']) {
    put(cg('cpu', v, 'cpu.cfs_quota_us'), '50000');
    put(cg('cpu', v, 'cpu.cfs_period_us'), '100000');
  }
  put(cg('memory', 'memory.limit_in_bytes'), String(1024 ** 3));
  put(cg('memory', 'memory.soft_limit_in_bytes'), '9223372036854771712');
  writeFileSync(path.join(dir, 'key'), 'k'.repeat(32));
  execFileSync('qemu-img', [
    'create',
    '-q',
    '-f',
    'qcow2',
    '--object',
    `secret,id=s0,file=${path.join(dir, 'key')}`,
    '-o',
    // A short PBKDF2 time: QEMU's default 2 s per key slot pushed this hook past its timeout on
    // a loaded 2-core machine, and the report only reads the header.
    'encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=50',
    path.join(dir, 'data.qcow2'),
    '16M',
  ]);
  execFileSync('qemu-img', ['create', '-q', '-f', 'raw', path.join(dir, 'seed.img'), '1M']);
});

afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('collectIsolationReport', () => {
  it('reports what cgroupfs, the live XML, nwfilter and qemu-img say, each with its source', async () => {
    const report = await collectIsolationReport({
      liveXml: liveXml(dir),
      cgroupRoot: path.join(dir, 'cg'),
      nwfilterBindings: async () => [{ port: 'palnotatap0', filter: 'clean-traffic' }],
      now: () => new Date('2026-01-01T00:00:00Z'),
    });
    expect(isolationReportSchema.parse(report)).toEqual(report);
    expect(report.cgroups.path).toBe(
      'machine/palisade-abc.partition/qemu-7-palisade-0b6f7f2e-4c3a-4f0e-9d7b-2a1f5e8c9d01.libvirt-qemu',
    );
    expect(report.cgroups.cpuShares.value).toBe(512);
    expect(report.cgroups.cpuShares.source).toMatch(/cpu\/machine\/.*\/cpu\.shares$/);
    expect(report.cgroups.vcpus.map((v) => [v.vcpu, v.quotaUs, v.periodUs])).toEqual([
      [0, 50000, 100000],
      [1, 50000, 100000],
    ]);
    expect(report.cgroups.memoryHardLimitBytes.value).toBe(1024 ** 3);
    expect(report.cgroups.memorySoftLimitBytes.value).toBeNull(); // unlimited
    expect(report.cgroups.blkioWeight).toMatchObject({
      value: null,
      source: expect.stringMatching(/not present/),
    });
    expect(report.seclabels).toEqual([
      expect.objectContaining({ model: 'dac', type: 'dynamic', label: '+64055:+994' }),
    ]);
    expect(report.network).toEqual([
      expect.objectContaining({
        tap: 'palnotatap0',
        bridge: expect.objectContaining({ value: null }), // no such tap in this namespace
        filter: expect.objectContaining({ value: 'clean-traffic' }),
        filterParameters: { IP: '10.11.0.11' },
        binding: expect.objectContaining({ value: 'clean-traffic' }),
      }),
    ]);
    expect(report.storage.map((s) => [s.target, s.format, s.encryption.value, s.readonly])).toEqual(
      [
        ['vda', 'qcow2', 'luks', false],
        ['vdb', 'raw', 'none', true],
      ],
    );
    expect(report.storage[0]!.encryption.source).toContain('qemu-img info');
    // The fixture is this machine's: dac only and no <bandwidth>. The seed is unencrypted but
    // read-only, so it is no weakening.
    expect(report.network[0]!.bandwidth).toEqual({
      value: null,
      source: expect.stringContaining('<bandwidth>'),
    });
    expect(report.weakenings.map((w) => [w.mechanism, w.reason])).toEqual([
      ['svirt', 'no SELinux or AppArmor label: the VM runs without mandatory access control'],
      ['bandwidth', 'bandwidth limit not enforced: the interface has no <bandwidth>'],
    ]);
  });

  it('names the reason the host gave for a NIC without <bandwidth>, and none for one with it', async () => {
    const common = {
      cgroupRoot: path.join(dir, 'cg'),
      nwfilterBindings: async () => [],
      bandwidthUnenforceable: 'kernel lacks sfq',
    };
    const unshaped = await collectIsolationReport({ ...common, liveXml: liveXml(dir) });
    expect(unshaped.weakenings).toContainEqual({
      mechanism: 'bandwidth',
      reason: 'bandwidth limit not enforced: kernel lacks sfq',
      source:
        'live domain XML of palisade-0b6f7f2e-4c3a-4f0e-9d7b-2a1f5e8c9d01: interface 52:54:00:aa:bb:01 has no <bandwidth>',
    });
    const shapedXml = liveXml(dir)
      .replace(
        "<model type='virtio'/>",
        "<model type='virtio'/><bandwidth><inbound average='1000'/><outbound average='2000'/></bandwidth>",
      )
      .replace(
        "<seclabel type='dynamic' model='dac'",
        "<seclabel type='static' model='selinux' relabel='yes'><label>system_u:system_r:svirt_t:s0:c1,c2</label><imagelabel>system_u:object_r:svirt_image_t:s0:c1,c2</imagelabel></seclabel><seclabel type='dynamic' model='dac'",
      );
    const shaped = await collectIsolationReport({ ...common, liveXml: shapedXml });
    expect(shaped.network[0]!.bandwidth?.value).toEqual({
      inboundAverageKBps: 1000,
      outboundAverageKBps: 2000,
    });
    expect(shaped.weakenings).toEqual([]);
  });

  it('names a writable unencrypted disk', async () => {
    const xml = liveXml(dir)
      .replace(`${dir}/data.qcow2`, `${dir}/seed.img`)
      .replace("type='qcow2'", "type='raw'");
    const report = await collectIsolationReport({
      liveXml: xml,
      cgroupRoot: path.join(dir, 'cg'),
      nwfilterBindings: async () => [],
    });
    expect(report.weakenings).toContainEqual(
      expect.objectContaining({
        mechanism: 'disk-encryption',
        reason: 'disk vda is not encrypted',
      }),
    );
  });

  it('says where it looked when the domain has no cgroup (not running)', async () => {
    const report = await collectIsolationReport({
      liveXml: liveXml(dir),
      cgroupRoot: path.join(dir, 'nothing-here'),
      nwfilterBindings: async () => [],
    });
    expect(report.cgroups.path).toBeNull();
    expect(report.cgroups.cpuShares).toEqual({ value: null, source: 'domain cgroup not found' });
    expect(report.network[0]!.binding.value).toBeNull();
  });
});

describe('parseNwfilterBindingList', () => {
  it('reads port and filter from virsh table output', () => {
    const text =
      ' Port Dev   Filter\n---------------------------\n vnet0      clean-traffic\n vnet1      clean-traffic\n\n';
    expect(parseNwfilterBindingList(text)).toEqual([
      { port: 'vnet0', filter: 'clean-traffic' },
      { port: 'vnet1', filter: 'clean-traffic' },
    ]);
  });
});
