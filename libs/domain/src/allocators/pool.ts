/**
 * The one allocation algorithm behind every allocator in this library: a pool of integers
 * described as sorted inclusive intervals, a set of values in use, and a pick that is either the
 * lowest free value or a random one.
 *
 * The random pick tries a bounded number of random draws and then falls back to a scan that starts
 * at a random point and wraps around, so exhaustion is detected exactly (never "probably full")
 * and a nearly full pool still answers in bounded time. The scan walks the sorted values in use,
 * not the pool, so its cost is O(k log k) in the k values in use whatever the pool's size
 * (16.7 million VNIs cost the same as 4094 VLAN IDs).
 *
 * Must never be the only guard of uniqueness: two workers can pick the same free value from the
 * same snapshot. The database's unique constraints are the second lock; the caller retries on a
 * constraint violation with the winner added to the in-use set.
 */
import { type RandomInt } from '../random';
import { exhausted, ok, type Exhausted, type Result } from '../result';

/** An inclusive range of integers. */
export interface Interval {
  readonly lo: number;
  readonly hi: number;
}

/** Sorted, disjoint and non-adjacent intervals (see `normaliseIntervals`). */
export type Intervals = readonly Interval[];

export interface PickOptions {
  /** When given, pick at random (see module header); when absent, pick the lowest free value. */
  readonly random?: RandomInt;
  /** Random draws before falling back to the scan. */
  readonly attempts?: number;
}

export const DEFAULT_RANDOM_ATTEMPTS = 32;

/** Sorts and merges overlapping or adjacent intervals. Throws on a malformed interval. */
export function normaliseIntervals(list: Iterable<Interval>): Intervals {
  const sorted = [...list]
    .map((iv) => {
      if (!Number.isSafeInteger(iv.lo) || !Number.isSafeInteger(iv.hi) || iv.lo > iv.hi)
        throw new RangeError(`malformed interval ${iv.lo}-${iv.hi}`);
      return { lo: iv.lo, hi: iv.hi };
    })
    .sort((a, b) => a.lo - b.lo);
  const out: Interval[] = [];
  for (const iv of sorted) {
    const last = out[out.length - 1];
    if (last && iv.lo <= last.hi + 1)
      out[out.length - 1] = { lo: last.lo, hi: Math.max(last.hi, iv.hi) };
    else out.push(iv);
  }
  return out;
}

export function intervalsSize(pool: Intervals): number {
  return pool.reduce((n, iv) => n + (iv.hi - iv.lo + 1), 0);
}

export function intervalsContain(pool: Intervals, v: number): boolean {
  let lo = 0;
  let hi = pool.length - 1;
  while (lo <= hi) {
    const mid = (lo + hi) >>> 1;
    const iv = pool[mid] as Interval;
    if (v < iv.lo) hi = mid - 1;
    else if (v > iv.hi) lo = mid + 1;
    else return true;
  }
  return false;
}

/** The value at position `p` (0-based) when the pool is read in ascending order. */
export function intervalsValueAt(pool: Intervals, p: number): number {
  let rest = p;
  for (const iv of pool) {
    const size = iv.hi - iv.lo + 1;
    if (rest < size) return iv.lo + rest;
    rest -= size;
  }
  throw new RangeError(`position ${p} is outside a pool of ${intervalsSize(pool)} values`);
}

/** "100-199,300": the form operators write and the database stores. */
export function formatIntervals(pool: Intervals): string {
  return pool.map((iv) => (iv.lo === iv.hi ? `${iv.lo}` : `${iv.lo}-${iv.hi}`)).join(',');
}

/** Index of the first element of sorted `xs` that is >= v. */
function lowerBound(xs: readonly number[], v: number): number {
  let lo = 0;
  let hi = xs.length;
  while (lo < hi) {
    const mid = (lo + hi) >>> 1;
    if ((xs[mid] as number) < v) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** The lowest free value >= `from` (pool order), or undefined. `used` is sorted, unique. */
function firstFreeFrom(pool: Intervals, used: readonly number[], from: number): number | undefined {
  for (const iv of pool) {
    if (iv.hi < from) continue;
    let candidate = Math.max(iv.lo, from);
    let i = lowerBound(used, candidate);
    while (i < used.length && used[i] === candidate) {
      candidate++;
      i++;
    }
    if (candidate <= iv.hi) return candidate;
  }
  return undefined;
}

/**
 * Picks a free value from `pool`. `describe` names what is allocated for the exhausted detail,
 * e.g. "MCS pairs" gives "all 523776 MCS pairs in use".
 */
export function pickFree(
  pool: Intervals,
  used: ReadonlySet<number>,
  describe: string,
  options: PickOptions = {},
): Result<number, Exhausted> {
  const size = intervalsSize(pool);
  if (size === 0) return exhausted(`no ${describe} to allocate from`);
  const { random } = options;
  let from = pool[0]?.lo as number;
  if (random) {
    const attempts = options.attempts ?? DEFAULT_RANDOM_ATTEMPTS;
    for (let i = 0; i < attempts; i++) {
      const v = intervalsValueAt(pool, random(size));
      if (!used.has(v)) return ok(v);
    }
    from = intervalsValueAt(pool, random(size));
  }
  const sorted = [...used].filter((v) => intervalsContain(pool, v)).sort((a, b) => a - b);
  if (sorted.length >= size) return exhausted(`all ${size} ${describe} in use`);
  const found =
    firstFreeFrom(pool, sorted, from) ?? firstFreeFrom(pool, sorted, pool[0]?.lo as number);
  // Fewer values in use than the pool holds means a free one exists; not finding it is a bug.
  if (found === undefined) throw new Error(`pool scan missed a free value among ${size}`);
  return ok(found);
}
