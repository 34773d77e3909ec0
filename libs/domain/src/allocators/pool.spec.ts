import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandomInt, type RandomInt } from '../random';
import {
  formatIntervals,
  intervalsContain,
  intervalsSize,
  intervalsValueAt,
  normaliseIntervals,
  pickFree,
  type Intervals,
} from './pool';

/** Arbitrary normalised pools of up to 5 intervals inside 0..2000. */
const poolArb = fc
  .array(
    fc
      .tuple(fc.integer({ min: 0, max: 2000 }), fc.integer({ min: 0, max: 40 }))
      .map(([lo, len]) => ({
        lo,
        hi: lo + len,
      })),
    { minLength: 1, maxLength: 5 },
  )
  .map(normaliseIntervals);

const valuesOf = (pool: Intervals) =>
  pool.flatMap((iv) => Array.from({ length: iv.hi - iv.lo + 1 }, (_, i) => iv.lo + i));

describe('intervals', () => {
  it('normalises by sorting and merging overlapping and adjacent intervals', () => {
    expect(
      normaliseIntervals([
        { lo: 300, hi: 300 },
        { lo: 100, hi: 150 },
        { lo: 151, hi: 199 },
        { lo: 120, hi: 130 },
      ]),
    ).toEqual([
      { lo: 100, hi: 199 },
      { lo: 300, hi: 300 },
    ]);
    expect(() => normaliseIntervals([{ lo: 5, hi: 4 }])).toThrow(RangeError);
  });

  it('formats as operators write ranges', () => {
    expect(
      formatIntervals([
        { lo: 100, hi: 199 },
        { lo: 300, hi: 300 },
      ]),
    ).toBe('100-199,300');
  });

  it('size, membership and position agree with the enumerated values', () => {
    fc.assert(
      fc.property(poolArb, (pool) => {
        const values = valuesOf(pool);
        expect(intervalsSize(pool)).toBe(values.length);
        values.forEach((v, i) => {
          expect(intervalsValueAt(pool, i)).toBe(v);
          expect(intervalsContain(pool, v)).toBe(true);
        });
        const set = new Set(values);
        for (let v = -1; v < 2050; v += 7) expect(intervalsContain(pool, v)).toBe(set.has(v));
        expect(() => intervalsValueAt(pool, values.length)).toThrow(RangeError);
      }),
    );
  });
});

describe('pickFree', () => {
  const pool = [
    { lo: 10, hi: 14 },
    { lo: 20, hi: 21 },
  ];

  it('picks the lowest free value, crossing interval boundaries', () => {
    expect(pickFree(pool, new Set(), 'things')).toEqual({ ok: true, value: 10 });
    expect(pickFree(pool, new Set([10, 11, 13]), 'things')).toEqual({ ok: true, value: 12 });
    expect(pickFree(pool, new Set([10, 11, 12, 13, 14]), 'things')).toEqual({
      ok: true,
      value: 20,
    });
  });

  it('ignores values in use outside the pool when deciding exhaustion', () => {
    expect(
      pickFree(pool, new Set([1, 2, 3, 4, 5, 6, 7, 10, 11, 12, 13, 14, 20]), 'things'),
    ).toEqual({
      ok: true,
      value: 21,
    });
  });

  it('reports exhaustion exactly, with the pool size', () => {
    expect(pickFree(pool, new Set([10, 11, 12, 13, 14, 20, 21]), 'things')).toEqual({
      ok: false,
      reason: 'exhausted',
      detail: 'all 7 things in use',
    });
    expect(pickFree([], new Set(), 'things')).toEqual({
      ok: false,
      reason: 'exhausted',
      detail: 'no things to allocate from',
    });
  });

  it('with a random source that always hits used values, still finds the last free one by scanning', () => {
    const used = new Set([10, 11, 12, 14, 20, 21]);
    const alwaysFirst: RandomInt = () => 0; // position 0 is 10, in use
    expect(pickFree(pool, used, 'things', { random: alwaysFirst })).toEqual({
      ok: true,
      value: 13,
    });
  });

  it('the scan starts at a random point and wraps around', () => {
    // Draws: 3 attempts at position 0 (used), then a scan start at position 6 (value 21, used),
    // which wraps to the lowest free value.
    const used = new Set([10, 21]);
    const draws = [0, 0, 0, 6];
    const random: RandomInt = () => draws.shift() as number;
    expect(pickFree(pool, used, 'things', { random, attempts: 3 })).toEqual({
      ok: true,
      value: 11,
    });
  });

  it('never returns a used or out-of-pool value, and fails exactly when the pool is full', () => {
    fc.assert(
      fc.property(
        poolArb,
        fc.array(fc.integer({ min: 0, max: 2100 }), { maxLength: 300 }),
        fc.option(fc.integer(), { nil: undefined }),
        fc.boolean(),
        (pool, usedList, seed, fill) => {
          const used = new Set(usedList);
          // Half the runs fill the pool but for at most one value, to exercise the scan.
          if (fill) {
            const values = valuesOf(pool);
            values.slice(0, values.length - (usedList.length % 2)).forEach((v) => used.add(v));
          }
          const random = seed === undefined ? undefined : seededRandomInt(seed);
          const r = pickFree(pool, used, 'things', { random, attempts: 4 });
          const free = valuesOf(pool).filter((v) => !used.has(v));
          if (free.length === 0) expect(r.ok).toBe(false);
          else {
            expect(r.ok).toBe(true);
            if (!r.ok) return;
            expect(used.has(r.value)).toBe(false);
            expect(intervalsContain(pool, r.value)).toBe(true);
            if (!random) expect(r.value).toBe(free[0]);
          }
        },
      ),
    );
  });

  it('handles a 16.7-million-value pool with many values in use without enumerating it', () => {
    const big = [{ lo: 1, hi: 16_777_215 }];
    const used = new Set(Array.from({ length: 100_000 }, (_, i) => i + 1));
    expect(pickFree(big, used, 'VNIs')).toEqual({ ok: true, value: 100_001 });
  });
});
