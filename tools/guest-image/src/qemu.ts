/**
 * Boots Palisade Tiny straight under qemu-system-x86_64 (no libvirt) for this package's tests
 * and for developers: TCG only, the serial line on a Unix socket (so a test can both read the
 * markers and type into the guest's shell), and networking that reaches nothing — either no NIC
 * at all, or a user-mode NIC with `restrict=on` whose only path is port forwards from 127.0.0.1.
 *
 * It must never use KVM (guests hang on these machines, see DESIGN.md) and never give a guest a
 * route off the host: there is deliberately no option for a bridged or unrestricted NIC here.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parseMarkers, type Markers } from './markers';

export type TinyBoot =
  | { kind: 'direct'; kernel: string; initrd: string; cmdline: string }
  | { kind: 'bios'; disk: string; format: 'qcow2' | 'raw' };

export interface TinyDisk {
  file: string;
  format: 'raw' | 'qcow2';
  readonly?: boolean;
}

export type TinyNetwork =
  | { kind: 'none' }
  | {
      /** slirp with restrict=on: the guest can answer forwarded connections, reach nothing. */
      kind: 'isolated-user';
      mac: string;
      /** Forwards from 127.0.0.1:<hostPort> to the guest's `guestIp`:<guestPort>. */
      forwards: { hostPort: number; guestIp: string; guestPort: number }[];
    };

export interface TinyGuestOptions {
  boot: TinyBoot;
  /** Virtio disks after the boot disk, in order (the seed is usually the last). */
  disks: TinyDisk[];
  network: TinyNetwork;
  /** Private folder for the serial socket and log. */
  workDir: string;
  memoryMiB?: number;
}

/** The qemu-system-x86_64 argument vector for `opts`, with the serial line on `socket`. */
export function tinyQemuArgs(opts: TinyGuestOptions, socket: string, serialLog: string): string[] {
  for (const p of [socket, serialLog])
    if (p.includes(',')) throw new Error(`qemu option values cannot contain ',': ${p}`);
  const args = [
    '-machine',
    'pc,accel=tcg',
    '-m',
    String(opts.memoryMiB ?? 256),
    '-smp',
    '1',
    '-nodefaults',
    '-no-user-config',
    '-display',
    'none',
    '-chardev',
    `socket,id=ser0,path=${socket},server=on,wait=on,logfile=${serialLog}`,
    '-serial',
    'chardev:ser0',
  ];
  const disks: (TinyDisk & { boot?: boolean })[] = [];
  if (opts.boot.kind === 'direct') {
    args.push(
      '-kernel',
      opts.boot.kernel,
      '-initrd',
      opts.boot.initrd,
      '-append',
      opts.boot.cmdline,
    );
  } else {
    disks.push({ file: opts.boot.disk, format: opts.boot.format, boot: true });
  }
  disks.push(...opts.disks);
  disks.forEach((d, i) => {
    if (d.file.includes(',')) throw new Error(`qemu option values cannot contain ',': ${d.file}`);
    args.push(
      '-drive',
      `file=${d.file},format=${d.format},if=none,id=disk${i}${d.readonly ? ',readonly=on' : ''}`,
      '-device',
      // bootindex keeps SeaBIOS from trying the seed, whose FAT boot sector only says "not bootable".
      `virtio-blk-pci,drive=disk${i}${d.boot ? ',bootindex=0' : ''}`,
    );
  });
  if (opts.network.kind === 'none') {
    args.push('-nic', 'none');
  } else {
    const fwd = opts.network.forwards
      .map((f) => `,hostfwd=tcp:127.0.0.1:${f.hostPort}-${f.guestIp}:${f.guestPort}`)
      .join('');
    args.push(
      '-netdev',
      `user,id=net0,restrict=on${fwd}`,
      '-device',
      `virtio-net-pci,netdev=net0,mac=${opts.network.mac}`,
    );
  }
  return args;
}

/** A running Palisade Tiny under qemu, with its serial line. Stop it with `stop()`. */
export class TinyGuest {
  private output = '';
  private exited: { code: number | null; signal: NodeJS.Signals | null } | null = null;
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    private readonly serial: net.Socket,
    /** When qemu started running the guest (our connection released `wait=on`). */
    readonly startedAt: number,
  ) {
    serial.on('data', (d: Buffer) => (this.output += d.toString('latin1')));
    serial.on('error', () => {});
    child.stderr?.on('data', (d: Buffer) => (this.stderr += d.toString()));
    child.on('exit', (code, signal) => (this.exited = { code, signal }));
  }

  get pid(): number {
    return this.child.pid!;
  }

  /** All serial output so far. */
  get console(): string {
    return this.output;
  }

  markers(): Markers {
    return parseMarkers(this.output);
  }

  static async start(opts: TinyGuestOptions): Promise<TinyGuest> {
    const socket = path.join(opts.workDir, 'serial.sock');
    const log = path.join(opts.workDir, 'serial.log');
    const child = spawn('qemu-system-x86_64', tinyQemuArgs(opts, socket, log), {
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    let stderr = '';
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    let exitedEarly = false;
    child.once('exit', () => (exitedEarly = true));
    const deadline = Date.now() + 30_000;
    for (;;) {
      if (exitedEarly) throw new Error(`qemu exited before the guest started: ${stderr.trim()}`);
      if (existsSync(socket)) {
        const s = await connect(socket).catch(() => null);
        if (s) return new TinyGuest(child, s, Date.now());
      }
      if (Date.now() > deadline) {
        child.kill('SIGKILL');
        throw new Error(`qemu did not open its serial socket: ${stderr.trim()}`);
      }
      await sleep(50);
    }
  }

  /** Types `text` on the serial line. */
  send(text: string): void {
    this.serial.write(text);
  }

  /**
   * Resolves with the first non-undefined `pick(markers, console)`; rejects when the guest's
   * qemu exits or `timeoutMs` passes, with the serial log in the message.
   */
  async waitFor<T>(
    what: string,
    pick: (m: Markers, console: string) => T | undefined,
    timeoutMs: number,
  ): Promise<T> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const v = pick(this.markers(), this.output);
      if (v !== undefined) return v;
      if (this.exited)
        throw new Error(
          `qemu exited (${JSON.stringify(this.exited)}) before ${what}: ${this.stderr}\n${this.tail()}`,
        );
      if (Date.now() > deadline)
        throw new Error(
          `no ${what} after ${Math.round(timeoutMs / 1000)} s; serial log:\n${this.tail()}`,
        );
      await sleep(100);
    }
  }

  private tail(): string {
    return this.output.slice(-4000);
  }

  /** Kills this qemu by its PID and waits for it to be gone. */
  async stop(): Promise<void> {
    this.serial.destroy();
    if (this.exited) return;
    const gone = new Promise<void>((r) => this.child.once('exit', () => r()));
    try {
      process.kill(this.pid, 'SIGKILL');
    } catch {
      return; // already gone
    }
    await gone;
  }
}

function connect(socketPath: string): Promise<net.Socket> {
  return new Promise((resolve, reject) => {
    const s = net.connect(socketPath);
    s.once('connect', () => resolve(s));
    s.once('error', reject);
  });
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
