/**
 * Domain lifecycle events from libvirt, read from one long-lived
 * `virsh -c <uri> event --event lifecycle --loop --timestamp` child per subscribed
 * `LibvirtHypervisor`, plus the parser for the lines it prints.
 *
 * - virsh prints the domain's *name*, not its UUID (libvirt 9.0, measured); the caller resolves
 *   names to UUIDs.
 * - virsh prints nothing once its callback is registered, so readiness is taken from libvirt's
 *   own client log on stderr: the reply to REMOTE_PROC_CONNECT_DOMAIN_EVENT_CALLBACK_REGISTER_ANY
 *   (remote procedure 316; procedure numbers are libvirt's stable wire ABI). Operations started
 *   after a subscription wait for that, so their events are not lost in the start-up window.
 * - When the child ends (libvirtd restarted or went away, or virsh reports the disconnect) the
 *   stream reports `disconnected` and starts a new child with exponential backoff. Once a new
 *   child's callback is registered again it reports `reconnected`: events flow again, and the
 *   ones in between are lost, so that is when a caller's resynchronisation (listing domains) can
 *   succeed and is needed.
 *
 * Must never outlive `stop()`: the child is killed by its PID.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';

export interface LifecycleLine {
  at: Date;
  name: string;
  /** libvirt's event in its enum vocabulary, lower case: `defined`, `started`, `stopped`, ... */
  event: string;
  /** The detail in libvirt's enum vocabulary: `added`, `booted`, `destroyed`, `host`, ... */
  detail: string;
}

const LINE =
  /^(\d{4}-\d\d-\d\d) (\d\d:\d\d:\d\d\.\d{3})([+-]\d\d)(\d\d): event 'lifecycle' for domain '(.*)': (\S+) (.+)$/;

/** virsh's display strings (virshDomainEventDetailToString, libvirt 9.0) whose enum name differs
 *  from the lower-cased text; everything else is just lower-cased. */
const DETAIL: Record<string, Record<string, string>> = {
  defined: { snapshot: 'from_snapshot' },
  started: { snapshot: 'from_snapshot', 'event wakeup': 'wakeup' },
  suspended: {
    snapshot: 'from_snapshot',
    'i/o error': 'ioerror',
    'api error': 'api_error',
    'post-copy': 'postcopy',
    'post-copy error': 'postcopy_failed',
  },
  resumed: {
    snapshot: 'from_snapshot',
    'post-copy': 'postcopy',
    'post-copy error': 'postcopy_failed',
  },
  stopped: { snapshot: 'from_snapshot' },
  shutdown: { 'finished after guest request': 'guest', 'finished after host request': 'host' },
};

/** One line of `virsh event --event lifecycle --timestamp`, or undefined for anything else. */
export function parseEventLine(line: string): LifecycleLine | undefined {
  const m = LINE.exec(line.trimEnd());
  if (!m) return undefined;
  const [, date, time, tzH, tzM, name, rawEvent, rawDetail] = m as unknown as string[];
  const event = rawEvent!.toLowerCase();
  const text = rawDetail!.trim().toLowerCase();
  const detail = DETAIL[event]?.[text] ?? text.replace(/[^a-z0-9]+/g, '_');
  return { at: new Date(`${date}T${time}${tzH}:${tzM}`), name: name!, event, detail };
}

/** A libvirt client log line (`LIBVIRT_LOG_OUTPUTS=...:stderr`), as opposed to virsh's errors. */
const LOG_LINE = /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{3}[+-]\d{4}: \d+: \w+ : /;
const REGISTERED = /RPC_CLIENT_MSG_RX: .* proc=316 type=1 status=0/;
const DISCONNECTED = /Disconnected from .* due to/;

export type StderrLine =
  | { kind: 'registered' }
  | { kind: 'log' }
  | { kind: 'disconnected'; text: string }
  | {
      kind: 'error';
      text: string;
    };

export function classifyStderrLine(line: string): StderrLine {
  if (REGISTERED.test(line)) return { kind: 'registered' };
  if (LOG_LINE.test(line)) return { kind: 'log' };
  const text = line.replace(/^error: /, '').trim();
  return DISCONNECTED.test(line) ? { kind: 'disconnected', text } : { kind: 'error', text };
}

