// LinuxSegments against the real kernel, inside two network namespaces of the testkit's lab
// (never the root namespace): VXLAN segments converge idempotently, carry traffic between the two
// "hosts" over the underlay, repair drift, refuse removal while a tap is attached and disappear
// once empty. Needs root, iproute2 and busybox (ping; the stack tool installs busybox-static). The VLAN case runs only where the kernel has 802.1Q.
import { createNetnsLab, type NetnsLab } from '@palisade/testkit';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { hypervisorErrorKind } from '../contract/errors';
import type { SegmentSpec } from '../hypervisor';
import { LinuxSegments, probeVlanSupport } from './linux-segments';

const exec = promisify(execFile);
const ip = async (ns: string, ...args: string[]) =>
  (await exec('ip', ['-n', ns, ...args], { encoding: 'utf8' })).stdout;

let lab: NetnsLab;
let h1: { ns: string; segs: LinuxSegments; ip: string };
let h2: { ns: string; segs: LinuxSegments; ip: string };

const vxlanOn = (local: string, remote: string, vni = 4242): SegmentSpec => ({
  bridge: `br${vni}`,
  uplink: {
    kind: 'vxlan',
    vni,
    device: `vx${vni}`,
    localIp: local,
    underlayDev: 'ul0',
    remotes: [remote],
    dstPort: 4789,
  },
  mtu: 1450,
});

beforeAll(async () => {
  lab = await createNetnsLab({ libvirt: false, log: (l) => console.log(`[lab] ${l}`) });
  const [a, b] = lab.hosts;
  h1 = { ns: a!.netns, segs: new LinuxSegments({ netns: a!.netns }), ip: a!.underlayIp };
  h2 = { ns: b!.netns, segs: new LinuxSegments({ netns: b!.netns }), ip: b!.underlayIp };
}, 120_000);

afterAll(async () => {
  await lab?.dispose();
}, 120_000);

