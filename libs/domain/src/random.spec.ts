import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { cryptoRandomInt, randomIntFromU32, seededRandomInt } from './random';

describe('random sources', () => {
  it('a seeded source replays the same sequence for the same seed', () => {
    const a = seededRandomInt(42);
    const b = seededRandomInt(42);
    const c = seededRandomInt(43);
    const seqA = Array.from({ length: 20 }, () => a(1000));
    expect(Array.from({ length: 20 }, () => b(1000))).toEqual(seqA);
    expect(Array.from({ length: 20 }, () => c(1000))).not.toEqual(seqA);
  });

  it('stays within [0, bound) for small, 32-bit and 53-bit bounds', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.oneof(
          fc.integer({ min: 1, max: 10 }),
          fc.integer({ min: 1, max: 2 ** 32 }),
          fc.maxSafeInteger(),
        ),
        (seed, bound) => {
          fc.pre(bound >= 1);
          const r = seededRandomInt(seed);
          for (let i = 0; i < 10; i++) {
            const v = r(bound);
            expect(Number.isSafeInteger(v)).toBe(true);
            expect(v).toBeGreaterThanOrEqual(0);
            expect(v).toBeLessThan(bound);
          }
        },
      ),
    );
  });

  it('the crypto source stays within bounds and is not constant', () => {
    const r = cryptoRandomInt();
    const seen = new Set<number>();
    for (let i = 0; i < 500; i++) {
      const v = r(1_000_000);
      expect(v).toBeGreaterThanOrEqual(0);
      expect(v).toBeLessThan(1_000_000);
      seen.add(v);
    }
    // 500 draws from a million values: a repeat-heavy result would mean a broken source.
    expect(seen.size).toBeGreaterThan(490);
  });

  it('rejects words in the biased tail instead of folding them with %', () => {
    // bound 3: 2^32 % 3 = 1, so the single word 2^32-1 is in the tail and must be redrawn.
    const words = [2 ** 32 - 1, 2 ** 32 - 1, 7];
    const r = randomIntFromU32(() => words.shift() as number);
    expect(r(3)).toBe(7 % 3);
    expect(words).toEqual([]);
  });

  it('is uniform over a small bound (every value of a seeded run within 10% of its share)', () => {
    const r = seededRandomInt(7);
    const counts = [0, 0, 0, 0, 0, 0];
    for (let i = 0; i < 60_000; i++) counts[r(6)]! += 1;
    for (const c of counts) expect(Math.abs(c - 10_000)).toBeLessThan(1000);
  });

  it('refuses a bound that is not a positive safe integer', () => {
    const r = seededRandomInt(1);
    for (const bad of [0, -1, 1.5, Number.NaN, 2 ** 53 + 2])
      expect(() => r(bad)).toThrow(RangeError);
  });
});
