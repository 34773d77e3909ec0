import { hypervisorErrorKind } from '../contract/errors';
import type { SegmentSpec } from '../hypervisor';
import {
  parseFloodRemotes,
  parseIpLinks,
  planSegment,
  planSegmentRemoval,
  type ObservedHost,
  type ObservedLink,
} from './plan';
import { describe, expect, it } from 'vitest';

const vxlan: SegmentSpec = {
  bridge: 'br100',
  uplink: {
    kind: 'vxlan',
    vni: 100,
    device: 'vx100',
    localIp: '192.0.2.1',
    underlayDev: 'ul0',
    remotes: ['192.0.2.2'],
    dstPort: 4789,
  },
  mtu: 1450,
};
const vlan: SegmentSpec = { bridge: 'br200', uplink: { kind: 'vlan', vid: 200, trunkDev: 'eth1' } };

const underlay: ObservedLink = { name: 'ul0', kind: 'veth', mtu: 1500, up: true };
const trunk: ObservedLink = { name: 'eth1', mtu: 1500, up: true };
const host = (links: ObservedLink[], floodRemotes: string[] = []): ObservedHost => ({
  links,
  floodRemotes,
});

/** The state a successful `planSegment(vxlan)` leaves behind. */
const converged = (): ObservedLink[] => [
  underlay,
  { name: 'br100', kind: 'bridge', mtu: 1450, up: true },
  {
    name: 'vx100',
    kind: 'vxlan',
    master: 'br100',
    mtu: 1450,
    up: true,
    vxlan: { vni: 100, localIp: '192.0.2.1', dstPort: 4789, underlayDev: 'ul0' },
  },
];
const argvs = (steps: { argv: string[] }[]) => steps.map((s) => s.argv.join(' '));

function errorOf(f: () => unknown): unknown {
  try {
    f();
  } catch (e) {
    return e;
  }
  throw new Error('expected a throw');
}

describe('planSegment: VXLAN', () => {
  it('creates bridge, vx<vni> on the underlay, MTU, port, up and the flood entry on an empty host', () => {
    expect(argvs(planSegment(vxlan, host([underlay])))).toEqual([
      'ip link add br100 type bridge',
      'ip link add vx100 type vxlan id 100 local 192.0.2.1 dstport 4789 dev ul0',
      'ip link set vx100 mtu 1450',
      'ip link set br100 mtu 1450',
      'ip link set vx100 master br100',
      'ip link set vx100 up',
      'ip link set br100 up',
      'bridge fdb append 00:00:00:00:00:00 dev vx100 dst 192.0.2.2',
    ]);
  });

  it('plans nothing for a converged host (idempotent)', () => {
    expect(planSegment(vxlan, host(converged(), ['192.0.2.2']))).toEqual([]);
  });

  it('uses a multicast group instead of remotes when given', () => {
    const spec: SegmentSpec = {
      ...vxlan,
      uplink: { ...vxlan.uplink, remotes: [], group: '239.1.1.100' } as SegmentSpec['uplink'],
    };
    expect(argvs(planSegment(spec, host([underlay])))[1]).toBe(
      'ip link add vx100 type vxlan id 100 local 192.0.2.1 dstport 4789 dev ul0 group 239.1.1.100',
    );
  });

  it('fixes MTU, master and link state in place, and syncs the flood list both ways', () => {
    const links = converged().map((l) =>
      l.name === 'vx100' ? { ...l, mtu: 1500, up: false, master: undefined } : l,
    ) as ObservedLink[];
    delete (links[2] as { master?: string }).master;
    expect(argvs(planSegment(vxlan, host(links, ['192.0.2.9'])))).toEqual([
      'ip link set vx100 mtu 1450',
      'ip link set vx100 master br100',
      'ip link set vx100 up',
      'bridge fdb append 00:00:00:00:00:00 dev vx100 dst 192.0.2.2',
      'bridge fdb del 00:00:00:00:00:00 dev vx100 dst 192.0.2.9',
    ]);
  });

  it('re-creates an uplink whose VNI is wrong (the kernel cannot change it in place)', () => {
    const links = converged().map((l) =>
      l.name === 'vx100' ? { ...l, vxlan: { ...l.vxlan!, vni: 101 } } : l,
    );
    expect(argvs(planSegment(vxlan, host(links, ['192.0.2.2'])))).toEqual([
      'ip link del vx100',
      'ip link add vx100 type vxlan id 100 local 192.0.2.1 dstport 4789 dev ul0',
      'ip link set vx100 mtu 1450',
      'ip link set vx100 master br100',
      'ip link set vx100 up',
      'bridge fdb append 00:00:00:00:00:00 dev vx100 dst 192.0.2.2',
    ]);
  });

  it('refuses a non-bridge device under the bridge name and leaves it alone', () => {
    const e = errorOf(() =>
      planSegment(vxlan, host([underlay, { name: 'br100', kind: 'veth', mtu: 1500, up: true }])),
    );
    expect(hypervisorErrorKind(e)).toBe('segment_conflict');
    expect((e as Error).message).toMatch(/br100 exists but is a veth, not a bridge/);
  });

  it("refuses an uplink that is another bridge's port (another segment's)", () => {
    const links = converged().map((l) => (l.name === 'vx100' ? { ...l, master: 'br999' } : l));
    const e = errorOf(() => planSegment(vxlan, host(links)));
    expect(hypervisorErrorKind(e)).toBe('segment_conflict');
    expect((e as Error).message).toMatch(/port of bridge br999/);
  });

  it('refuses when the underlay device is missing, naming the field', () => {
    const e = errorOf(() => planSegment(vxlan, host([])));
    expect(hypervisorErrorKind(e)).toBe('segment_conflict');
    expect((e as { details: { field: string } }).details.field).toBe('uplink.underlayDev');
  });

  it.each([
    ['bridge', { ...vxlan, bridge: 'a-bridge-name-too-long' }],
    ['uplink.vni', { ...vxlan, uplink: { ...vxlan.uplink, vni: 0 } }],
    ['uplink.localIp', { ...vxlan, uplink: { ...vxlan.uplink, localIp: '300.1.1.1' } }],
    ['uplink.dstPort', { ...vxlan, uplink: { ...vxlan.uplink, dstPort: 70000 } }],
    ['uplink.remotes[0]', { ...vxlan, uplink: { ...vxlan.uplink, remotes: ['x'] } }],
    ['uplink.group', { ...vxlan, uplink: { ...vxlan.uplink, remotes: [], group: '10.0.0.1' } }],
    ['mtu', { ...vxlan, mtu: 10 }],
    ['uplink.vid', { ...vlan, uplink: { kind: 'vlan', vid: 4095, trunkDev: 'eth1' } }],
    [
      'uplink.trunkDev',
      { ...vlan, uplink: { kind: 'vlan', vid: 4094, trunkDev: 'enp0s31f6abcd' } },
    ],
  ] as [string, SegmentSpec][])('rejects a bad %s naming the field', (field, spec) => {
    const e = errorOf(() => planSegment(spec, host([underlay, trunk])));
    expect((e as { code: string }).code).toBe('common.validation_failed');
    expect((e as { details: { field: string } }).details.field).toBe(field);
  });
});

