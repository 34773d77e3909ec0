import { vmSpecSchema } from '@palisade/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandomInt, type RandomInt } from '../random';
import {
  allocateMcsPair,
  formatMcsPair,
  MCS_PAIR_COUNT,
  mcsLevel,
  mcsPairFromIndex,
  mcsPairToIndex,
  parseMcsPair,
  type McsPair,
} from './mcs';

const pairArb = fc
  .tuple(fc.integer({ min: 0, max: 1023 }), fc.integer({ min: 0, max: 1023 }))
  .filter(([a, b]) => a !== b)
  .map(([a, b]): McsPair => ({ c1: Math.min(a, b), c2: Math.max(a, b) }));

describe('MCS pair numbering', () => {
  it('has C(1024,2) = 523776 pairs', () => {
    expect(MCS_PAIR_COUNT).toBe(523_776);
  });

  it('numbers pairs lexicographically', () => {
    expect(mcsPairFromIndex(0)).toEqual({ c1: 0, c2: 1 });
    expect(mcsPairFromIndex(1)).toEqual({ c1: 0, c2: 2 });
    expect(mcsPairFromIndex(1022)).toEqual({ c1: 0, c2: 1023 });
    expect(mcsPairFromIndex(1023)).toEqual({ c1: 1, c2: 2 });
    expect(mcsPairFromIndex(MCS_PAIR_COUNT - 1)).toEqual({ c1: 1022, c2: 1023 });
  });

  it('is a bijection over every one of the 523776 indices, in order', () => {
    let prev: McsPair | undefined;
    for (let i = 0; i < MCS_PAIR_COUNT; i++) {
      const p = mcsPairFromIndex(i);
      if (p.c1 >= p.c2 || p.c2 > 1023 || mcsPairToIndex(p) !== i)
        throw new Error(`index ${i} decodes to c${p.c1},c${p.c2}`);
      if (prev && !(p.c1 > prev.c1 || (p.c1 === prev.c1 && p.c2 > prev.c2)))
        throw new Error(`index ${i} is not after index ${i - 1}`);
      prev = p;
    }
  });

  it('round-trips any valid pair through its index', () => {
    fc.assert(
      fc.property(pairArb, (p) => {
        expect(mcsPairFromIndex(mcsPairToIndex(p))).toEqual(p);
      }),
    );
  });

  it('refuses pairs and indices that cannot exist', () => {
    for (const p of [
      { c1: 5, c2: 5 },
      { c1: 6, c2: 5 },
      { c1: -1, c2: 5 },
      { c1: 0, c2: 1024 },
      { c1: 0.5, c2: 2 },
    ])
      expect(() => mcsPairToIndex(p)).toThrow(RangeError);
    for (const i of [-1, MCS_PAIR_COUNT, 1.5])
      expect(() => mcsPairFromIndex(i)).toThrow(RangeError);
  });
});

describe('MCS pair text', () => {
  it('formats the label suffix and the level', () => {
    expect(formatMcsPair({ c1: 12, c2: 345 })).toBe('c12,c345');
    expect(mcsLevel({ c1: 0, c2: 1023 })).toBe('s0:c0,c1023');
  });

  it('parses what it formats', () => {
    fc.assert(
      fc.property(pairArb, (p) => {
        expect(parseMcsPair(formatMcsPair(p))).toEqual({ ok: true, value: p });
      }),
    );
  });

  it('names the field and the problem for malformed text', () => {
    expect(parseMcsPair('c5,c5', 'isolation.mcs')).toEqual({
      ok: false,
      reason: 'invalid',
      field: 'isolation.mcs',
      detail: 'isolation.mcs: the first category must be lower than the second',
    });
    expect(parseMcsPair('c1,c1024')).toMatchObject({
      ok: false,
      detail: 'mcs: categories must be at most c1023',
    });
    for (const bad of ['c01,c2', 'c1, c2', '1,2', 'c1,c2,c3', 's0:c1,c2', ''])
      expect(parseMcsPair(bad)).toMatchObject({ ok: false, reason: 'invalid', field: 'mcs' });
  });
});

describe('allocateMcsPair', () => {
  it('without a random source, gives the lowest free pair', () => {
    expect(allocateMcsPair([])).toEqual({ ok: true, value: { c1: 0, c2: 1 } });
    expect(
      allocateMcsPair([
        { c1: 0, c2: 1 },
        { c1: 0, c2: 3 },
      ]),
    ).toEqual({ ok: true, value: { c1: 0, c2: 2 } });
  });

  it('reports exhaustion exactly when all 523776 pairs are in use', () => {
    const all = Array.from({ length: MCS_PAIR_COUNT }, (_, i) => mcsPairFromIndex(i));
    expect(allocateMcsPair(all)).toEqual({
      ok: false,
      reason: 'exhausted',
      detail: 'all 523776 MCS pairs in use',
    });
    expect(allocateMcsPair(all, { random: seededRandomInt(1) })).toEqual({
      ok: false,
      reason: 'exhausted',
      detail: 'all 523776 MCS pairs in use',
    });
  });

  it('finds the one free pair of a full cluster, even with random draws that always collide', () => {
    const free = mcsPairFromIndex(400_000);
    const inUse = Array.from({ length: MCS_PAIR_COUNT }, (_, i) => mcsPairFromIndex(i)).filter(
      (p) => !(p.c1 === free.c1 && p.c2 === free.c2),
    );
    const alwaysZero: RandomInt = () => 0;
    expect(allocateMcsPair(inUse, { random: alwaysZero })).toEqual({ ok: true, value: free });
  });

  it('random allocation spreads over the whole space (freed pairs are not reused next)', () => {
    const r = allocateMcsPair([{ c1: 0, c2: 1 }], { random: seededRandomInt(99) });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value).not.toEqual({ c1: 0, c2: 1 });
    const draws = new Set<string>();
    const random = seededRandomInt(5);
    for (let i = 0; i < 50; i++) {
      const d = allocateMcsPair([], { random });
      if (d.ok) draws.add(formatMcsPair(d.value));
    }
    expect(draws.size).toBe(50);
  });

  it('successive allocations never hand out a pair twice, and every pair is valid for a VmSpec', () => {
    fc.assert(
      fc.property(
        fc.integer(),
        fc.integer({ min: 1, max: 200 }),
        fc.boolean(),
        (seed, n, useRandom) => {
          const held: McsPair[] = [];
          const random = useRandom ? seededRandomInt(seed) : undefined;
          for (let i = 0; i < n; i++) {
            const r = allocateMcsPair(held, { random });
            if (!r.ok) throw new Error(r.detail);
            held.push(r.value);
          }
          expect(new Set(held.map(formatMcsPair)).size).toBe(n);
          const schema = vmSpecSchema.shape.isolation.shape.mcs;
          for (const p of held) expect(schema.safeParse(p).success).toBe(true);
        },
      ),
      { numRuns: 50 },
    );
  });

  it('treats an impossible pair in use as a broken invariant', () => {
    expect(() => allocateMcsPair([{ c1: 3, c2: 3 }])).toThrow(RangeError);
  });
});
