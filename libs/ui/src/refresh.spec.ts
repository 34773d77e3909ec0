import { describe, expect, it } from 'vitest';
import { refreshDelayMs, TokenRefresher, type TokenExpiry } from './refresh';

const NOW = 1_800_000_000_000; // ms; a fixed clock, so no assertion depends on real time

describe('refreshDelayMs', () => {
  it('refreshes a 5-minute token one minute before it expires', () => {
    expect(refreshDelayMs({ exp: NOW / 1000 + 300, timeSkew: 0 }, NOW)).toBe(240_000);
  });

  it('reads expiry on the local clock: a browser 10 s ahead of the server refreshes 10 s later', () => {
    expect(refreshDelayMs({ exp: NOW / 1000 + 300, timeSkew: 10 }, NOW)).toBe(250_000);
    expect(refreshDelayMs({ exp: NOW / 1000 + 300, timeSkew: -10 }, NOW)).toBe(230_000);
  });

  it('refreshes a short-lived token at half its remaining life instead of at once', () => {
    expect(refreshDelayMs({ exp: NOW / 1000 + 40, timeSkew: 0 }, NOW)).toBe(20_000);
    expect(refreshDelayMs({ exp: NOW / 1000 + 120, timeSkew: 0 }, NOW)).toBe(60_000);
  });

  it('refreshes an expired token at once', () => {
    expect(refreshDelayMs({ exp: NOW / 1000 - 5, timeSkew: 0 }, NOW)).toBe(0);
    expect(refreshDelayMs({ exp: NOW / 1000, timeSkew: 0 }, NOW)).toBe(0);
  });

  it('never asks setTimeout for more than it can count (a year-long token does not fire at once)', () => {
    expect(refreshDelayMs({ exp: NOW / 1000 + 365 * 86_400, timeSkew: 0 }, NOW)).toBe(2 ** 31 - 1);
  });
});

/** Timers that fire only when the test says so. */
function fakeTimers() {
  const pending = new Map<number, { fn: () => void; ms: number }>();
  let next = 1;
  return {
    pending,
    setTimer: (fn: () => void, ms: number) => {
      pending.set(next, { fn, ms });
      return next++;
    },
    clearTimer: (h: unknown) => void pending.delete(h as number),
    /** Fires the only armed timer. */
    fire() {
      expect(pending.size).toBe(1);
      const [id, t] = [...pending.entries()][0]!;
      pending.delete(id);
      t.fn();
    },
    delays: () => [...pending.values()].map((t) => t.ms),
  };
}

function setup(opts: { refresh?: () => Promise<void> } = {}) {
  const timers = fakeTimers();
  let expiry: TokenExpiry | null = { exp: NOW / 1000 + 300, timeSkew: 0 };
  const failures: unknown[] = [];
  let refreshes = 0;
  const refresher = new TokenRefresher({
    expiry: () => expiry,
    refresh:
      opts.refresh ??
      (async () => {
        refreshes++;
        expiry = { exp: NOW / 1000 + 600, timeSkew: 0 };
      }),
    onFailure: (e) => failures.push(e),
    now: () => NOW,
    setTimer: timers.setTimer,
    clearTimer: timers.clearTimer,
  });
  return {
    refresher,
    timers,
    failures,
    refreshes: () => refreshes,
    setExpiry: (e: TokenExpiry | null) => (expiry = e),
  };
}

describe('TokenRefresher', () => {
  it('arms one timer for the current token and re-arms it from the refreshed token', async () => {
    const s = setup();
    expect(s.refresher.schedule()).toBe(240_000);
    expect(s.timers.delays()).toEqual([240_000]);
    s.timers.fire();
    await s.refresher.refreshNow(); // joins the refresh the timer started
    expect(s.refreshes()).toBe(1);
    expect(s.timers.delays()).toEqual([540_000]); // the new token lives 600 s
  });

  it('keeps a single timer when scheduled repeatedly (after each API-driven refresh)', () => {
    const s = setup();
    s.refresher.schedule();
    s.refresher.schedule();
    s.refresher.schedule();
    expect(s.timers.pending.size).toBe(1);
  });

  it('shares one refresh between concurrent callers (timer, onTokenExpired, API call)', async () => {
    const s = setup();
    await Promise.all([s.refresher.refreshNow(), s.refresher.refreshNow()]);
    expect(s.refreshes()).toBe(1);
  });

  it('stops and reports once when the refresh is refused, leaving no timer behind', async () => {
    const refused = new Error('refresh token expired');
    const s = setup({ refresh: () => Promise.reject(refused) });
    s.refresher.schedule();
    s.timers.fire();
    await s.refresher.refreshNow();
    expect(s.failures).toEqual([refused]);
    expect(s.refresher.armed).toBe(false);
    // A stopped refresher neither refreshes nor re-arms: the caller is logging in again.
    await s.refresher.refreshNow();
    expect(s.refresher.schedule()).toBeNull();
    expect(s.failures).toHaveLength(1);
  });

  it('arms nothing when there is no token', () => {
    const s = setup();
    s.setExpiry(null);
    expect(s.refresher.schedule()).toBeNull();
    expect(s.timers.pending.size).toBe(0);
  });

  it('stop() disarms the timer', () => {
    const s = setup();
    s.refresher.schedule();
    s.refresher.stop();
    expect(s.timers.pending.size).toBe(0);
  });
});
