import { describe, expect, it } from 'vitest';
import { EventQueue, type QueuedEvent } from './event-queue';

const lifecycle = (name: string, event = 'started', detail = 'booted'): QueuedEvent => ({
  kind: 'lifecycle',
  uuid: `uuid-${name}`,
  name,
  event,
  detail,
  at: '2026-11-21T00:00:00.000Z',
});

describe('EventQueue', () => {
  it('numbers events from 1 in the order they arrive', () => {
    const q = new EventQueue();
    expect(q.push(lifecycle('a')).seq).toBe(1);
    expect(q.push(lifecycle('b')).seq).toBe(2);
    expect(q.after(0).map((e) => [e.seq, e.kind === 'lifecycle' && e.name])).toEqual([
      [1, 'a'],
      [2, 'b'],
    ]);
    expect(q.after(1).map((e) => e.seq)).toEqual([2]);
  });

  it('hands out batches of the oldest unacknowledged events, and forgets what was acknowledged', () => {
    const q = new EventQueue();
    for (const n of ['a', 'b', 'c', 'd', 'e']) q.push(lifecycle(n));
    expect(q.pending(2).map((e) => e.seq)).toEqual([1, 2]);
    q.acknowledge(2);
    expect(q.pending(2).map((e) => e.seq)).toEqual([3, 4]);
    expect(q.after(0).map((e) => e.seq)).toEqual([3, 4, 5]);
    expect(q.stats()).toEqual({ lastSeq: 5, acknowledged: 2, dropped: 0, queued: 3 });
  });

  it('an old or repeated acknowledgement changes nothing; one past the end stops at the end', () => {
    const q = new EventQueue();
    q.push(lifecycle('a'));
    q.push(lifecycle('b'));
    q.acknowledge(1);
    q.acknowledge(1);
    q.acknowledge(0);
    expect(q.pending(10).map((e) => e.seq)).toEqual([2]);
    q.acknowledge(99);
    expect(q.stats()).toMatchObject({ acknowledged: 2, queued: 0 });
    expect(q.push(lifecycle('c')).seq).toBe(3);
    expect(q.pending(10).map((e) => e.seq)).toEqual([3]);
  });

  it('when full, drops the oldest, counts it, and asks for the full domain list', () => {
    const q = new EventQueue(3);
    for (const n of ['a', 'b', 'c']) q.push(lifecycle(n));
    expect(q.resyncNeeded).toBe(false);
    q.push(lifecycle('d'));
    expect(q.after(0).map((e) => e.seq)).toEqual([2, 3, 4]);
    expect(q.stats().dropped).toBe(1);
    expect(q.resyncNeeded).toBe(true);
    q.resynced();
    expect(q.resyncNeeded).toBe(false);
  });

  it('a disconnected event asks for the full domain list', () => {
    const q = new EventQueue();
    q.push({ kind: 'disconnected', reason: 'libvirtd restarted', at: '2026-11-21T00:00:00.000Z' });
    expect(q.resyncNeeded).toBe(true);
    expect(q.pending(1)[0]).toMatchObject({ seq: 1, kind: 'disconnected' });
  });

  it('refuses a capacity that is not a positive integer', () => {
    expect(() => new EventQueue(0)).toThrow(/capacity/);
  });
});
