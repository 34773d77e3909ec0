/**
 * A libvirt guest's serial pty, read raw (no echo back into the guest), for functional tests
 * that wait for the Palisade Tiny guest's markers. For tests only; the caller closes it.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { promisify } from 'node:util';

const exec = promisify(execFile);
/** Setup bound for a TCG boot on a shared 2-core machine; not an assertion. */
export const BOOT_BOUND_MS = 10 * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

export class SerialConsole {
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
  async waitFor(re: RegExp): Promise<RegExpMatchArray> {
    for (const end = Date.now() + BOOT_BOUND_MS; Date.now() < end; await sleep(250)) {
      const m = this.text.match(re);
      if (m) return m;
    }
    throw new Error(`${re} not seen on ${this.pty}; console so far:\n${this.text}`);
  }
  close(): void {
    if (this.reader?.exitCode === null) this.reader.kill('SIGTERM');
  }
}
