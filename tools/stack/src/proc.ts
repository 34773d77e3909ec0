/**
 * Process bookkeeping for the stack: pidfiles, liveness, readiness polling, the profile lock, and
 * stopping exactly the processes the stack started (by PID or by the process group it created).
 * It must never find processes by name or signal anything it did not start.
 */
import { spawn, spawnSync } from 'node:child_process';
import {
  closeSync,
  existsSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** State letter and process group of `pid` (from /proc/<pid>/stat), or null when it is gone. */
function procStat(pid: number): { state: string; pgrp: number } | null {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // The command name, in parentheses, may itself contain spaces and parentheses.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return { state: fields[0]!, pgrp: Number(fields[2]) };
  } catch {
    return null;
  }
}

export function isAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
  } catch (e) {
    // EPERM: it exists but belongs to someone else; still alive.
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
  // A zombie still answers kill(0). Daemons that double-fork are re-parented to PID 1, which on
  // these machines reaps late, so a stopped virtlogd can linger as a zombie and would otherwise
  // count as running (seen 2026-11-21).
  return procStat(pid)?.state !== 'Z';
}

/**
 * True while any process of the group `pgid` remains, zombies aside (a launcher such as kc.sh may
 * exit before its children, and an exited leader nobody reaps stays a zombie).
 */
export function groupAlive(pgid: number): boolean {
  if (!existsSync('/proc/self/stat')) return isAliveGroupBySignal(pgid);
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const st = procStat(Number(entry));
    if (st && st.pgrp === pgid && st.state !== 'Z') return true;
  }
  return false;
}

function isAliveGroupBySignal(pgid: number): boolean {
  try {
    process.kill(-pgid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The PID on the first line of `file` (the format of Postgres', Redis' and libvirt's pidfiles). */
export function parsePid(text: string): number | null {
  const first = text.split('\n')[0]!.trim();
  if (!/^\d+$/.test(first)) return null;
  const pid = Number(first);
  return pid > 1 ? pid : null;
}

export function readPid(file: string): number | null {
  if (!existsSync(file)) return null;
  return parsePid(readFileSync(file, 'utf8'));
}

/** The PID in `file` if that process still runs. A stale pidfile is removed when `clean`. */
export function livePid(file: string, { clean = true } = {}): number | null {
  const pid = readPid(file);
  if (pid === null) return null;
  if (isAlive(pid)) return pid;
  if (clean) rmSync(file, { force: true });
  return null;
}

/**
 * Like livePid for a pidfile that names a process group we created: alive while any member is,
 * even when the leader (a launcher script) has exited before its children.
 */
export function liveGroup(file: string): number | null {
  const pid = readPid(file);
  if (pid === null) return null;
  if (groupAlive(pid)) return pid;
  rmSync(file, { force: true });
  return null;
}

export function writePid(file: string, pid: number): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `${pid}\n`);
}

export interface Exec {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  timeoutMs?: number;
  cwd?: string;
  /** Written to the command's stdin. */
  input?: string;
}

/** Runs a command to completion and captures its output; never throws. */
export function exec(cmd: string, args: string[], opts: ExecOptions = {}): Promise<Exec> {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, {
      env: opts.env ?? process.env,
      cwd: opts.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    const timer = setTimeout(() => {
      stderr += `\n(killed after ${opts.timeoutMs ?? 120_000} ms)`;
      child.kill('SIGKILL');
    }, opts.timeoutMs ?? 120_000);
    child.on('error', (e) => {
      clearTimeout(timer);
      resolve({ code: 127, stdout, stderr: `${cmd}: ${e.message}` });
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      resolve({ code: code ?? (signal ? 128 : 1), stdout, stderr });
    });
    child.stdin.on('error', () => undefined);
    child.stdin.end(opts.input ?? '');
  });
}

export async function mustExec(
  cmd: string,
  args: string[],
  opts: ExecOptions = {},
): Promise<string> {
  const r = await exec(cmd, args, opts);
  if (r.code !== 0)
    throw new Error(
      `${cmd} ${args.join(' ')} failed (exit ${r.code}): ${(r.stderr || r.stdout).trim().slice(-2000)}`,
    );
  return r.stdout;
}

/**
 * Starts a long-running process as the leader of a new process group, output appended to
 * `logFile`. The group is what `down` stops, so helpers it forks go with it.
 */
export function spawnDetached(
  cmd: string,
  args: string[],
  opts: { env: NodeJS.ProcessEnv; logFile: string; cwd?: string },
): number {
  mkdirSync(path.dirname(opts.logFile), { recursive: true });
  const fd = openSync(opts.logFile, 'a');
  const child = spawn(cmd, args, {
    env: opts.env,
    cwd: opts.cwd,
    detached: true,
    stdio: ['ignore', fd, fd],
  });
  child.unref();
  if (child.pid === undefined) throw new Error(`could not start ${cmd}`);
  return child.pid;
}

/**
 * Runs a command that forks a daemon and exits (`libvirtd -d`); resolves with its exit status.
 * Output goes to `logFile`, not to pipes: the daemon inherits stdout and stderr, and a pipe would
 * stay open until the daemon closes them, which libvirtd does only seconds later.
 */
export function runDaemonizer(cmd: string, args: string[], logFile: string): Promise<number> {
  mkdirSync(path.dirname(logFile), { recursive: true });
  const fd = openSync(logFile, 'a');
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { stdio: ['ignore', fd, fd] });
    closeSync(fd);
    child.on('error', () => resolve(127));
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
  });
}

