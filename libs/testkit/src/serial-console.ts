/**
 * A libvirt guest's serial line for functional tests: the pty libvirt allocated (`virsh
 * ttyconsole`, or `<serial><source path>` in the live XML), put in raw mode so nothing typed is
 * echoed back into the guest, read by a `cat` child process, and written to for commands.
 *
 * QEMU drops what the guest prints while no reader has the pty open, so open it as soon as the
 * domain runs. `close()` ends the reader by its PID.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { closeSync, openSync, writeSync } from 'node:fs';
import { promisify } from 'node:util';

const exec = promisify(execFile);
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SerialConsole {
  /** Everything read so far, with CRs removed. */
  text = '';
  private reader: ChildProcess | undefined;

  constructor(readonly pty: string) {}

  async open(): Promise<void> {
    await exec('stty', ['-F', this.pty, 'raw', '-echo']);
    this.reader = spawn('cat', [this.pty], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.reader.stdout!.on(
      'data',
      (b: Buffer) => (this.text += b.toString('latin1').replace(/\r/g, '')),
    );
  }

  type(line: string): void {
    const fd = openSync(this.pty, 'w');
    try {
      writeSync(fd, `${line}\n`);
    } finally {
      closeSync(fd);
    }
  }

  /** Waits up to `boundMs` (a setup bound, not an assertion) for `re` in the output from offset
   *  `from` on; the error carries the console so far. */
  async waitFor(
    re: RegExp,
    boundMs: number,
    what = 'console',
    from = 0,
  ): Promise<RegExpMatchArray> {
    for (const end = Date.now() + boundMs; Date.now() < end; await sleep(250)) {
      const m = this.text.slice(from).match(re);
      if (m) return m;
    }
    throw new Error(
      `${what}: ${re} not seen on ${this.pty} within ${boundMs} ms; console so far:\n${this.text}`,
    );
  }

  /** Types `command` once the shell answers and returns the output from then on, once `result`
   *  matched. Input typed before busybox init opened ttyS0 is lost, so a probe is retyped until it
   *  echoes; `$((…))` keeps the typed text itself from matching. */
  async run(command: string, result: RegExp, boundMs: number, what = command): Promise<string> {
    const n = Math.floor(Math.random() * 1e6);
    for (const end = Date.now() + boundMs; ;) {
      this.type(`echo FN-SHELL-$((${n}+1))`);
      try {
        await this.waitFor(new RegExp(`FN-SHELL-${n + 1}`), 5_000, 'shell');
        break;
      } catch (e) {
        if (Date.now() > end) throw e;
      }
    }
    const from = this.text.length;
    this.type(command);
    await this.waitFor(result, boundMs, what, from);
    // The command's own output only, not an earlier run's.
    return this.text.slice(from);
  }

  close(): void {
    if (this.reader?.pid !== undefined && this.reader.exitCode === null)
      this.reader.kill('SIGTERM');
  }
}
