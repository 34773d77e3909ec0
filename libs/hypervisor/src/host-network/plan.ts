/**
 * The pure half of tenant segments: given a `SegmentSpec` and what a host's iproute2 reports, the
 * list of `ip` / `bridge` commands that converge the host onto the spec, or a refusal. Execution
 * (running the commands, optionally inside a network namespace) is `LinuxSegments`'s job.
 *
 * A segment is a Linux bridge with exactly one uplink port: `vx<vni>` (VXLAN on an underlay
 * device, remotes as all-zero FDB entries or a multicast group) or `<trunk>.<vid>` (802.1Q VLAN).
 * Every other port of the bridge is a domain's tap.
 *
 * Convergence rules (the same spec applied twice yields no commands the second time):
 * - missing devices are created; wrong MTU, missing master or a down link are corrected in place;
 * - an uplink whose identity differs (VNI, local IP, port, underlay, group, VLAN ID or trunk) is
 *   deleted and re-created, because the kernel cannot change those on an existing link. That is
 *   only done while the uplink is free or already a port of this segment's bridge;
 * - a device of the wrong kind under one of our names, or an uplink that is a port of some other
 *   bridge (another segment's), is refused: deleting it would cut someone else's traffic.
 *
 * Must never: do I/O, or plan a change to a device it did not name itself.
 */
import { AppError, BRIDGE_NAME_PATTERN, ErrorCode } from '@palisade/contracts';
import type { SegmentSpec } from '../hypervisor';
import { hypervisorError, HypervisorErrorKind } from '../contract/errors';

/** One link as `ip -d -j link show` reports it, reduced to what segments care about. */
export interface ObservedLink {
  name: string;
  /** `linkinfo.info_kind`: `bridge`, `vxlan`, `vlan`, `tun`, `veth`, ...; undefined for a plain device. */
  kind?: string;
  master?: string;
  mtu: number;
  up: boolean;
  vxlan?: { vni: number; localIp?: string; dstPort: number; underlayDev?: string; group?: string };
  vlan?: { vid: number; trunkDev?: string };
}

export interface ObservedHost {
  links: ObservedLink[];
  /** Destinations of the all-zero (flood) FDB entries on the VXLAN uplink, if it exists. */
  floodRemotes: string[];
}

/** A command for iproute2: `argv[0]` is `ip` or `bridge`; the executor adds `-n <netns>`. */
export interface SegmentStep {
  argv: string[];
  why: string;
}

const VXLAN_MAX_VNI = 16_777_215;
const IPV4 = /^(25[0-5]|2[0-4]\d|1?\d?\d)(\.(25[0-5]|2[0-4]\d|1?\d?\d)){3}$/;
const ZERO_MAC = '00:00:00:00:00:00';

function invalid(field: string, message: string): AppError {
  return new AppError(ErrorCode.VALIDATION_FAILED, `${field} ${message}`, { details: { field } });
}

function ifname(field: string, value: string): void {
  if (!BRIDGE_NAME_PATTERN.test(value))
    throw invalid(field, 'must be a Linux interface name (1-15 of A-Z a-z 0-9 _ . -)');
}

/** The uplink device's name: `vx<vni>`-style name from the spec, or `<trunk>.<vid>`. */
export function uplinkName(spec: SegmentSpec): string {
  return spec.uplink.kind === 'vxlan'
    ? spec.uplink.device
    : `${spec.uplink.trunkDev}.${spec.uplink.vid}`;
}

/** Throws `common.validation_failed` naming the field for a spec iproute2 would reject. */
export function validateSegmentSpec(spec: SegmentSpec): void {
  ifname('bridge', spec.bridge);
  if (spec.mtu !== undefined && (!Number.isInteger(spec.mtu) || spec.mtu < 68 || spec.mtu > 65535))
    throw invalid('mtu', 'must be an integer from 68 to 65535');
  const u = spec.uplink;
  if (u.kind === 'vxlan') {
    if (!Number.isInteger(u.vni) || u.vni < 1 || u.vni > VXLAN_MAX_VNI)
      throw invalid('uplink.vni', `must be an integer from 1 to ${VXLAN_MAX_VNI}`);
    ifname('uplink.device', u.device);
    ifname('uplink.underlayDev', u.underlayDev);
    if (!IPV4.test(u.localIp)) throw invalid('uplink.localIp', 'must be an IPv4 address');
    if (!Number.isInteger(u.dstPort) || u.dstPort < 1 || u.dstPort > 65535)
      throw invalid('uplink.dstPort', 'must be an integer from 1 to 65535');
    if (u.group !== undefined) {
      if (
        !IPV4.test(u.group) ||
        Number(u.group.split('.')[0]) < 224 ||
        Number(u.group.split('.')[0]) > 239
      )
        throw invalid('uplink.group', 'must be an IPv4 multicast address (224.0.0.0/4)');
      if (u.remotes !== undefined && u.remotes.length > 0)
        throw invalid('uplink.remotes', 'must be empty when uplink.group is set');
    }
    (u.remotes ?? []).forEach((r, i) => {
      if (!IPV4.test(r)) throw invalid(`uplink.remotes[${i}]`, 'must be an IPv4 address');
    });
    if (u.device === spec.bridge) throw invalid('uplink.device', 'must differ from bridge');
  } else {
    if (!Number.isInteger(u.vid) || u.vid < 1 || u.vid > 4094)
      throw invalid('uplink.vid', 'must be an integer from 1 to 4094');
    ifname('uplink.trunkDev', u.trunkDev);
    if (!BRIDGE_NAME_PATTERN.test(uplinkName(spec)))
      throw invalid('uplink.trunkDev', `is too long: "${uplinkName(spec)}" exceeds 15 characters`);
  }
}

