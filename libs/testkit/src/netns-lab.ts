/**
 * A network-namespace host harness: two simulated hypervisor hosts on one machine, each a network
 * namespace (`pal<rand>-h1`, `pal<rand>-h2`) joined by an underlay veth pair, each optionally with
 * its own `virtlogd` + `libvirtd`. The functional tests put tenant segments and TCG guests on them.
 *
 * How the daemons are isolated (measured with libvirt 9.0 here):
 * - Network: started under `nsenter --net=/run/netns/<ns>`, so taps, bridges and nwfilter's
 *   ebtables rules live in that namespace. Not `ip netns exec`: it remounts /sys for the
 *   namespace, which hides the cgroup v1 controllers, and then `<cputune>` fails (DESIGN.md).
 * - Everything else: the shared test stack already runs libvirtd on the default sockets and
 *   paths, so each host's daemons run in a private mount namespace (`unshare --mount
 *   --propagation private`) with per-lab directories bind-mounted over /run/libvirt,
 *   /var/lib/libvirt, /var/cache/libvirt, /var/log/libvirt and /etc/libvirt (a copy without
 *   domain, network or secret definitions, so neither daemon sees the other's objects). Clients
 *   connect with `qemu:///system?socket=<dir>/run/libvirt-sock`. Own pidfiles (`-p`) keep the
 *   daemons off /run/libvirtd.pid.
 * - /sys stays the root namespace's sysfs, so `/sys/class/net` there does not show a
 *   namespace's links; read them with `ip -n <ns>` or `ip netns exec <ns>` (its /sys remount is
 *   harmless for a one-shot read).
 *
 * Traffic stays inside the lab: the underlay veth is created with both ends already inside the
 * two host namespaces, and nothing is ever addressed from the root namespace.
 *
 * Cleanup always runs: `dispose()` ends the processes the test registered (`trackProcess`, e.g.
 * agents), destroys guests, kills daemons and guests by the PIDs in their pidfiles, deletes
 * namespaces, tenant cgroup partitions and files. `sweepStaleLabs()` does the same for labs left
 * by earlier runs whose owner process is gone (a crashed or killed test run), identified only by
 * this harness's own `lab.json`, pidfiles and recorded PIDs, never by process names.
 *
 * Needs root, iproute2, util-linux (nsenter, unshare) and libvirt's daemons.
 */
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  rmSync,
  rmdirSync,
  writeFileSync,
  chmodSync,
  cpSync,
  statSync,
} from 'node:fs';
import path from 'node:path';

/** Where labs live: not under /root, which libvirt-qemu cannot enter (guest images go here). */
export const LAB_ROOT = '/var/lib/palisade-netns';
const CGROUP_ROOT = '/sys/fs/cgroup';

export interface LabHost {
  /** `h1`, `h2` */
  name: string;
  /** The network namespace, `pal<rand>-<name>`. */
  netns: string;
  /** The host's private directory (daemon state, pidfiles). */
  dir: string;
  /** The underlay device inside this namespace and its address. */
  underlayDev: string;
  underlayIp: string;
  /** `qemu:///system?socket=...` when the lab runs libvirt. */
  libvirtUri?: string;
}

export interface NetnsLab {
  prefix: string;
  dir: string;
  /** Files guests read (kernel, initrd, images, seeds): world-traversable, under LAB_ROOT. */
  imageDir: string;
  hosts: LabHost[];
  /** Creates a tenant's cgroup partition (libvirt does not) and removes it on dispose. */
  ensurePartition(partition: string): void;
  /** A process the test started for the lab (e.g. a host's agent): `dispose()`, or the sweep
   *  after a killed run, ends it by this PID (if its start time still matches). */
  trackProcess(pid: number): void;
  /** Stops the host's libvirtd by the PID in its pidfile (SIGTERM, then SIGKILL) and waits until
   *  it is gone; virtlogd and guests stay. Returns the PID it stopped, null if none ran. */
  stopLibvirtd(host: LabHost): Promise<number | null>;
  /** Starts the host's libvirtd again on the same directories and socket, and waits until it
   *  answers. Returns its new PID. */
  startLibvirtd(host: LabHost): Promise<number>;
  dispose(): Promise<void>;
}