export interface EventStreamOptions {
  uri: string;
  virsh: string;
  onEvent(e: LifecycleLine): void;
  onDisconnect(reason: string, at: Date): void;
  /** After an `onDisconnect`: a new child is registered and delivering events again. */
  onReconnect?(at: Date): void;
  /** First retry delay and the cap it doubles up to. */
  backoff: { initialMs: number; maxMs: number };
}

export class VirshEventStream {
  private child: ChildProcessWithoutNullStreams | undefined;
  private stopped = false;
  private delayMs: number;
  private retry: NodeJS.Timeout | undefined;
  private readyPromise: Promise<void> = Promise.resolve();
  private markReady: () => void = () => undefined;
  /** A connected child was lost and no new one has registered since. */
  private lost = false;

  constructor(private readonly options: EventStreamOptions) {
    this.delayMs = options.backoff.initialMs;
  }

  /** PID of the current virsh child, if one runs. */
  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Resolves once the current child's callback is registered (or when the stream stops). */
  ready(): Promise<void> {
    return this.readyPromise;
  }

  start(): void {
    this.readyPromise = new Promise((resolve) => (this.markReady = resolve));
    const child = spawn(
      this.options.virsh,
      ['-c', this.options.uri, 'event', '--event', 'lifecycle', '--loop', '--timestamp'],
      {
        stdio: ['pipe', 'pipe', 'pipe'],
        env: {
          ...process.env,
          LC_ALL: 'C',
          // Only the RPC client's info lines, to see the registration reply (see the header).
          LIBVIRT_LOG_FILTERS: '2:rpc.netclient',
          LIBVIRT_LOG_OUTPUTS: '2:stderr',
        },
      },
    );
    this.child = child;
    let errors: string[] = [];
    let connected = false;
    lines(child.stdout, (line) => {
      const e = parseEventLine(line);
      if (e) this.options.onEvent(e);
    });
    lines(child.stderr, (line) => {
      const c = classifyStderrLine(line);
      if (c.kind === 'registered' && !connected) {
        connected = true;
        this.delayMs = this.options.backoff.initialMs;
        this.markReady();
        if (this.lost) {
          this.lost = false;
          this.options.onReconnect?.(new Date());
        }
      } else if (c.kind === 'disconnected') {
        errors.push(c.text);
        child.kill('SIGTERM'); // virsh may stay in its loop; its exit drives the reconnect
      } else if (c.kind === 'error' && c.text) {
        errors = [...errors.slice(-4), c.text];
      }
    });
    child.on('error', (e) => errors.push(e.message));
    child.on('close', (code, signal) => {
      if (this.child === child) this.child = undefined;
      this.markReady();
      if (this.stopped) return;
      const reason =
        errors.join('; ') || `virsh event exited (${signal ?? `code ${String(code)}`})`;
      // Only a stream that was delivering events lost any; a failed (re)connect is silent.
      if (connected) {
        this.lost = true;
        this.options.onDisconnect(reason, new Date());
      }
      this.retry = setTimeout(() => {
        this.retry = undefined;
        if (!this.stopped) this.start();
      }, this.delayMs);
      this.delayMs = Math.min(this.delayMs * 2, this.options.backoff.maxMs);
    });
  }

  stop(): void {
    this.stopped = true;
    if (this.retry) clearTimeout(this.retry);
    const pid = this.child?.pid;
    if (pid !== undefined) {
      try {
        process.kill(pid, 'SIGTERM');
      } catch {
        // already gone
      }
    }
    this.child = undefined;
    this.markReady();
  }
}

function lines(stream: NodeJS.ReadableStream, onLine: (line: string) => void): void {
  let buffered = '';
  stream.setEncoding('utf8');
  stream.on('data', (chunk: string) => {
    buffered += chunk;
    let i: number;
    while ((i = buffered.indexOf('\n')) >= 0) {
      onLine(buffered.slice(0, i));
      buffered = buffered.slice(i + 1);
    }
  });
}
