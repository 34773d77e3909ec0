import { describe, expect, it } from 'vitest';
import {
  type Clock,
  renewalDelayMs,
  renewalDueAt,
  RenewalScheduler,
  retryDelayMs,
  type Validity,
} from './renewal';

const DAY = 86_400_000;
const validity = (startMs: number, days: number): Validity => ({
  notBefore: new Date(startMs),
  notAfter: new Date(startMs + days * DAY),
});

/** A clock whose time moves only when the test says so; timers fire in due order. */
function manualClock(startMs: number) {
  let now = startMs;
  let timers: { at: number; fn: () => void; live: boolean }[] = [];
  const clock: Clock = {
    now: () => new Date(now),
    setTimeout(fn, ms) {
      const t = { at: now + ms, fn, live: true };
      timers.push(t);
      return { cancel: () => (t.live = false) };
    },
  };
  return {
    clock,
    pending: () => timers.filter((t) => t.live).map((t) => t.at - now),
    /** Advances to the next live timer and runs it (and lets its promise chain settle). */
    async next() {
      const t = timers.filter((x) => x.live).sort((a, b) => a.at - b.at)[0];
      if (!t) throw new Error('no timer pending');
      now = t.at;
      t.live = false;
      timers = timers.filter((x) => x.live);
      t.fn();
      for (let i = 0; i < 10; i++) await Promise.resolve();
    },
    now: () => now,
  };
}

describe('renewal decision', () => {
  const start = Date.UTC(2026, 10, 1);
  const v = validity(start, 30);

  it('is due at two thirds of the validity: day 20 of 30', () => {
    expect(renewalDueAt(v).toISOString()).toBe(new Date(start + 20 * DAY).toISOString());
  });

  it('waits until then, and is due at once when that has passed', () => {
    expect(renewalDelayMs(v, new Date(start + 5 * DAY))).toBe(15 * DAY);
    expect(renewalDelayMs(v, new Date(start + 20 * DAY))).toBe(0);
    expect(renewalDelayMs(v, new Date(start + 29 * DAY))).toBe(0);
  });

  it('backs off exponentially after failures, capped at an hour', () => {
    expect([1, 2, 3, 4].map(retryDelayMs)).toEqual([30_000, 60_000, 120_000, 240_000]);
    expect(retryDelayMs(20)).toBe(3_600_000);
  });
});

describe('RenewalScheduler', () => {
  it('renews at 2/3, then schedules from the new certificate; a failure retries with backoff', async () => {
    const start = Date.UTC(2026, 10, 1);
    const m = manualClock(start);
    const renewedAt: number[] = [];
    const errors: number[] = [];
    let failNext = false;
    const scheduler = new RenewalScheduler(
      async () => {
        if (failNext) {
          failNext = false;
          throw new Error('gateway down');
        }
        renewedAt.push(m.now());
        return validity(m.now(), 30);
      },
      (_e, retry) => errors.push(retry),
      m.clock,
    );
    scheduler.start(validity(start, 30));
    expect(m.pending()).toEqual([20 * DAY]);
    await m.next();
    expect(renewedAt).toEqual([start + 20 * DAY]);
    // The next one is due 20 days after the new certificate's start.
    expect(m.pending()).toEqual([20 * DAY]);

    failNext = true;
    await m.next();
    expect(errors).toEqual([30_000]);
    expect(renewedAt).toHaveLength(1);
    await m.next();
    expect(renewedAt).toEqual([start + 20 * DAY, start + 40 * DAY + 30_000]);
    scheduler.stop();
    expect(m.pending()).toEqual([]);
  });

  it('a certificate past its renewal point at start is renewed immediately', () => {
    const start = Date.UTC(2026, 10, 1);
    const m = manualClock(start + 25 * DAY);
    new RenewalScheduler(
      async () => validity(m.now(), 30),
      () => {},
      m.clock,
    ).start(validity(start, 30));
    expect(m.pending()).toEqual([0]);
  });

  it('renewNow renews at once and schedules the next renewal from the new certificate', async () => {
    const start = Date.UTC(2026, 10, 1);
    const m = manualClock(start + DAY);
    const renewedAt: number[] = [];
    const scheduler = new RenewalScheduler(
      async () => {
        renewedAt.push(m.now());
        return validity(m.now(), 30);
      },
      () => {},
      m.clock,
    );
    scheduler.start(validity(start, 30));
    expect(m.pending()).toEqual([19 * DAY]);
    scheduler.renewNow();
    for (let i = 0; i < 10; i++) await Promise.resolve();
    expect(renewedAt).toEqual([start + DAY]);
    expect(m.pending()).toEqual([20 * DAY]);
  });
});