function conflict(message: string, details: Record<string, unknown>): AppError {
  return hypervisorError(HypervisorErrorKind.SEGMENT_CONFLICT, message, details);
}

/** Whether an existing uplink has the identity the spec asks for (what cannot change in place). */
function uplinkMatches(spec: SegmentSpec, link: ObservedLink): boolean {
  const u = spec.uplink;
  if (u.kind === 'vxlan') {
    const v = link.vxlan;
    return (
      link.kind === 'vxlan' &&
      v !== undefined &&
      v.vni === u.vni &&
      v.localIp === u.localIp &&
      v.dstPort === u.dstPort &&
      v.underlayDev === u.underlayDev &&
      v.group === u.group
    );
  }
  return link.kind === 'vlan' && link.vlan?.vid === u.vid && link.vlan.trunkDev === u.trunkDev;
}

function createUplink(spec: SegmentSpec): SegmentStep {
  const u = spec.uplink;
  const name = uplinkName(spec);
  if (u.kind === 'vlan')
    return {
      argv: [
        'ip',
        'link',
        'add',
        'link',
        u.trunkDev,
        'name',
        name,
        'type',
        'vlan',
        'id',
        String(u.vid),
      ],
      why: `create VLAN ${u.vid} uplink on trunk ${u.trunkDev}`,
    };
  return {
    argv: [
      'ip',
      'link',
      'add',
      name,
      'type',
      'vxlan',
      'id',
      String(u.vni),
      'local',
      u.localIp,
      'dstport',
      String(u.dstPort),
      'dev',
      u.underlayDev,
      ...(u.group === undefined ? [] : ['group', u.group]),
    ],
    why: `create VXLAN ${u.vni} uplink on ${u.underlayDev}`,
  };
}

/**
 * The commands that converge the host onto `spec`. Throws `common.validation_failed` for a bad
 * spec, `segment_conflict` for a state it must not repair, and refuses a missing trunk or
 * underlay device (the fabric's job, not the segment's).
 */
export function planSegment(spec: SegmentSpec, host: ObservedHost): SegmentStep[] {
  validateSegmentSpec(spec);
  const links = new Map(host.links.map((l) => [l.name, l]));
  const steps: SegmentStep[] = [];
  const uName = uplinkName(spec);
  const u = spec.uplink;

  const lower = u.kind === 'vxlan' ? u.underlayDev : u.trunkDev;
  if (!links.has(lower))
    throw conflict(
      `${u.kind === 'vxlan' ? 'underlay' : 'trunk'} device ${lower} does not exist on this host`,
      { field: u.kind === 'vxlan' ? 'uplink.underlayDev' : 'uplink.trunkDev', device: lower },
    );

  // --- bridge
  const bridge = links.get(spec.bridge);
  if (bridge !== undefined && bridge.kind !== 'bridge')
    throw conflict(
      `device ${spec.bridge} exists but is a ${bridge.kind ?? 'plain device'}, not a bridge; refusing to replace it`,
      { device: spec.bridge, kind: bridge.kind ?? null },
    );
  if (bridge === undefined)
    steps.push({
      argv: ['ip', 'link', 'add', spec.bridge, 'type', 'bridge'],
      why: 'create the segment bridge',
    });

  // --- uplink
  let uplink = links.get(uName);
  if (uplink !== undefined) {
    if (uplink.kind !== u.kind)
      throw conflict(
        `device ${uName} exists but is a ${uplink.kind ?? 'plain device'}, not a ${u.kind} uplink; refusing to replace it`,
        { device: uName, kind: uplink.kind ?? null },
      );
    if (uplink.master !== undefined && uplink.master !== spec.bridge)
      throw conflict(
        `uplink ${uName} is a port of bridge ${uplink.master}, not ${spec.bridge}; it belongs to another segment`,
        { device: uName, master: uplink.master },
      );
    if (!uplinkMatches(spec, uplink)) {
      steps.push({
        argv: ['ip', 'link', 'del', uName],
        why: `uplink ${uName} has different ${u.kind === 'vxlan' ? 'VNI/local IP/port/underlay/group' : 'VLAN ID/trunk'}, which cannot change in place`,
      });
      uplink = undefined;
    }
  }
  if (uplink === undefined) steps.push(createUplink(spec));

  // --- MTU, master, up (bridge first: a port's MTU may not exceed nothing, but the bridge follows
  // its ports' minimum, so set both explicitly)
  if (spec.mtu !== undefined) {
    if (uplink?.mtu !== spec.mtu)
      steps.push({
        argv: ['ip', 'link', 'set', uName, 'mtu', String(spec.mtu)],
        why: 'uplink MTU',
      });
    if (bridge?.mtu !== spec.mtu)
      steps.push({
        argv: ['ip', 'link', 'set', spec.bridge, 'mtu', String(spec.mtu)],
        why: 'bridge MTU',
      });
  }
  if (uplink?.master !== spec.bridge)
    steps.push({
      argv: ['ip', 'link', 'set', uName, 'master', spec.bridge],
      why: 'uplink as bridge port',
    });
  if (!uplink?.up) steps.push({ argv: ['ip', 'link', 'set', uName, 'up'], why: 'uplink up' });
  if (!bridge?.up) steps.push({ argv: ['ip', 'link', 'set', spec.bridge, 'up'], why: 'bridge up' });

  // --- VXLAN flood list (head-end replication to each remote VTEP)
  if (u.kind === 'vxlan') {
    const have = new Set(uplink === undefined ? [] : host.floodRemotes);
    const want = new Set(u.remotes ?? []);
    for (const r of [...want].sort())
      if (!have.has(r))
        steps.push({
          argv: ['bridge', 'fdb', 'append', ZERO_MAC, 'dev', uName, 'dst', r],
          why: `flood BUM traffic to VTEP ${r}`,
        });
    for (const r of [...have].sort())
      if (!want.has(r))
        steps.push({
          argv: ['bridge', 'fdb', 'del', ZERO_MAC, 'dev', uName, 'dst', r],
          why: `VTEP ${r} is no longer a remote of this segment`,
        });
  }
  return steps;
}

