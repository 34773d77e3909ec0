/**
 * Asks the kernel which of the network mechanisms Palisade relies on it can really provide, by
 * trying them: 802.1Q VLAN links (VLAN segments), the `dummy` link type, and the traffic-control
 * pieces libvirt uses for an interface's `<bandwidth>` (htb + sfq + the `fw` classifier on the
 * tap's egress, an ingress qdisc with a `police` action for the other direction). A module list
 * or /proc/config.gz can say a feature exists where the kernel still refuses it; the attempt is
 * the answer libvirt will get.
 *
 * Every attempt happens on a veth pair inside a throwaway network namespace that this module
 * creates and deletes. Must never: create, change or delete a link, qdisc or filter in any other
 * namespace (the root namespace above all), or leave its namespace behind.
 */
import { randomBytes } from 'node:crypto';
import { execRunner, type CommandRunner } from './linux-segments';

export type KernelFeature = { supported: true } | { supported: false; reason: string };

export interface KernelNetFeatures {
  /** `ip link add … type vlan` (CONFIG_VLAN_8021Q). */
  vlan8021q: KernelFeature;
  /** `ip link add … type dummy` (CONFIG_DUMMY). */
  dummy: KernelFeature;
  /** Everything libvirt needs to shape an interface's `<bandwidth>`; `missing` names the pieces
   *  the kernel refused (e.g. `sfq`, `police`). */
  bandwidth: KernelFeature & { missing: string[] };
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));

/** The kernel's own words from an iproute2 failure ("Specified qdisc kind is unknown."). */
function kernelAnswer(e: unknown): string {
  const m = message(e);
  const err = /Error: ([^\n]+)/.exec(m)?.[1];
  return (err ?? m.split('\n').pop() ?? m).trim();
}

/**
 * libvirt's own sequence for `<bandwidth>` (src/util/virnetdevbandwidth.c,
 * virNetDevBandwidthSet): inbound is htb root + class + sfq leaf + fw filter on the tap;
 * outbound is an ingress qdisc with a u32 filter whose police action drops the excess.
 */
const BANDWIDTH_STEPS: { piece: string; argv: (dev: string) => string[] }[] = [
  {
    piece: 'htb',
    argv: (d) => ['qdisc', 'add', 'dev', d, 'root', 'handle', '1:', 'htb', 'default', '1'],
  },
  {
    piece: 'htb class',
    argv: (d) => [
      'class',
      'add',
      'dev',
      d,
      'parent',
      '1:',
      'classid',
      '1:1',
      'htb',
      'rate',
      '1000kbps',
    ],
  },
  {
    piece: 'sfq',
    argv: (d) => [
      'qdisc',
      'add',
      'dev',
      d,
      'parent',
      '1:1',
      'handle',
      '2:',
      'sfq',
      'perturb',
      '10',
    ],
  },
  {
    piece: 'fw',
    argv: (d) => [
      'filter',
      'add',
      'dev',
      d,
      'parent',
      '1:0',
      'protocol',
      'all',
      'prio',
      '1',
      'handle',
      '1',
      'fw',
      'flowid',
      '1',
    ],
  },
  { piece: 'ingress', argv: (d) => ['qdisc', 'add', 'dev', d, 'ingress'] },
  {
    piece: 'police',
    argv: (d) => [
      'filter',
      'add',
      'dev',
      d,
      'parent',
      'ffff:',
      'protocol',
      'all',
      'u32',
      'match',
      'u32',
      '0',
      '0',
      'police',
      'rate',
      '1000kbps',
      'burst',
      '100kb',
      'mtu',
      '64kb',
      'drop',
      'flowid',
      ':1',
    ],
  },
];

export interface KernelProbeOptions {
  run?: CommandRunner;
  /** Name of the throwaway namespace; random by default (`palprobe-<hex>`). */
  netns?: string;
}

/**
 * Tries each mechanism in a namespace of its own and removes the namespace, whatever happened.
 * Throws only when the namespace or the veth pair cannot be made: then nothing can be said.
 */
export async function probeKernelNetFeatures(
  options: KernelProbeOptions = {},
): Promise<KernelNetFeatures> {
  const run = options.run ?? execRunner;
  const ns = options.netns ?? `palprobe-${randomBytes(4).toString('hex')}`;
  const ip = (...a: string[]) => run(['ip', '-n', ns, ...a]);
  const tc = (...a: string[]) => run(['tc', '-n', ns, ...a]);
  const attempt = async (fn: () => Promise<unknown>): Promise<KernelFeature> => {
    try {
      await fn();
      return { supported: true };
    } catch (e) {
      return { supported: false, reason: kernelAnswer(e) };
    }
  };

  await run(['ip', 'netns', 'add', ns]);
  try {
    // veth, not dummy, as the base link: dummy is one of the things in question.
    await ip('link', 'add', 'palk0', 'type', 'veth', 'peer', 'name', 'palk1');
    await ip('link', 'set', 'palk0', 'up');
    const vlan8021q = await attempt(() =>
      ip('link', 'add', 'link', 'palk0', 'name', 'palk0.7', 'type', 'vlan', 'id', '7'),
    );
    const dummy = await attempt(() => ip('link', 'add', 'palkd0', 'type', 'dummy'));
    // Every step is tried even after one fails, so the answer lists all that is missing.
    const missing: string[] = [];
    const reasons: string[] = [];
    for (const step of BANDWIDTH_STEPS) {
      const r = await attempt(() => tc(...step.argv('palk0')));
      if (!r.supported) {
        missing.push(step.piece);
        reasons.push(`${step.piece}: ${r.reason}`);
      }
    }
    return {
      vlan8021q,
      dummy,
      bandwidth:
        missing.length === 0
          ? { supported: true, missing }
          : {
              supported: false,
              missing,
              reason: `kernel lacks ${missing.join(', ')} (${reasons.join('; ')})`,
            },
    };
  } finally {
    // Deleting the namespace deletes every link, qdisc and filter made in it.
    await run(['ip', 'netns', 'del', ns]).catch(() => undefined);
  }
}
