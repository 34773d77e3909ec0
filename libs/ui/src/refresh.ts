/**
 * When to refresh the access token, and the timer that does it. Pure: the clock, the timers and the
 * refresh itself are passed in, so the schedule is unit-tested without a browser or a Keycloak.
 *
 * Must never retry a failed refresh by itself: a refresh that fails means the refresh token is gone
 * (expired, revoked, session ended), and only a new login can fix that. The caller decides how.
 */

/** When the current access token expires, as keycloak-js reports it. */
export interface TokenExpiry {
  /** The token's `exp` claim: seconds since the epoch on the SERVER's clock. */
  exp: number;
  /** keycloak-js `timeSkew`: local clock minus server clock, in seconds. */
  timeSkew: number;
}

/** Refresh this long before expiry, so a request started just before never carries a dead token. */
export const REFRESH_LEAD_SECONDS = 60;

/** setTimeout takes a signed 32-bit delay; anything longer fires at once. */
const MAX_TIMER_MS = 2 ** 31 - 1;

/**
 * Milliseconds from `nowMs` until the token should be refreshed: `lead` seconds before it expires,
 * or at half its remaining life when that is shorter than twice the lead (a realm with very short
 * tokens must not refresh in a tight loop). An expired token is refreshed at once.
 */
export function refreshDelayMs(
  expiry: TokenExpiry,
  nowMs: number,
  leadSeconds = REFRESH_LEAD_SECONDS,
): number {
  const remainingMs = (expiry.exp + expiry.timeSkew) * 1000 - nowMs;
  if (remainingMs <= 0) return 0;
  const leadMs = leadSeconds * 1000;
  const delay = remainingMs > 2 * leadMs ? remainingMs - leadMs : remainingMs / 2;
  return Math.min(Math.floor(delay), MAX_TIMER_MS);
}

export interface TokenRefresherDeps {
  /** The current token's expiry, or null when there is no token to keep alive. */
  expiry(): TokenExpiry | null;
  /** Forces a refresh; rejects when the identity provider refuses it. */
  refresh(): Promise<void>;
  /** Called once, with the refresh error, when a refresh fails. The refresher stops. */
  onFailure(error: unknown): void;
  now?: () => number;
  setTimer?: (fn: () => void, ms: number) => unknown;
  clearTimer?: (handle: unknown) => void;
  leadSeconds?: number;
}

/**
 * Keeps one timer armed for the next refresh. Every successful refresh (scheduled, forced by an
 * API call, or triggered by keycloak-js' onTokenExpired) should end in `schedule()`, which re-arms
 * the timer from the new token's expiry.
 */
export class TokenRefresher {
  private timer: unknown = undefined;
  private inFlight: Promise<void> | null = null;
  private stopped = false;
  private readonly now: () => number;
  private readonly setTimer: (fn: () => void, ms: number) => unknown;
  private readonly clearTimer: (handle: unknown) => void;

  constructor(private readonly deps: TokenRefresherDeps) {
    this.now = deps.now ?? Date.now;
    this.setTimer = deps.setTimer ?? ((fn, ms) => setTimeout(fn, ms));
    this.clearTimer = deps.clearTimer ?? ((h) => clearTimeout(h as ReturnType<typeof setTimeout>));
  }

  /** (Re-)arms the timer for the current token. Returns the delay, or null when none was armed. */
  schedule(): number | null {
    this.disarm();
    if (this.stopped) return null;
    const expiry = this.deps.expiry();
    if (!expiry) return null;
    const delay = refreshDelayMs(expiry, this.now(), this.deps.leadSeconds);
    this.timer = this.setTimer(() => {
      this.timer = undefined;
      void this.refreshNow();
    }, delay);
    return delay;
  }

  /** Refreshes now; concurrent callers share one refresh. */
  refreshNow(): Promise<void> {
    if (this.stopped) return Promise.resolve();
    if (this.inFlight) return this.inFlight;
    this.disarm();
    this.inFlight = this.deps
      .refresh()
      .then(
        () => {
          this.schedule();
        },
        (error: unknown) => {
          this.stop();
          this.deps.onFailure(error);
        },
      )
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  stop(): void {
    this.stopped = true;
    this.disarm();
  }

  get armed(): boolean {
    return this.timer !== undefined;
  }

  private disarm(): void {
    if (this.timer !== undefined) this.clearTimer(this.timer);
    this.timer = undefined;
  }
}
