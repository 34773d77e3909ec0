/**
 * The dev profile's hypervisor host: a network namespace of its own (`palisade-dev`) with its own
 * virtlogd + libvirtd, so `npm run dev` can run real VMs without a tenant bridge, VXLAN device,
 * tap or nwfilter rule ever appearing in the root namespace (the traffic rule: guests and their
 * segments live only in namespaces we create). It stands in for the `libvirt` service in the dev
 * profile; the test profile keeps the system libvirtd (services/libvirt.ts).
 *
 * How (the testkit's netns lab does the same for the functional tests, and its code is reused):
 * - `ip netns add palisade-dev`, `lo` up, and an underlay veth pair `ul0` (192.0.2.1/24,
 *   TEST-NET-1) / `ul0p` with both ends born inside the namespace: VXLAN segments get a device
 *   and an address, and nothing leads out of the namespace.
 * - libvirtd and virtlogd under `nsenter --net=` (not `ip netns exec`, which remounts /sys and
 *   hides the cgroup controllers `<cputune>` needs) in a private mount namespace with
 *   `.data/dev/host/{run,lib,cache,log,etc}` bind-mounted over libvirt's paths, on their own
 *   socket `.data/dev/host/run/libvirt-sock` and pidfiles. The system libvirtd, which the test
 *   profile uses, is never started, stopped or reconfigured by the dev profile.
 * - The agent stays in the root namespace, on loopback next to the API's agent gateway, and
 *   reaches this host through the socket (LIBVIRT_URI) and `ip -n palisade-dev` (AGENT_NETNS).
 *
 * `down` stops the guests, libvirtd and virtlogd by the PIDs in their pidfiles, then deletes the
 * namespace (its links go with it). Domain definitions (`host/etc`) stay, like the profile's
 * database: after the next `up` those VMs are defined and shut off, and the control plane sees
 * them stopped. `reset` removes them with the rest of `.data/dev`.
 *
 * Must never: touch a link, process or daemon it did not create; find processes by name.
 */
import { existsSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { startHostLibvirt, stopHostDaemons } from '@palisade/testkit';
import { PROFILE_PORTS } from '../profiles';
import { exec, livePid, mustExec, waitFor } from '../proc';
import { libvirt } from './libvirt';
import type { Service, ServiceContext } from './types';

export interface DevHost {
  /** The network namespace, `/run/netns/<netns>`. */
  netns: string;
  /** `qemu:///system?socket=…` of the namespace's libvirtd. */
  uri: string;
  /** The VXLAN underlay inside the namespace (AGENT_UNDERLAY_DEV / AGENT_UNDERLAY_IP). */
  underlayDev: string;
  underlayIp: string;
  /** The kernel has the sfq qdisc libvirt shapes `<bandwidth>` with (else AGENT_NO_BANDWIDTH). */
  bandwidth: boolean;
}

export interface DevHostOptions {
  /** Namespace name; default `palisade-dev`, suffixed with PALISADE_PORT_OFFSET when set. */
  netns?: (ctx: ServiceContext) => string;
}

const UNDERLAY = { dev: 'ul0', peer: 'ul0p', ip: '192.0.2.1', prefix: 24 } as const;

export const hostDir = (ctx: ServiceContext) => path.join(ctx.paths.data, 'host');
const recordFile = (ctx: ServiceContext) => path.join(hostDir(ctx), 'host.json');

/** The name `palisade-dev`, or `palisade-dev-<offset>` for a checkout run with a port offset. */
export function defaultNetns(ctx: ServiceContext): string {
  const offset = ctx.ports.postgres - PROFILE_PORTS[ctx.profile].postgres;
  return offset > 0 ? `palisade-${ctx.profile}-${offset}` : `palisade-${ctx.profile}`;
}

/** What the last `up` set up (stack.json's `libvirt` for the dev profile), or null. */
export function readDevHost(ctx: ServiceContext): DevHost | null {
  try {
    return JSON.parse(readFileSync(recordFile(ctx), 'utf8')) as DevHost;
  } catch {
    return null;
  }
}

const netnsExists = (ns: string) => existsSync(`/run/netns/${ns}`);

async function answers(uri: string): Promise<boolean> {
  return (await exec('virsh', ['-c', uri, 'version'], { timeoutMs: 5000 })).code === 0;
}

/** The old dev profile started (and so stopped) the system libvirtd; forget that ownership. */
function forgetSystemLibvirt(ctx: ServiceContext): string[] {
  const notes: string[] = [];
  for (const f of ['libvirtd.pid', 'virtlogd.pid', 'libvirt.use']) {
    const file = path.join(ctx.paths.run, f);
    if (!existsSync(file)) continue;
    const pid = f.endsWith('.pid') ? livePid(file) : null;
    rmSync(file, { force: true });
    if (pid !== null) notes.push(`system ${f.replace('.pid', '')} (pid ${pid}) left running`);
  }
  return notes;
}

async function createNamespace(ns: string): Promise<void> {
  const ip = (...a: string[]) => mustExec('ip', a);
  await ip('netns', 'add', ns);
  await ip('-n', ns, 'link', 'set', 'lo', 'up');
  // Both ends are born inside the namespace: the root namespace never has either link.
  await ip(
    'link',
    'add',
    'name',
    UNDERLAY.dev,
    'netns',
    ns,
    'type',
    'veth',
    'peer',
    'name',
    UNDERLAY.peer,
    'netns',
    ns,
  );
  await ip('-n', ns, 'addr', 'add', `${UNDERLAY.ip}/${UNDERLAY.prefix}`, 'dev', UNDERLAY.dev);
  await ip('-n', ns, 'link', 'set', UNDERLAY.peer, 'up');
  await ip('-n', ns, 'link', 'set', UNDERLAY.dev, 'up');
}

/** libvirt shapes `<bandwidth>` with sfq; where the kernel lacks it the agent leaves it out. */
async function hasSfq(ns: string): Promise<boolean> {
  if ((await exec('tc', ['-n', ns, 'qdisc', 'add', 'dev', 'lo', 'root', 'sfq'])).code !== 0)
    return false;
  await exec('tc', ['-n', ns, 'qdisc', 'del', 'dev', 'lo', 'root']);
  return true;
}

/** Stops guests and daemons by pidfile, deletes the namespace; a summary, or null if nothing. */
async function teardown(ctx: ServiceContext, ns: string): Promise<string | null> {
  const done: string[] = [];
  const pids = await stopHostDaemons(hostDir(ctx));
  if (pids.length > 0) done.push(`stopped guests and daemons (pids ${pids.join(', ')})`);
  // Runtime state only: guests' status files would make the next libvirtd look for dead QEMUs.
  rmSync(path.join(hostDir(ctx), 'run'), { recursive: true, force: true });
  if (netnsExists(ns)) {
    await mustExec('ip', ['netns', 'del', ns]);
    done.push(`removed netns ${ns}`);
  }
  rmSync(recordFile(ctx), { force: true });
  return done.length > 0 ? done.join('; ') : null;
}

export function devHostService(options: DevHostOptions = {}): Service {
  const netnsOf = options.netns ?? defaultNetns;
  return {
    name: 'libvirt',
    after: [],
    packages: [...libvirt.packages, 'iproute2', 'util-linux'],
    optional: true,
    logFile: (ctx) => path.join(hostDir(ctx), 'log', 'libvirtd.log'),

    async status(ctx) {
      const host = readDevHost(ctx);
      const endpoint = host?.uri ?? `netns ${netnsOf(ctx)} (not up)`;
      const pid = livePid(path.join(hostDir(ctx), 'libvirtd.pid'), { clean: false });
      if (!host || pid === null) return { running: false, ready: false, ours: false, endpoint };
      return {
        running: true,
        ready: netnsExists(host.netns) && (await answers(host.uri)),
        ours: true,
        pid,
        endpoint,
        note: `own libvirtd in netns ${host.netns}`,
      };
    },

    async up(ctx) {
      const missing = ['/usr/sbin/libvirtd', '/usr/sbin/virtlogd', '/usr/bin/virsh'].filter(
        (b) => !existsSync(b),
      );
      if (missing.length > 0) throw new Error(`not installed (missing ${missing.join(', ')})`);
      const notes = forgetSystemLibvirt(ctx);
      const ns = netnsOf(ctx);
      const known = readDevHost(ctx);
      const pid = livePid(path.join(hostDir(ctx), 'libvirtd.pid'), { clean: false });
      if (known && pid !== null && netnsExists(ns)) {
        // Running, maybe with guests: wait for a slow daemon (a loaded machine) rather than
        // rebuilding the host under them. If it never answers, `up` reports it unavailable.
        await waitFor('the dev host libvirtd', () => answers(known.uri), 60_000);
        return { started: false, detail: `ready in netns ${ns} on ${known.uri}` };
      }
      // Anything half there (a crash, a SIGKILLed `npm run dev`) goes first, by its pidfiles.
      await teardown(ctx, ns);

      mkdirSync(hostDir(ctx), { recursive: true, mode: 0o755 });
      const host: DevHost = {
        netns: ns,
        uri: '',
        underlayDev: UNDERLAY.dev,
        underlayIp: UNDERLAY.ip,
        bandwidth: false,
      };
      // Written before the namespace exists, so a failed `up` is undone by the next `down`.
      writeFileSync(recordFile(ctx), `${JSON.stringify(host, null, 2)}\n`);
      try {
        await createNamespace(ns);
        host.uri = await startHostLibvirt({ dir: hostDir(ctx), netns: ns });
        host.bandwidth = await hasSfq(ns);
      } catch (e) {
        await teardown(ctx, ns);
        throw e;
      }
      writeFileSync(recordFile(ctx), `${JSON.stringify(host, null, 2)}\n`);
      const version = (await exec('virsh', ['-c', host.uri, 'version'])).stdout;
      const lib = /Using library: libvirt ([\d.]+)/.exec(version)?.[1] ?? '?';
      const daemon = livePid(path.join(hostDir(ctx), 'libvirtd.pid'), { clean: false });
      return {
        started: true,
        detail: `own libvirtd (pid ${daemon}, libvirt ${lib}) in netns ${ns}, underlay ${UNDERLAY.dev} ${UNDERLAY.ip}${notes.length ? `; ${notes.join('; ')}` : ''}`,
      };
    },

    async down(ctx) {
      const notes = forgetSystemLibvirt(ctx);
      const did = await teardown(ctx, readDevHost(ctx)?.netns ?? netnsOf(ctx));
      const all = [...(did ? [did] : []), ...notes];
      return all.length > 0 ? all.join('; ') : null;
    },
  };
}

/** The dev profile's `libvirt` service. */
export const devHost = devHostService();
