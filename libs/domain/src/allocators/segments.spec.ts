import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandomInt } from '../random';
import { unwrap } from '../result';
import {
  allocateSegmentId,
  allocateVlanId,
  allocateVni,
  formatSegmentRanges,
  isSegmentIdInRanges,
  parseSegmentRanges,
  segmentRangesSchema,
} from './segments';

const vlan = (text: string) => unwrap(parseSegmentRanges('vlan', text));
const vni = (text: string) => unwrap(parseSegmentRanges('vxlan', text));

describe('parseSegmentRanges', () => {
  it('parses single IDs and ranges, sorted, with adjacent ranges merged', () => {
    expect(vlan('100-199,300')).toEqual([
      { lo: 100, hi: 199 },
      { lo: 300, hi: 300 },
    ]);
    expect(vlan('300, 100 - 199')).toEqual(vlan('100-199,300'));
    expect(vlan('100-199,200-299')).toEqual([{ lo: 100, hi: 299 }]);
    expect(vlan('1-4094')).toEqual([{ lo: 1, hi: 4094 }]);
    expect(vni('1-16777215')).toEqual([{ lo: 1, hi: 16_777_215 }]);
  });

  it('formats the canonical text the database check accepts', () => {
    const canonical = /^[0-9]+(-[0-9]+)?(,[0-9]+(-[0-9]+)?)*$/;
    const text = formatSegmentRanges(vlan(' 300 ,100-199 '));
    expect(text).toBe('100-199,300');
    expect(text).toMatch(canonical);
  });

  it.each([
    ['', 'segmentRanges: must list at least one VLAN IDs range, e.g. 100-199,300'],
    ['100-', "segmentRanges: '100-' is not a number or a range like 100-199"],
    ['abc', "segmentRanges: 'abc' is not a number or a range like 100-199"],
    ['100,,200', "segmentRanges: '' is not a number or a range like 100-199"],
    ['0100', "segmentRanges: '0100' is not a number or a range like 100-199"],
    ['1-2-3', "segmentRanges: '1-2-3' is not a number or a range like 100-199"],
    ['-5', "segmentRanges: '-5' is not a number or a range like 100-199"],
    ['200-100', 'segmentRanges: range 200-100 runs backwards'],
    ['0', 'segmentRanges: 0 is outside the VLAN IDs range 1-4094'],
    ['4000-4095', 'segmentRanges: 4095 is outside the VLAN IDs range 1-4094'],
    ['100-199,150', 'segmentRanges: 150 overlaps 100-199'],
    ['100-199,199-250', 'segmentRanges: 199-250 overlaps 100-199'],
  ])('VLAN ranges %j are refused: %s', (text, detail) => {
    expect(parseSegmentRanges('vlan', text)).toEqual({
      ok: false,
      reason: 'invalid',
      field: 'segmentRanges',
      detail,
    });
  });

  it('names the field it was given and the VNI bounds', () => {
    expect(parseSegmentRanges('vxlan', '16777216', 'fabrics[2].segmentRanges')).toEqual({
      ok: false,
      reason: 'invalid',
      field: 'fabrics[2].segmentRanges',
      detail: 'fabrics[2].segmentRanges: 16777216 is outside the VNIs range 1-16777215',
    });
  });

  it('refuses absurdly long input without parsing it', () => {
    expect(parseSegmentRanges('vlan', '1,'.repeat(3000))).toMatchObject({
      ok: false,
      reason: 'invalid',
    });
  });

  it('round-trips: parse(format(parse(x))) is parse(x), and every listed ID is inside', () => {
    const rangesArb = fc
      .uniqueArray(fc.integer({ min: 1, max: 4094 }), { minLength: 1, maxLength: 40 })
      .chain((ids) => {
        const sorted = [...ids].sort((a, b) => a - b);
        // Pair consecutive sorted IDs into ranges; a leftover is a single ID. Then shuffle.
        const parts: string[] = [];
        for (let i = 0; i < sorted.length; i += 2)
          parts.push(i + 1 < sorted.length ? `${sorted[i]}-${sorted[i + 1]}` : `${sorted[i]}`);
        return fc
          .shuffledSubarray(parts, { minLength: parts.length })
          .map((shuffled) => ({ text: shuffled.join(','), ids: sorted }));
      });
    fc.assert(
      fc.property(rangesArb, ({ text, ids }) => {
        const parsed = vlan(text);
        expect(vlan(formatSegmentRanges(parsed))).toEqual(parsed);
        for (const id of ids) expect(isSegmentIdInRanges(parsed, id)).toBe(true);
      }),
    );
  });

  it('a zod schema for API input yields the canonical text or the field-naming message', () => {
    const schema = segmentRangesSchema('vlan');
    expect(schema.parse('300,100-199')).toBe('100-199,300');
    const r = schema.safeParse('5000');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toBe(
      'segmentRanges: 5000 is outside the VLAN IDs range 1-4094',
    );
  });
});

describe('segment allocation', () => {
  it('gives the lowest free VLAN ID of the ranges', () => {
    const ranges = vlan('100-102,300');
    expect(allocateVlanId(ranges, [])).toEqual({ ok: true, value: 100 });
    expect(allocateVlanId(ranges, [100, 101, 102])).toEqual({ ok: true, value: 300 });
  });

  it('reports exhaustion naming the ranges, not counting IDs in use outside them', () => {
    // 5 is outside the (shrunk) ranges: that network keeps it, and it uses up nothing here.
    expect(allocateVlanId(vlan('100-102,300'), [5, 100, 101, 102, 300])).toEqual({
      ok: false,
      reason: 'exhausted',
      detail: 'all 4 VLAN IDs (100-102,300) in use',
    });
    expect(allocateVni(vni('5000-5001'), [5000, 5001], { random: seededRandomInt(3) })).toEqual({
      ok: false,
      reason: 'exhausted',
      detail: 'all 2 VNIs (5000-5001) in use',
    });
  });

  it('refuses ranges outside the segment type as a broken invariant', () => {
    expect(() => allocateSegmentId('vlan', [{ lo: 4000, hi: 5000 }], [])).toThrow(RangeError);
  });

  it('never hands out an ID twice while in use, and only IDs within the ranges', () => {
    fc.assert(
      fc.property(
        fc.constantFrom('10-20', '1-3,4094', '100-199,300,400-405'),
        fc.integer(),
        fc.boolean(),
        (text, seed, useRandom) => {
          const ranges = vlan(text);
          const random = useRandom ? seededRandomInt(seed) : undefined;
          const held: number[] = [];
          for (;;) {
            const r = allocateVlanId(ranges, held, { random });
            if (!r.ok) break;
            expect(held).not.toContain(r.value);
            expect(isSegmentIdInRanges(ranges, r.value)).toBe(true);
            held.push(r.value);
          }
          const size = ranges.reduce((n, iv) => n + iv.hi - iv.lo + 1, 0);
          expect(held).toHaveLength(size);
        },
      ),
      { numRuns: 30 },
    );
  });

  it('allocates a VNI in a 16.7-million range at random', () => {
    const r = allocateVni(vni('1-16777215'), [1, 2, 3], { random: seededRandomInt(11) });
    expect(r.ok).toBe(true);
    if (r.ok) expect(r.value).toBeGreaterThan(3);
  });
});