describe('planSegment: VLAN', () => {
  it('creates <trunk>.<vid> on the trunk as the bridge port', () => {
    expect(argvs(planSegment(vlan, host([trunk])))).toEqual([
      'ip link add br200 type bridge',
      'ip link add link eth1 name eth1.200 type vlan id 200',
      'ip link set eth1.200 master br200',
      'ip link set eth1.200 up',
      'ip link set br200 up',
    ]);
  });

  it('plans nothing when converged, and re-creates a VLAN device on the wrong trunk', () => {
    const links: ObservedLink[] = [
      trunk,
      { name: 'br200', kind: 'bridge', mtu: 1500, up: true },
      {
        name: 'eth1.200',
        kind: 'vlan',
        master: 'br200',
        mtu: 1500,
        up: true,
        vlan: { vid: 200, trunkDev: 'eth1' },
      },
    ];
    expect(planSegment(vlan, host(links))).toEqual([]);
    const wrong = links.map((l) => (l.vlan ? { ...l, vlan: { vid: 200, trunkDev: 'eth9' } } : l));
    expect(argvs(planSegment(vlan, host(wrong))).slice(0, 2)).toEqual([
      'ip link del eth1.200',
      'ip link add link eth1 name eth1.200 type vlan id 200',
    ]);
  });
});

describe('planSegmentRemoval', () => {
  it('removes the uplink, then the bridge, once no tap is attached', () => {
    expect(argvs(planSegmentRemoval('br100', host(converged())))).toEqual([
      'ip link del vx100',
      'ip link del br100',
    ]);
  });

  it('plans nothing when the bridge is absent', () => {
    expect(planSegmentRemoval('br100', host([underlay]))).toEqual([]);
  });

  it('refuses while a domain tap is attached, naming it, and plans no deletion', () => {
    const links = [
      ...converged(),
      { name: 'vnet3', kind: 'tun', master: 'br100', mtu: 1450, up: true },
    ];
    const e = errorOf(() => planSegmentRemoval('br100', host(links)));
    expect(hypervisorErrorKind(e)).toBe('segment_in_use');
    expect((e as { details: { ports: string[] } }).details.ports).toEqual(['vnet3']);
  });
});

describe('iproute2 JSON parsing', () => {
  it('reads kind, master, MTU, state and VXLAN identity from `ip -d -j link show`', () => {
    const json = JSON.stringify([
      { ifname: 'ul0', link: 'ul1', mtu: 1500, flags: ['UP'], linkinfo: { info_kind: 'veth' } },
      {
        ifname: 'vx9',
        mtu: 1450,
        master: 'br9',
        flags: ['BROADCAST'],
        linkinfo: {
          info_kind: 'vxlan',
          info_data: { id: 9, local: '192.0.2.1', link: 'ul0', port: 4789 },
        },
      },
      {
        ifname: 'eth1.5',
        link: 'eth1',
        mtu: 1500,
        flags: ['UP'],
        linkinfo: { info_kind: 'vlan', info_data: { protocol: '802.1Q', id: 5 } },
      },
    ]);
    expect(parseIpLinks(json)).toEqual([
      { name: 'ul0', kind: 'veth', mtu: 1500, up: true },
      {
        name: 'vx9',
        kind: 'vxlan',
        master: 'br9',
        mtu: 1450,
        up: false,
        vxlan: { vni: 9, localIp: '192.0.2.1', dstPort: 4789, underlayDev: 'ul0' },
      },
      { name: 'eth1.5', kind: 'vlan', mtu: 1500, up: true, vlan: { vid: 5, trunkDev: 'eth1' } },
    ]);
  });

  it('keeps only the all-zero flood entries from `bridge -j fdb show`', () => {
    const json = JSON.stringify([
      { mac: 'a2:b4:8a:bb:44:98', master: 'br9', state: 'permanent' },
      { mac: '00:00:00:00:00:00', dst: '192.0.2.2', state: 'permanent' },
      { mac: '52:54:00:00:00:01', dst: '192.0.2.3', state: '' },
    ]);
    expect(parseFloodRemotes(json)).toEqual(['192.0.2.2']);
  });
});