/**
 * The commands that remove a segment's bridge and uplink. Nothing when the bridge is absent.
 * Refuses (`segment_in_use`) while any port other than a VXLAN/VLAN uplink, i.e. a domain's
 * tap, is attached.
 */
export function planSegmentRemoval(bridgeName: string, host: ObservedHost): SegmentStep[] {
  ifname('bridge', bridgeName);
  const bridge = host.links.find((l) => l.name === bridgeName);
  if (bridge === undefined) return [];
  if (bridge.kind !== 'bridge')
    throw conflict(
      `device ${bridgeName} is a ${bridge.kind ?? 'plain device'}, not a bridge; refusing to remove it`,
      {
        device: bridgeName,
      },
    );
  const ports = host.links.filter((l) => l.master === bridgeName);
  const uplinks = ports.filter((p) => p.kind === 'vxlan' || p.kind === 'vlan');
  const others = ports.filter((p) => !uplinks.includes(p));
  if (others.length > 0)
    throw hypervisorError(
      HypervisorErrorKind.SEGMENT_IN_USE,
      `bridge ${bridgeName} still has ${others.map((p) => p.name).join(', ')} attached`,
      { bridge: bridgeName, ports: others.map((p) => p.name) },
    );
  return [
    ...uplinks.map((p) => ({
      argv: ['ip', 'link', 'del', p.name],
      why: `remove uplink ${p.name}`,
    })),
    { argv: ['ip', 'link', 'del', bridgeName], why: 'remove the empty segment bridge' },
  ];
}

/** Parses `ip -d -j link show` output. */
export function parseIpLinks(json: string): ObservedLink[] {
  const raw = JSON.parse(json) as Array<{
    ifname: string;
    link?: string;
    mtu: number;
    master?: string;
    flags?: string[];
    linkinfo?: {
      info_kind?: string;
      info_data?: { id?: number; local?: string; port?: number; link?: string; group?: string };
    };
  }>;
  return raw.map((r) => {
    const kind = r.linkinfo?.info_kind;
    const data = r.linkinfo?.info_data ?? {};
    // ifname may carry "@peer" in plain output; the JSON keeps them apart.
    const out: ObservedLink = { name: r.ifname, mtu: r.mtu, up: (r.flags ?? []).includes('UP') };
    if (kind !== undefined) out.kind = kind;
    if (r.master !== undefined) out.master = r.master;
    if (kind === 'vxlan')
      out.vxlan = {
        vni: data.id ?? -1,
        dstPort: data.port ?? -1,
        ...(data.local === undefined ? {} : { localIp: data.local }),
        ...(data.link === undefined ? {} : { underlayDev: data.link }),
        ...(data.group === undefined ? {} : { group: data.group }),
      };
    if (kind === 'vlan')
      out.vlan = { vid: data.id ?? -1, ...(r.link === undefined ? {} : { trunkDev: r.link }) };
    return out;
  });
}

/** Parses `bridge -j fdb show dev <vx>` into the all-zero entries' destinations. */
export function parseFloodRemotes(json: string): string[] {
  const raw = JSON.parse(json) as Array<{ mac: string; dst?: string }>;
  return raw.filter((e) => e.mac === ZERO_MAC && e.dst !== undefined).map((e) => e.dst!);
}