interface LabRecord {
  prefix: string;
  ownerPid: number;
  /** /proc/<pid>/stat start time, so a reused PID is not mistaken for the owner. */
  ownerStart: string;
  netns: string[];
  partitions: string[];
  /** Processes started for the lab, with their /proc start times (PID reuse guard). */
  processes?: { pid: number; start: string }[];
}

export interface CreateLabOptions {
  /** Start virtlogd + libvirtd in each host namespace. */
  libvirt: boolean;
  /** Log progress lines (daemon PIDs, sweep results). */
  log?: (line: string) => void;
}

function run(cmd: string, args: string[], timeoutMs = 60_000): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(cmd, args, { encoding: 'utf8', timeout: timeoutMs }, (err, stdout, stderr) => {
      if (err) reject(new Error(`${cmd} ${args.join(' ')}: ${stderr.trim() || err.message}`));
      else resolve(stdout);
    });
  });
}

function procStart(pid: number): string | null {
  try {
    // Field 22 (starttime) follows the parenthesised comm, which may itself contain spaces.
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2).split(' ')[19] ?? null;
  } catch {
    return null;
  }
}

function readPid(file: string): number | null {
  try {
    const pid = Number(readFileSync(file, 'utf8').trim());
    return Number.isInteger(pid) && pid > 1 ? pid : null;
  } catch {
    return null;
  }
}

function running(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.slice(stat.lastIndexOf(')') + 2)[0] !== 'Z';
  } catch {
    return false;
  }
}

/** Kills the process in `pidfile` if its command line contains `expect` (guards PID reuse):
 *  SIGTERM, then SIGKILL if it is still running after ten seconds. */
async function killPidfile(pidfile: string, expect: string): Promise<number | null> {
  const pid = readPid(pidfile);
  if (pid === null || !running(pid)) return null;
  let cmdline = '';
  try {
    cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8');
  } catch {
    return null;
  }
  if (!cmdline.includes(expect)) return null;
  process.kill(pid, 'SIGTERM');
  for (let i = 0; i < 100 && running(pid); i++) await new Promise((r) => setTimeout(r, 100));
  if (running(pid)) process.kill(pid, 'SIGKILL');
  return pid;
}

