/**
 * virtlogd and libvirtd, started by hand with `-d` (there is no init system here): the test
 * profile's `libvirt`. The dev profile runs its own pair in a network namespace instead
 * (dev-host.ts) and never uses this one. The system daemons are one per machine, so:
 *  - a daemon found running is used and never stopped by the stack;
 *  - a daemon the stack starts is owned by the profile that started it (its pidfile sits in that
 *    profile's run folder);
 *  - every profile whose `up` included libvirt leaves a use marker; `down` of the owner hands the
 *    daemons over to another profile still using them instead of pulling them from under it.
 * Optional: when libvirt cannot run, `up` reports why and carries on.
 */
import { existsSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { PROFILES, type ProfileName } from '../profiles';
import { exec, livePid, readPid, runDaemonizer, stopPid, waitFor, writePid } from '../proc';
import type { Service, ServiceContext } from './types';

export const LIBVIRT_URI = 'qemu:///system';
const DAEMONS = ['virtlogd', 'libvirtd'] as const;
type Daemon = (typeof DAEMONS)[number];

const runDir = (ctx: ServiceContext, profile: ProfileName = ctx.profile) =>
  path.join(ctx.paths.root, '.data', profile, 'run');
const ownedPidFile = (ctx: ServiceContext, d: Daemon, profile: ProfileName = ctx.profile) =>
  path.join(runDir(ctx, profile), `${d}.pid`);
const useMarker = (ctx: ServiceContext, profile: ProfileName = ctx.profile) =>
  path.join(runDir(ctx, profile), 'libvirt.use');
/** Where the daemons themselves write their pidfiles when run as root. */
const systemPidFile = (d: Daemon) => `/run/${d}.pid`;

/**
 * `virsh version` succeeds. A client that connects while a fresh libvirtd is still initialising
 * can hang for seconds instead of failing, so polling uses a short timeout and tries again.
 */
async function answers(timeoutMs = 5000): Promise<boolean> {
  return (await exec('virsh', ['-c', LIBVIRT_URI, 'version'], { timeoutMs })).code === 0;
}

/** The profile that should take over daemons `from` owns when it stops, if any still uses them. */
export function heir(from: ProfileName, using: (p: ProfileName) => boolean): ProfileName | null {
  return PROFILES.find((p) => p !== from && using(p)) ?? null;
}

async function startDaemon(ctx: ServiceContext, daemon: Daemon): Promise<void> {
  if (livePid(systemPidFile(daemon), { clean: false }) !== null) return;
  const log = path.join(ctx.paths.logs, `${daemon}-start.log`);
  const code = await runDaemonizer(daemon, ['-d'], log);
  if (code !== 0) {
    const said = existsSync(log)
      ? readFileSync(log, 'utf8').trim().split('\n').slice(-3).join(' ')
      : '';
    throw new Error(`${daemon} -d failed (exit ${code})${said ? `: ${said}` : ''}`);
  }
  await waitFor(
    `${daemon} pidfile`,
    async () => livePid(systemPidFile(daemon), { clean: false }) !== null,
    10_000,
  );
  writePid(ownedPidFile(ctx, daemon), readPid(systemPidFile(daemon))!);
}

export const libvirt: Service = {
  name: 'libvirt',
  after: [],
  packages: [
    'qemu-system-x86',
    'qemu-utils',
    'libvirt-daemon-system',
    'libvirt-clients',
    'libxml2-utils',
  ],
  optional: true,
  // libvirtd writes its own log, system-wide.
  logFile: () => '/var/log/libvirt/libvirtd.log',

  async status(ctx) {
    const endpoint = LIBVIRT_URI;
    const mine = livePid(ownedPidFile(ctx, 'libvirtd'));
    const system = livePid(systemPidFile('libvirtd'), { clean: false });
    const pid = mine ?? system ?? undefined;
    if (pid === undefined) return { running: false, ready: false, ours: false, endpoint };
    const ready = await answers();
    const note = mine
      ? undefined
      : PROFILES.filter((p) => p !== ctx.profile).some(
            (p) => livePid(ownedPidFile(ctx, 'libvirtd', p)) !== null,
          )
        ? 'started by the other profile'
        : 'found running; the stack leaves it alone';
    return { running: true, ready, ours: mine !== null, pid, endpoint, note };
  },

  async up(ctx) {
    const missing = ['/usr/sbin/libvirtd', '/usr/sbin/virtlogd', '/usr/bin/virsh'].filter(
      (b) => !existsSync(b),
    );
    if (missing.length > 0) throw new Error(`not installed (missing ${missing.join(', ')})`);
    // Each daemon on its own: a libvirtd without its virtlogd answers virsh but cannot start a
    // guest, so a missing virtlogd is started even when libvirtd already runs.
    let started = false;
    for (const d of DAEMONS) {
      const before = livePid(ownedPidFile(ctx, d));
      await startDaemon(ctx, d);
      started ||= livePid(ownedPidFile(ctx, d)) !== before;
    }
    await waitFor('libvirtd', () => answers(1000), 30_000);
    writeFileSync(useMarker(ctx), `${process.pid}\n`);
    const version = (await exec('virsh', ['-c', LIBVIRT_URI, 'version'])).stdout;
    const lib = /Using library: libvirt ([\d.]+)/.exec(version)?.[1] ?? '?';
    const owner =
      livePid(ownedPidFile(ctx, 'libvirtd')) !== null ? '' : ', not started by this profile';
    return { started, detail: `ready on ${LIBVIRT_URI} (libvirt ${lib}${owner})` };
  },

  async down(ctx) {
    const marked = existsSync(useMarker(ctx));
    rmSync(useMarker(ctx), { force: true });
    const owned = DAEMONS.map((d) => ({ d, pid: livePid(ownedPidFile(ctx, d)) })).filter(
      (o): o is { d: Daemon; pid: number } => o.pid !== null,
    );
    if (owned.length === 0) return marked ? 'no longer used by this profile' : null;
    const to = heir(ctx.profile, (p) => existsSync(useMarker(ctx, p)));
    if (to) {
      for (const { d } of owned) renameSync(ownedPidFile(ctx, d), ownedPidFile(ctx, d, to));
      return `left running for the ${to} profile, which uses it (pids ${owned.map((o) => o.pid).join(', ')})`;
    }
    // libvirtd first: it talks to virtlogd until it exits.
    for (const { d, pid } of [...owned].reverse()) {
      await stopPid(pid);
      rmSync(ownedPidFile(ctx, d), { force: true });
    }
    return `stopped (pids ${owned.map((o) => o.pid).join(', ')})`;
  },
};