export const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Polls `check` until it holds; fails early when the process it waits for has died. */
export async function waitFor(
  what: string,
  check: () => Promise<boolean>,
  timeoutMs: number,
  alive?: () => boolean,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check().catch(() => false)) return;
    if (alive && !alive()) throw new Error(`${what} exited before it was ready`);
    if (Date.now() > deadline)
      throw new Error(`${what} not ready after ${Math.round(timeoutMs / 1000)} s`);
    await sleep(200);
  }
}

export function portOpen(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host });
    s.setTimeout(1000);
    s.once('connect', () => {
      s.destroy();
      resolve(true);
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

/** Refuses to start a service whose port something else (not started by us) already holds. */
export async function assertPortFree(port: number, service: string): Promise<void> {
  if (await portOpen(port))
    throw new Error(
      `port ${port} (${service}) is taken by a process this stack did not start; stop that process, or set PALISADE_PORT_OFFSET`,
    );
}

/**
 * SIGTERM the process (or its whole group), wait up to `graceMs` for it (every member of the
 * group) to exit, then SIGKILL what is left.
 */
export async function stopPid(
  pid: number,
  { group = false, graceMs = 15_000 } = {},
): Promise<void> {
  const target = group ? -pid : pid;
  const alive = () => (group ? groupAlive(pid) : isAlive(pid));
  try {
    process.kill(target, 'SIGTERM');
  } catch {
    return;
  }
  const deadline = Date.now() + graceMs;
  while (alive() && Date.now() < deadline) await sleep(100);
  if (!alive()) return;
  try {
    process.kill(target, 'SIGKILL');
  } catch {
    return;
  }
  const killDeadline = Date.now() + 5000;
  while (alive()) {
    if (Date.now() > killDeadline)
      throw new Error(`pid ${pid} survived SIGKILL (stuck in the kernel?)`);
    await sleep(50);
  }
}

/**
 * Takes an exclusive flock(2) on `file` for the rest of this process's life. flock(1) locks the
 * open file description it inherits as fd 3, which this process keeps open, so the lock outlives
 * the helper and the kernel drops it when we exit, however we exit: no stale lock files.
 * Processes the stack starts do not inherit the descriptor (Node opens files close-on-exec).
 */
export function holdLock(file: string, onWait: () => void): () => void {
  mkdirSync(path.dirname(file), { recursive: true });
  const fd = openSync(file, 'a');
  const flock = (args: string[]) =>
    spawnSync('flock', [...args, '3'], { stdio: ['ignore', 'ignore', 'pipe', fd] });
  let r = flock(['-x', '-n']);
  if (r.status === 1) {
    onWait();
    r = flock(['-x']);
  }
  if (r.status !== 0)
    throw new Error(`could not lock ${file}: ${r.error?.message ?? r.stderr?.toString().trim()}`);
  return () => closeSync(fd);
}
