/**
 * Random sources for the allocators. A source is a function returning a uniform integer in
 * [0, bound); the allocators take one as a parameter so that production can use the platform
 * CSPRNG while tests and simulations replay a seeded sequence.
 *
 * Must never use Math.random for allocation: its output is predictable from a few samples, and
 * the point of random MCS pairs and MACs is that a freed value is not the next one handed out.
 */

/** Returns a uniform integer in [0, bound); `bound` is a positive safe integer. */
export type RandomInt = (bound: number) => number;

const TWO_32 = 2 ** 32;
const TWO_53 = 2 ** 53;

/**
 * Builds a `RandomInt` from a source of uniform 32-bit unsigned words, by rejection sampling so
 * that no value is more likely than another (plain `x % bound` favours small values).
 */
export function randomIntFromU32(nextU32: () => number): RandomInt {
  return (bound) => {
    if (!Number.isSafeInteger(bound) || bound < 1)
      throw new RangeError(`random bound must be a positive safe integer, got ${bound}`);
    if (bound <= TWO_32) {
      const limit = TWO_32 - (TWO_32 % bound);
      for (;;) {
        const x = nextU32();
        if (x < limit) return x % bound;
      }
    }
    const limit = TWO_53 - (TWO_53 % bound);
    for (;;) {
      // 21 high bits and 32 low bits make one uniform 53-bit integer.
      const x = (nextU32() & 0x1f_ffff) * TWO_32 + nextU32();
      if (x < limit) return x % bound;
    }
  };
}

/**
 * The platform CSPRNG (Web Crypto, present in Node 20 and every browser). Fetches words in
 * batches because getRandomValues has a per-call cost far above that of one word.
 */
export function cryptoRandomInt(): RandomInt {
  const buf = new Uint32Array(64);
  let next = buf.length;
  return randomIntFromU32(() => {
    if (next === buf.length) {
      globalThis.crypto.getRandomValues(buf);
      next = 0;
    }
    return buf[next++] as number;
  });
}

/**
 * A deterministic source (mulberry32) for tests, simulations and benchmarks. Not for production
 * allocation: anyone who sees a few outputs can predict the rest.
 */
export function seededRandomInt(seed: number): RandomInt {
  let state = seed >>> 0;
  return randomIntFromU32(() => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return (t ^ (t >>> 14)) >>> 0;
  });
}