/** `machine/palisade-x` -> [`machine`, `palisade-x.partition`] as cgroupfs names it. */
function partitionDirs(partition: string): string[] {
  const parts = partition.replace(/^\//, '').split('/');
  return parts.map((p, i) => (i === 0 ? p : `${p}.partition`));
}

function cgroupControllers(): string[] {
  // Only hierarchies libvirt uses for machines: those that have `machine/` (not `systemd`).
  return readdirSync(CGROUP_ROOT).filter((c) => existsSync(path.join(CGROUP_ROOT, c, 'machine')));
}

/**
 * Creates `/machine/<name>` for libvirt's `<resource><partition>` in every mounted controller and
 * `unified/`, copying cpuset.cpus/mems from the parent (see `tenantPartition` in the designer for
 * why each is needed). Only the last level is created; `machine` must exist.
 */
function createPartition(partition: string): void {
  const dirs = partitionDirs(partition);
  for (const controller of cgroupControllers()) {
    const parent = path.join(CGROUP_ROOT, controller, ...dirs.slice(0, -1));
    if (!existsSync(parent))
      throw new Error(`${parent} does not exist; only one level below machine/ is created`);
    const dir = path.join(parent, dirs.at(-1)!);
    if (!existsSync(dir)) mkdirSync(dir);
    if (controller.split(',').includes('cpuset')) {
      for (const f of ['cpuset.cpus', 'cpuset.mems'])
        if (readFileSync(path.join(dir, f), 'utf8').trim() === '')
          writeFileSync(path.join(dir, f), readFileSync(path.join(parent, f), 'utf8'));
    }
  }
}

/** rmdir of a partition and any cgroups left inside it (a killed QEMU's), deepest first. */
export function removePartition(partition: string): void {
  const dirs = partitionDirs(partition);
  const rmTree = (dir: string) => {
    if (!existsSync(dir)) return;
    for (const e of readdirSync(dir, { withFileTypes: true }))
      if (e.isDirectory()) rmTree(path.join(dir, e.name));
    try {
      rmdirSync(dir);
    } catch {
      // still has tasks: a process we did not start; leave it
    }
  };
  for (const controller of cgroupControllers()) rmTree(path.join(CGROUP_ROOT, controller, ...dirs));
}

function labFile(dir: string): string {
  return path.join(dir, 'lab.json');
}

function writeRecord(dir: string, record: LabRecord): void {
  writeFileSync(labFile(dir), JSON.stringify(record, null, 2));
}

/**
 * Stops what `startHostLibvirt` started in `hostDir`, by the PIDs in its pidfiles: the guests
 * first (QEMU outlives libvirtd; libvirt keeps each guest's PID in run/qemu/<name>.pid), then
 * libvirtd, then virtlogd. Returns the PIDs it stopped. Also used by the dev profile's host.
 */
export async function stopHostDaemons(
  hostDir: string,
  log: (line: string) => void = () => undefined,
): Promise<number[]> {
  const stopped: number[] = [];
  const qemuRun = path.join(hostDir, 'run', 'qemu');
  if (existsSync(qemuRun))
    for (const f of readdirSync(qemuRun).filter((f) => f.endsWith('.pid'))) {
      const pid = await killPidfile(path.join(qemuRun, f), 'qemu');
      if (pid !== null) {
        stopped.push(pid);
        log(`killed guest ${f.replace(/\.pid$/, '')} (pid ${pid})`);
      }
    }
  for (const d of ['libvirtd', 'virtlogd']) {
    const pid = await killPidfile(path.join(hostDir, `${d}.pid`), d);
    if (pid !== null) {
      stopped.push(pid);
      log(`stopped ${d} of ${path.basename(hostDir)} (pid ${pid})`);
    }
  }
  return stopped;
}

/** Tears down one lab directory: guests, daemons, namespaces, partitions, files. */
async function teardown(dir: string, log: (line: string) => void): Promise<void> {
  let record: LabRecord | null = null;
  try {
    record = JSON.parse(readFileSync(labFile(dir), 'utf8')) as LabRecord;
  } catch {
    // a lab that died before writing its record has nothing but files
  }
  const hosts = existsSync(dir)
    ? readdirSync(dir).filter(
        (h) =>
          existsSync(path.join(dir, h, 'libvirtd.pid')) || existsSync(path.join(dir, h, 'run')),
      )
    : [];
  // The test's own processes first (agents drive the daemons below).
  for (const p of record?.processes ?? []) {
    if (procStart(p.pid) !== p.start || !running(p.pid)) continue;
    try {
      process.kill(p.pid, 'SIGTERM');
      for (let i = 0; i < 100 && running(p.pid); i++) await new Promise((r) => setTimeout(r, 100));
      if (running(p.pid)) process.kill(p.pid, 'SIGKILL');
      log(`stopped tracked process ${p.pid}`);
    } catch {
      // exited in between
    }
  }
  for (const h of hosts) await stopHostDaemons(path.join(dir, h), log);
  for (const ns of record?.netns ?? []) {
    if (existsSync(`/run/netns/${ns}`))
      await run('ip', ['netns', 'del', ns]).catch(() => undefined);
  }
  for (const p of record?.partitions ?? []) removePartition(p);
  // Bind mounts lived only in the daemons' private mount namespaces, which died with them.
  rmSync(dir, { recursive: true, force: true });
}

/**
 * Removes labs whose owner process is gone. Labs of live processes (another engineer's run at
 * the same time) are left alone. Returns the prefixes removed.
 */
export async function sweepStaleLabs(
  log: (line: string) => void = () => undefined,
): Promise<string[]> {
  if (!existsSync(LAB_ROOT)) return [];
  const removed: string[] = [];
  for (const prefix of readdirSync(LAB_ROOT).filter((p) => /^pal[0-9a-f]{6}$/.test(p))) {
    const dir = path.join(LAB_ROOT, prefix);
    let owner: { pid: number; start: string } | null = null;
    try {
      const r = JSON.parse(readFileSync(labFile(dir), 'utf8')) as LabRecord;
      owner = { pid: r.ownerPid, start: r.ownerStart };
    } catch {
      // no record: either being created right now or crashed during creation; give it a minute
      if (Date.now() - statSync(dir).mtimeMs < 60_000) continue;
    }
    if (owner !== null && procStart(owner.pid) === owner.start) continue;
    log(`sweeping stale lab ${prefix}`);
    await teardown(dir, log);
    removed.push(prefix);
  }
  return removed;
}

async function waitForLibvirt(uri: string, hostDir: string): Promise<void> {
  let last = '';
  // Setup, not an assertion: libvirtd needs a moment to load its drivers on a busy machine.
  for (let i = 0; i < 120; i++) {
    try {
      await run('virsh', ['-c', uri, 'version'], 10_000);
      return;
    } catch (e) {
      last = (e as Error).message;
    }
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(`libvirtd of ${hostDir} never answered on ${uri}: ${last}`);
}

// Run inside the host's namespaces; $1 is the host dir. Mount points are libvirt's compiled-in
// paths for a privileged daemon.
const DAEMON_SCRIPT = `set -e
d="$1"
mount --bind "$d/run" /run/libvirt
mount --bind "$d/lib" /var/lib/libvirt
mount --bind "$d/cache" /var/cache/libvirt
mount --bind "$d/log" /var/log/libvirt
mount --bind "$d/etc" /etc/libvirt
virtlogd -d -p "$d/virtlogd.pid"
libvirtd -d -p "$d/libvirtd.pid"
`;

/** libvirtd alone, for a restart: virtlogd of the first start still runs. */
const LIBVIRTD_SCRIPT = DAEMON_SCRIPT.replace(/^virtlogd .*\n/m, '');

/** Runs one of the daemon scripts in the host's network namespace and a new private mount
 *  namespace with the host's directories bound over libvirt's. */
function runDaemonScript(host: Pick<LabHost, 'dir' | 'netns'>, script: string): Promise<string> {
  return run('nsenter', [
    `--net=/run/netns/${host.netns}`,
    'unshare',
    '--mount',
    '--propagation',
    'private',
    'sh',
    '-c',
    script,
    'sh',
    host.dir,
  ]);
}

/**
 * Starts virtlogd + libvirtd for a host whose state lives in `host.dir`, inside the network
 * namespace `host.netns` and a private mount namespace (see the header), and waits until it
 * answers. Returns the URI clients use (also set on `host.libvirtUri`). A `dir/etc` left by an
 * earlier start is kept, so domains defined then are still defined. Also used by the dev
 * profile's host (tools/stack/src/services/dev-host.ts).
 */
export async function startHostLibvirt(
  host: Pick<LabHost, 'dir' | 'netns' | 'libvirtUri'>,
): Promise<string> {
  const d = host.dir;
  for (const sub of ['run', 'lib', 'cache', 'log'])
    mkdirSync(path.join(d, sub), { recursive: true });
  // /etc/libvirt as shipped (daemon configs, the nwfilter definitions clean-traffic needs), but
  // without the root daemon's domains, networks and secrets.
  if (!existsSync(path.join(d, 'etc'))) {
    cpSync('/etc/libvirt', path.join(d, 'etc'), { recursive: true });
    for (const sub of ['qemu', 'secrets', 'storage']) {
      rmSync(path.join(d, 'etc', sub), { recursive: true, force: true });
      mkdirSync(path.join(d, 'etc', sub), { mode: 0o700 });
    }
  }
  await runDaemonScript(host, DAEMON_SCRIPT);
  host.libvirtUri = `qemu:///system?socket=${path.join(d, 'run', 'libvirt-sock')}`;
  await waitForLibvirt(host.libvirtUri, d);
  return host.libvirtUri;
}

/** Creates a lab of two host namespaces joined by an underlay veth (192.0.2.0/24, TEST-NET-1). */
export async function createNetnsLab(options: CreateLabOptions): Promise<NetnsLab> {
  const log = options.log ?? (() => undefined);
  for (const p of await sweepStaleLabs(log)) log(`removed stale lab ${p}`);
  const prefix = `pal${randomBytes(3).toString('hex')}`;
  const dir = path.join(LAB_ROOT, prefix);
  mkdirSync(dir, { recursive: true });
  // libvirt-qemu must traverse to the images (DAC); nothing secret lives in these directories
  // (keys are passed to qemu-img through 0600 files removed right after use).
  chmodSync(LAB_ROOT, 0o755);
  chmodSync(dir, 0o755);
  const imageDir = path.join(dir, 'images');
  mkdirSync(imageDir, { mode: 0o755 });
  const record: LabRecord = {
    prefix,
    ownerPid: process.pid,
    ownerStart: procStart(process.pid) ?? '',
    netns: [],
    partitions: [],
  };
  writeRecord(dir, record);

  const hosts: LabHost[] = ['h1', 'h2'].map((name, i) => ({
    name,
    netns: `${prefix}-${name}`,
    dir: path.join(dir, name),
    underlayDev: 'ul0',
    underlayIp: `192.0.2.${i + 1}`,
  }));
  const lab: NetnsLab = {
    prefix,
    dir,
    imageDir,
    hosts,
    ensurePartition(partition) {
      if (!record.partitions.includes(partition)) {
        record.partitions.push(partition);
        writeRecord(dir, record);
      }
      createPartition(partition);
    },
    trackProcess(pid) {
      const start = procStart(pid);
      if (start === null) return;
      (record.processes ??= []).push({ pid, start });
      writeRecord(dir, record);
    },
    async stopLibvirtd(host) {
      return killPidfile(path.join(host.dir, 'libvirtd.pid'), 'libvirtd');
    },
    async startLibvirtd(host) {
      if (!host.libvirtUri) throw new Error(`${host.name} was created without libvirt`);
      await runDaemonScript(host, LIBVIRTD_SCRIPT);
      await waitForLibvirt(host.libvirtUri, host.dir);
      const pid = readPid(path.join(host.dir, 'libvirtd.pid'));
      if (pid === null) throw new Error(`${host.name}: libvirtd wrote no pidfile`);
      log(`${host.name}: libvirtd restarted, pid ${pid}`);
      return pid;
    },
    dispose: () => teardown(dir, log),
  };
  try {
    for (const h of hosts) {
      mkdirSync(h.dir, { mode: 0o755 });
      record.netns.push(h.netns);
      writeRecord(dir, record);
      await run('ip', ['netns', 'add', h.netns]);
      await run('ip', ['-n', h.netns, 'link', 'set', 'lo', 'up']);
    }
    const [a, b] = hosts as [LabHost, LabHost];
    // Both ends are born inside the host namespaces: the root namespace never has the link.
    await run('ip', [
      'link',
      'add',
      'name',
      a.underlayDev,
      'netns',
      a.netns,
      'type',
      'veth',
      'peer',
      'name',
      b.underlayDev,
      'netns',
      b.netns,
    ]);
    for (const h of hosts) {
      await run('ip', ['-n', h.netns, 'addr', 'add', `${h.underlayIp}/24`, 'dev', h.underlayDev]);
      await run('ip', ['-n', h.netns, 'link', 'set', h.underlayDev, 'up']);
    }
    if (options.libvirt)
      for (const h of hosts) {
        await startHostLibvirt(h);
        log(
          `${h.name}: netns ${h.netns}, libvirtd pid ${readPid(path.join(h.dir, 'libvirtd.pid'))}, virtlogd pid ${readPid(path.join(h.dir, 'virtlogd.pid'))}, ${h.libvirtUri}`,
        );
      }
  } catch (e) {
    await teardown(dir, log);
    throw e;
  }
  return lab;
}
