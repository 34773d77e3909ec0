/**
 * The one place `LibvirtHypervisor` starts short-lived host commands (`virsh`, `qemu-img`): argv
 * only (no shell), a timeout that kills the process, optional stdin, and a private temp file for
 * key material. It must never put secret bytes in argv or in an error: argv is world-readable in
 * /proc, and errors end up in logs.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';

export interface CommandResult {
  stdout: string;
  stderr: string;
}

export interface RunOptions {
  timeoutMs: number;
  /** Written to the child's stdin, which is then closed. */
  input?: string;
}

/** A command that exited non-zero, was killed by its timeout, or could not be started. */
export class CommandError extends Error {
  constructor(
    readonly command: string,
    readonly args: readonly string[],
    readonly exitCode: number | null,
    readonly stderr: string,
    readonly stdout: string,
    readonly timedOut: boolean,
  ) {
    super(
      timedOut
        ? `${command} timed out`
        : `${command} exited with ${exitCode ?? 'a signal'}: ${stderr.trim()}`,
    );
    this.name = 'CommandError';
  }
}

export async function runCommand(
  command: string,
  args: readonly string[],
  options: RunOptions,
): Promise<CommandResult> {
  return new Promise((resolve, reject) => {
    // LC_ALL=C: the error texts mapped in errors.ts are libvirt's and QEMU's untranslated ones.
    const child = spawn(command, args, {
      stdio: ['pipe', 'pipe', 'pipe'],
      env: { ...process.env, LC_ALL: 'C' },
    });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, options.timeoutMs);
    child.stdout.on('data', (b: Buffer) => out.push(b));
    child.stderr.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e) => {
      clearTimeout(timer);
      reject(new CommandError(command, args, null, e.message, '', false));
    });
    child.on('close', (code) => {
      clearTimeout(timer);
      const stdout = Buffer.concat(out).toString('utf8');
      const stderr = Buffer.concat(err).toString('utf8');
      if (code === 0 && !timedOut) resolve({ stdout, stderr });
      else reject(new CommandError(command, args, code, stderr, stdout, timedOut));
    });
    child.stdin.on('error', () => undefined); // the child may exit before reading its stdin
    child.stdin.end(options.input ?? '');
  });
}

/**
 * Runs `fn` with the path of a 0600 file holding `bytes` in a 0700 directory, and removes both
 * right after, whatever `fn` does. The tmpfs under /tmp is the usual place; the bytes never
 * reach a command line.
 */
export async function withPrivateFile<T>(
  bytes: Uint8Array,
  fn: (file: string) => Promise<T>,
  name = 'key',
): Promise<T> {
  const dir = await mkdtemp(path.join(tmpdir(), 'palisade-key-'));
  const file = path.join(dir, name);
  try {
    await writeFile(file, bytes, { mode: 0o600 });
    return await fn(file);
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}
