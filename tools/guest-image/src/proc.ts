/**
 * Running the host tools the image is built with (apt-get, dpkg-deb, cpio, mtools, syslinux,
 * qemu-img). Every call goes through execFile with an argument vector: no shell, so no file name
 * or seed value can ever be interpreted as shell syntax on the host.
 */
import { execFile, spawn } from 'node:child_process';
import { createWriteStream } from 'node:fs';

export interface ExecResult {
  code: number;
  stdout: string;
  stderr: string;
}

export interface ExecOptions {
  env?: NodeJS.ProcessEnv;
  cwd?: string;
  timeoutMs?: number;
}

export function exec(cmd: string, args: string[], opts: ExecOptions = {}): Promise<ExecResult> {
  return new Promise((resolve) => {
    execFile(
      cmd,
      args,
      {
        env: opts.env ?? process.env,
        cwd: opts.cwd,
        timeout: opts.timeoutMs ?? 300_000,
        maxBuffer: 64 * 1024 * 1024,
        encoding: 'utf8',
      },
      (err, stdout, stderr) => {
        const e = err as (NodeJS.ErrnoException & { code?: number | string }) | null;
        resolve({
          code: e ? (typeof e.code === 'number' ? e.code : 127) : 0,
          stdout,
          stderr: stderr || (e ? e.message : ''),
        });
      },
    );
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
 * `producer | consumer > outFile` without a shell: used for `cpio | gzip` on the initramfs,
 * which is too large to hold comfortably in a string buffer.
 */
export function pipeToFile(
  producer: { cmd: string; args: string[]; cwd?: string; stdin?: string },
  consumer: { cmd: string; args: string[] },
  outFile: string,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const a = spawn(producer.cmd, producer.args, {
      cwd: producer.cwd,
      stdio: ['pipe', 'pipe', 'pipe'],
    });
    const b = spawn(consumer.cmd, consumer.args, { stdio: ['pipe', 'pipe', 'pipe'] });
    const out = createWriteStream(outFile);
    let errText = '';
    a.stderr.on('data', (d: Buffer) => (errText += d.toString()));
    b.stderr.on('data', (d: Buffer) => (errText += d.toString()));
    a.stdout.pipe(b.stdin);
    b.stdout.pipe(out);
    a.stdin.end(producer.stdin ?? '');
    let pending = 3;
    let failed = false;
    const done = (what: string) => (code: number | null) => {
      if (failed) return;
      if (code !== null && code !== 0) {
        failed = true;
        reject(new Error(`${what} exited with ${code}: ${errText.trim().slice(-2000)}`));
        return;
      }
      if (--pending === 0) resolve();
    };
    a.on('error', (e) => reject(e));
    b.on('error', (e) => reject(e));
    a.on('close', done(producer.cmd));
    b.on('close', done(consumer.cmd));
    out.on('close', () => done('write')(0));
    out.on('error', (e) => reject(e));
  });
}