describe('LinuxSegments (VXLAN, in network namespaces)', () => {
  it('creates the segment once; a second call runs nothing', async () => {
    const first = await h1.segs.ensureSegment(vxlanOn(h1.ip, h2.ip));
    expect(first.length).toBeGreaterThan(0);
    expect(await h1.segs.ensureSegment(vxlanOn(h1.ip, h2.ip))).toEqual([]);
    const vx = JSON.parse(await ip(h1.ns, '-d', '-j', 'link', 'show', 'vx4242'))[0];
    expect(vx.master).toBe('br4242');
    expect(vx.mtu).toBe(1450);
    expect(vx.linkinfo.info_data).toMatchObject({
      id: 4242,
      local: h1.ip,
      port: 4789,
      link: 'ul0',
    });
    expect(await ip(h1.ns, 'link', 'show', 'br4242')).toContain('state UP');
    // The reconciler's inventory: the bridge is listed in its namespace, and only there.
    expect(await h1.segs.listBridges()).toEqual(['br4242']);
    expect(await h2.segs.listBridges()).toEqual([]);
  });

  it('carries traffic between the two hosts over the underlay', async () => {
    await h2.segs.ensureSegment(vxlanOn(h2.ip, h1.ip));
    // Addresses on the bridges themselves stand in for guests: the frames still cross vx4242.
    await ip(h1.ns, 'addr', 'add', '10.42.0.1/24', 'dev', 'br4242');
    await ip(h2.ns, 'addr', 'add', '10.42.0.2/24', 'dev', 'br4242');
    const { stdout } = await exec(
      'ip',
      ['netns', 'exec', h1.ns, 'busybox', 'ping', '-c', '3', '-W', '5', '10.42.0.2'],
      {
        encoding: 'utf8',
      },
    );
    expect(stdout).toMatch(/3 packets transmitted, 3 (packets )?received/);
    await ip(h1.ns, 'addr', 'del', '10.42.0.1/24', 'dev', 'br4242');
    await ip(h2.ns, 'addr', 'del', '10.42.0.2/24', 'dev', 'br4242');
  });

  it('repairs drift: a wrong MTU in place, a wrong VNI by re-creating the uplink, a stale remote', async () => {
    await ip(h1.ns, 'link', 'set', 'vx4242', 'mtu', '1400');
    await ip(h1.ns, 'link', 'del', 'vx4242');
    await ip(
      h1.ns,
      'link',
      'add',
      'vx4242',
      'type',
      'vxlan',
      'id',
      '99',
      'local',
      h1.ip,
      'dstport',
      '4789',
      'dev',
      'ul0',
    );
    await ip(h1.ns, 'link', 'set', 'vx4242', 'master', 'br4242');
    await exec('bridge', [
      '-n',
      h1.ns,
      'fdb',
      'append',
      '00:00:00:00:00:00',
      'dev',
      'vx4242',
      'dst',
      '192.0.2.77',
    ]);
    const steps = (await h1.segs.ensureSegment(vxlanOn(h1.ip, h2.ip))).map((s) => s.argv.join(' '));
    expect(steps[0]).toBe('ip link del vx4242');
    expect(steps).toContain('bridge fdb append 00:00:00:00:00:00 dev vx4242 dst 192.0.2.2');
    const vx = JSON.parse(await ip(h1.ns, '-d', '-j', 'link', 'show', 'vx4242'))[0];
    expect(vx.linkinfo.info_data.id).toBe(4242);
    const fdb = JSON.parse(
      (await exec('bridge', ['-n', h1.ns, '-j', 'fdb', 'show', 'dev', 'vx4242'])).stdout,
    );
    expect(
      fdb
        .filter((e: { mac: string }) => e.mac === '00:00:00:00:00:00')
        .map((e: { dst: string }) => e.dst),
    ).toEqual(['192.0.2.2']);
    expect(await h1.segs.ensureSegment(vxlanOn(h1.ip, h2.ip))).toEqual([]);
  });

  it('refuses a non-bridge device under the bridge name and leaves it in place', async () => {
    await ip(h1.ns, 'tuntap', 'add', 'mode', 'tap', 'name', 'br4343');
    const e = await h1.segs.ensureSegment(vxlanOn(h1.ip, h2.ip, 4343)).catch((x: unknown) => x);
    expect(hypervisorErrorKind(e)).toBe('segment_conflict');
    expect(await ip(h1.ns, 'link', 'show', 'br4343')).toContain('br4343');
    expect(await ip(h1.ns, 'link', 'show')).not.toContain('vx4343');
    await ip(h1.ns, 'link', 'del', 'br4343');
  });

  it('refuses removal while a tap is attached, then removes uplink and bridge once empty', async () => {
    await ip(h1.ns, 'tuntap', 'add', 'mode', 'tap', 'name', 'vnet77');
    await ip(h1.ns, 'link', 'set', 'vnet77', 'master', 'br4242');
    expect(await h1.segs.listBridges()).toContain('br4242');
    const e = await h1.segs.removeSegment('br4242').catch((x: unknown) => x);
    expect(hypervisorErrorKind(e)).toBe('segment_in_use');
    expect(await ip(h1.ns, 'link', 'show', 'vx4242')).toContain('master br4242');
    await ip(h1.ns, 'link', 'del', 'vnet77');
    await h1.segs.removeSegment('br4242');
    const names = JSON.parse(await ip(h1.ns, '-j', 'link', 'show')).map(
      (l: { ifname: string }) => l.ifname,
    );
    expect(names).not.toContain('br4242');
    expect(names).not.toContain('vx4242');
    expect(await h1.segs.listBridges()).not.toContain('br4242');
    expect(await h1.segs.removeSegment('br4242')).toEqual([]);
  });
});

describe('LinuxSegments (VLAN)', () => {
  it('creates <trunk>.<vid> as the bridge port, where the kernel has 802.1Q', async (ctx) => {
    const probe = await probeVlanSupport(h2.ns);
    if (!probe.supported) {
      console.log(
        `[skip] live VLAN segment: this kernel cannot create VLAN devices (${probe.reason})`,
      );
      ctx.skip();
      return;
    }
    const spec: SegmentSpec = {
      bridge: 'br300',
      uplink: { kind: 'vlan', vid: 300, trunkDev: 'ul0' },
    };
    expect((await h2.segs.ensureSegment(spec)).length).toBeGreaterThan(0);
    expect(await h2.segs.ensureSegment(spec)).toEqual([]);
    expect(await ip(h2.ns, 'link', 'show', 'ul0.300')).toContain('master br300');
    await h2.segs.removeSegment('br300');
  });
});
