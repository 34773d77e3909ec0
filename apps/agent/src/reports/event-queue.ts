/**
 * The agent's event queue: libvirt lifecycle events waiting for the control plane, numbered in
 * the order they happened. Bounded, because the control plane may be away for hours: when full,
 * the oldest unacknowledged event is dropped, counted, and a resynchronisation is requested, so
 * the next batch carries the full domain list and nothing the dropped events said is lost for
 * good. Pure (no I/O, no timers): the reporter feeds and drains it.
 */
import type { AgentEvent } from '@palisade/contracts';

/** An event without its sequence number (the queue assigns it). */
export type QueuedEvent = AgentEvent extends infer E
  ? E extends AgentEvent
    ? Omit<E, 'seq'>
    : never
  : never;

export class EventQueue {
  private readonly events: AgentEvent[] = [];
  private lastSeq = 0;
  private acked = 0;
  private droppedCount = 0;
  private resync = false;

  constructor(private readonly capacity = 10_000) {
    if (!Number.isInteger(capacity) || capacity < 1)
      throw new RangeError(`EventQueue capacity must be a positive integer, got ${capacity}`);
  }

  /** Appends an event; a `disconnected` or `reconnected` one also asks for a resynchronisation
   *  (after `reconnected` the domain list can be read again and is what the control plane needs). */
  push(event: QueuedEvent): AgentEvent {
    const numbered = { ...event, seq: ++this.lastSeq } as AgentEvent;
    this.events.push(numbered);
    if (event.kind === 'disconnected' || event.kind === 'reconnected') this.resync = true;
    while (this.events.length > this.capacity) {
      this.events.shift();
      this.droppedCount++;
      this.resync = true;
    }
    return numbered;
  }

  /** Events after `seq`, oldest first, at most `limit`. */
  after(seq: number, limit = Infinity): AgentEvent[] {
    const out: AgentEvent[] = [];
    for (const e of this.events) {
      if (e.seq <= seq) continue;
      if (out.length >= limit) break;
      out.push(e);
    }
    return out;
  }

  /** The next batch for the control plane: the oldest unacknowledged events. */
  pending(limit: number): AgentEvent[] {
    return this.after(this.acked, limit);
  }

  /** The control plane took everything up to `seq`: drop it. */
  acknowledge(seq: number): void {
    if (seq <= this.acked) return;
    this.acked = Math.min(seq, this.lastSeq);
    while (this.events.length > 0 && this.events[0]!.seq <= this.acked) this.events.shift();
  }

  /** Whether the next batch must carry the full domain list. */
  get resyncNeeded(): boolean {
    return this.resync;
  }

  /** The full domain list was delivered. */
  resynced(): void {
    this.resync = false;
  }

  stats() {
    return {
      lastSeq: this.lastSeq,
      acknowledged: this.acked,
      dropped: this.droppedCount,
      queued: this.events.length,
    };
  }
}
