/**
 * Makes a host operation idempotent by its operation ID where the operation itself is not
 * (a reboot, a revert: doing them twice is not the same as once). A repeat of a call that is
 * still running joins it; a repeat of one that succeeded gets the same answer without acting
 * again. A failure is not remembered, so the worker's retry really retries.
 *
 * With a `file`, the answers survive an agent restart: the worker retries a step whose answer it
 * lost (the agent was restarted, upgraded or crashed mid-answer) with the same operation ID, and
 * a reboot done again there would cut the guest's power a second time, a revert would throw away
 * what the guest wrote since. The answer is written before it is returned, to a 0600 file in a
 * 0700 directory, through a temporary file and a rename (atomic within one directory), so a
 * crash leaves the old list or the new one, never half of one.
 *
 * Bounded: at most `limit` answers (the oldest forgotten first) and none older than `maxAgeMs`,
 * far beyond any operation's deadline, so a forgotten ID is one no worker retries any more.
 * Must never hold key material (results only, never inputs).
 */
import { readFileSync } from 'node:fs';
import { mkdir, rename, rm, writeFile } from 'node:fs/promises';
import path from 'node:path';

export interface OperationMemoOptions {
  /** Most answers kept (default 1000). */
  limit?: number;
  /** Where the answers persist; memory only when absent. */
  file?: string;
  /** How long an answer is kept (default 7 days). */
  maxAgeMs?: number;
  now?: () => number;
  /** Told when the file cannot be read or written; the memo goes on in memory. */
  warn?: (message: string) => void;
}

const DAY_MS = 24 * 60 * 60 * 1000;
const FORMAT = 1;

interface Entry<T> {
  at: number;
  result: T;
}

export class OperationMemo<T> {
  private readonly running = new Map<string, Promise<T>>();
  private readonly done = new Map<string, Entry<T>>();
  private readonly limit: number;
  private readonly maxAgeMs: number;
  private readonly now: () => number;
  private readonly warn: (message: string) => void;
  /** Writes run one after another, so an older list never lands after a newer one. */
  private writing: Promise<void> = Promise.resolve();

  constructor(private readonly options: OperationMemoOptions = {}) {
    this.limit = options.limit ?? 1000;
    this.maxAgeMs = options.maxAgeMs ?? 7 * DAY_MS;
    this.now = options.now ?? Date.now;
    this.warn = options.warn ?? (() => undefined);
    if (options.file) this.load(options.file);
  }

  run(operationId: string, fn: () => Promise<T>): Promise<T> {
    const hit = this.done.get(operationId);
    if (hit && this.now() - hit.at <= this.maxAgeMs) return Promise.resolve(hit.result);
    const inFlight = this.running.get(operationId);
    if (inFlight) return inFlight;
    const p = fn().then(
      async (result) => {
        this.done.set(operationId, { at: this.now(), result });
        this.prune();
        await this.persist();
        this.running.delete(operationId);
        return result;
      },
      (e: unknown) => {
        this.running.delete(operationId);
        throw e;
      },
    );
    this.running.set(operationId, p);
    return p;
  }

  private prune(): void {
    const oldest = this.now() - this.maxAgeMs;
    for (const [id, e] of this.done) if (e.at < oldest) this.done.delete(id);
    // Map order is insertion order: the first keys are the oldest answers.
    while (this.done.size > this.limit) this.done.delete(this.done.keys().next().value!);
  }

  /** Synchronous, once, at construction: the agent serves no call before its memo is loaded. */
  private load(file: string): void {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      if ((e as NodeJS.ErrnoException).code !== 'ENOENT')
        this.warn(`operation memo ${file} unreadable, starting empty: ${(e as Error).message}`);
      return;
    }
    try {
      const parsed = JSON.parse(text) as { format?: number; entries?: [string, Entry<T>][] };
      if (parsed.format !== FORMAT || !Array.isArray(parsed.entries))
        throw new Error(`unknown format ${String(parsed.format)}`);
      for (const [id, e] of parsed.entries)
        if (typeof id === 'string' && typeof e?.at === 'number') this.done.set(id, e);
      this.prune();
    } catch (e) {
      this.warn(`operation memo ${file} is damaged, starting empty: ${(e as Error).message}`);
    }
  }

  private persist(): Promise<void> {
    const file = this.options.file;
    if (!file) return Promise.resolve();
    const body = JSON.stringify({ format: FORMAT, entries: [...this.done] });
    const next = this.writing.then(async () => {
      const tmp = `${file}.${process.pid}.tmp`;
      try {
        await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
        // A leftover temporary file would keep its own mode: start from none.
        await rm(tmp, { force: true });
        await writeFile(tmp, body, { mode: 0o600 });
        await rename(tmp, file);
      } catch (e) {
        // The operation itself succeeded: answering it is right. Only its repeat after a
        // restart is unprotected, which is what the warning says.
        this.warn(
          `operation memo ${file} not written (a repeat after a restart would act again): ${(e as Error).message}`,
        );
      }
    });
    this.writing = next;
    return next;
  }
}

/** Where the agent keeps the memo `name`: `<state>/operations/<name>.json`. */
export function memoFile(stateDir: string, name: string): string {
  return path.join(stateDir, 'operations', `${name}.json`);
}
