/**
 * When to renew the host certificate: once two thirds of its validity have passed, so a control
 * plane outage of up to a third of the validity (10 days at the default 30) costs nothing. Failed
 * attempts retry with capped exponential backoff. The clock and the timer are injected so the
 * decision is tested without waiting.
 */
export const RENEW_AT_FRACTION = 2 / 3;
const MAX_TIMER_MS = 2 ** 31 - 1;

export interface Validity {
  notBefore: Date;
  notAfter: Date;
}

/** The instant renewal is due. */
export function renewalDueAt(v: Validity, fraction = RENEW_AT_FRACTION): Date {
  const start = v.notBefore.getTime();
  return new Date(start + (v.notAfter.getTime() - start) * fraction);
}

/** Milliseconds from `now` until renewal is due; 0 when it is due already. */
export function renewalDelayMs(v: Validity, now: Date, fraction = RENEW_AT_FRACTION): number {
  return Math.max(0, renewalDueAt(v, fraction).getTime() - now.getTime());
}

/** Backoff after the n-th consecutive failure (1-based): 30 s, 1 min, 2 min … capped at 1 h. */
export const retryDelayMs = (failures: number) =>
  Math.min(30_000 * 2 ** Math.max(0, failures - 1), 3_600_000);

export interface Clock {
  now(): Date;
  setTimeout(fn: () => void, ms: number): { cancel(): void };
}

export const systemClock: Clock = {
  now: () => new Date(),
  setTimeout(fn, ms) {
    const t = setTimeout(fn, Math.min(ms, MAX_TIMER_MS));
    t.unref();
    return { cancel: () => clearTimeout(t) };
  },
};

/**
 * Keeps one renewal pending for the current certificate. `renew` gets a new certificate and
 * returns its validity; the next renewal is scheduled from that. A timer clamped at ~24.8 days
 * simply re-checks the decision when it fires early.
 */
export class RenewalScheduler {
  private pending: { cancel(): void } | null = null;
  private current: Validity | null = null;
  private failures = 0;
  private running = false;
  private stopped = false;

  constructor(
    private readonly renew: () => Promise<Validity>,
    private readonly onError: (e: unknown, retryInMs: number) => void,
    private readonly clock: Clock = systemClock,
  ) {}

  start(current: Validity): void {
    this.current = current;
    this.schedule(renewalDelayMs(current, this.clock.now()));
  }

  /** Renews now, whatever the date (an operator's request, e.g. after a suspected key leak). */
  renewNow(): void {
    if (this.stopped || this.running || !this.current) return;
    this.pending?.cancel();
    void this.fire(true);
  }

  stop(): void {
    this.stopped = true;
    this.pending?.cancel();
  }

  private schedule(delay: number): void {
    if (this.stopped) return;
    this.pending?.cancel();
    this.pending = this.clock.setTimeout(() => void this.fire(false), delay);
  }

  private async fire(force: boolean): Promise<void> {
    // Early wake-up (clamped timer): not due yet, check again later.
    const wait = renewalDelayMs(this.current!, this.clock.now());
    if (!force && wait > 0 && this.failures === 0) return this.schedule(wait);
    this.running = true;
    try {
      this.current = await this.renew();
      this.failures = 0;
      this.schedule(renewalDelayMs(this.current, this.clock.now()));
    } catch (e) {
      this.failures += 1;
      const retry = retryDelayMs(this.failures);
      this.onError(e, retry);
      this.schedule(retry);
    } finally {
      this.running = false;
    }
  }
}
