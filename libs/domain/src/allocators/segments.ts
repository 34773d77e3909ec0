/**
 * L2 segment IDs: VLAN IDs on a trunk and VXLAN VNIs on an underlay. Each fabric has
 * operator-configured ranges ("100-199,300") and each tenant network takes one ID from its fabric,
 * so that tenant traffic never shares a segment.
 *
 * VLAN IDs 0 (priority tag) and 4095 (reserved by 802.1Q) are never valid; VNI 0 is excluded too,
 * to match the database check. Must never accept ranges that overlap: "100-199,150" is an operator
 * mistake worth reporting, not something to merge silently.
 */
import { z } from 'zod';
import { invalid, ok, type Exhausted, type Invalid, type Result } from '../result';
import {
  formatIntervals,
  intervalsContain,
  pickFree,
  type Interval,
  type Intervals,
  type PickOptions,
} from './pool';

export type SegmentType = 'vlan' | 'vxlan';

export const VLAN_ID_MIN = 1;
export const VLAN_ID_MAX = 4094;
export const VNI_MIN = 1;
export const VNI_MAX = 16_777_215;

export const SEGMENT_LIMITS: Record<SegmentType, { min: number; max: number; noun: string }> = {
  vlan: { min: VLAN_ID_MIN, max: VLAN_ID_MAX, noun: 'VLAN IDs' },
  vxlan: { min: VNI_MIN, max: VNI_MAX, noun: 'VNIs' },
};

/** Bounds the work an operator's typo can cause; real fabrics use a handful of ranges. */
const MAX_RANGE_TEXT = 4096;

const TOKEN = /^(0|[1-9][0-9]{0,8})(?:-(0|[1-9][0-9]{0,8}))?$/;

/**
 * Parses "100-199,300" into sorted intervals, naming `field` in every error. Spaces around
 * commas and dashes are tolerated; `formatSegmentRanges` gives the canonical form to store (the
 * database check accepts only that form).
 */
export function parseSegmentRanges(
  type: SegmentType,
  text: string,
  field = 'segmentRanges',
): Result<Intervals, Invalid> {
  const { min, max, noun } = SEGMENT_LIMITS[type];
  if (text.length > MAX_RANGE_TEXT)
    return invalid(field, `must be at most ${MAX_RANGE_TEXT} characters`);
  if (text.trim() === '')
    return invalid(field, `must list at least one ${noun} range, e.g. 100-199,300`);
  const parsed: Interval[] = [];
  for (const raw of text.split(',')) {
    const token = raw.replace(/\s*-\s*/, '-').trim();
    const m = TOKEN.exec(token);
    if (!m) return invalid(field, `'${raw.trim()}' is not a number or a range like 100-199`);
    const lo = Number(m[1]);
    const hi = m[2] === undefined ? lo : Number(m[2]);
    if (lo > hi) return invalid(field, `range ${lo}-${hi} runs backwards`);
    for (const v of [lo, hi])
      if (v < min || v > max)
        return invalid(field, `${v} is outside the ${noun} range ${min}-${max}`);
    parsed.push({ lo, hi });
  }
  const sorted = [...parsed].sort((a, b) => a.lo - b.lo);
  const merged: Interval[] = [];
  for (const iv of sorted) {
    const last = merged[merged.length - 1];
    if (last && iv.lo <= last.hi)
      return invalid(field, `${formatIntervals([iv])} overlaps ${formatIntervals([last])}`);
    // Adjacent ranges ("100-199,200-299") are one range written in two parts: merge them.
    if (last && iv.lo === last.hi + 1) merged[merged.length - 1] = { lo: last.lo, hi: iv.hi };
    else merged.push(iv);
  }
  return ok(merged);
}

export const formatSegmentRanges = formatIntervals;

/** A zod schema for range text in API input; yields the canonical text. */
export function segmentRangesSchema(type: SegmentType, field = 'segmentRanges') {
  return z.string().transform((text, ctx) => {
    const r = parseSegmentRanges(type, text, field);
    if (r.ok) return formatIntervals(r.value);
    ctx.addIssue({ code: 'custom', message: r.detail });
    return z.NEVER;
  });
}

export function isSegmentIdInRanges(ranges: Intervals, id: number): boolean {
  return intervalsContain(ranges, id);
}

/**
 * Picks a segment ID from `ranges` that no network of the fabric holds. `inUse` is every segment
 * ID of the fabric, including IDs outside the current ranges (an operator may have shrunk them;
 * those networks keep their IDs and are simply not counted against the ranges).
 */
export function allocateSegmentId(
  type: SegmentType,
  ranges: Intervals,
  inUse: Iterable<number>,
  options: PickOptions = {},
): Result<number, Exhausted> {
  const { min, max, noun } = SEGMENT_LIMITS[type];
  for (const iv of ranges)
    if (iv.lo < min || iv.hi > max)
      throw new RangeError(`${type} ranges ${formatIntervals(ranges)} exceed ${min}-${max}`);
  return pickFree(ranges, new Set(inUse), `${noun} (${formatIntervals(ranges)})`, options);
}

export const allocateVlanId = (
  ranges: Intervals,
  inUse: Iterable<number>,
  options: PickOptions = {},
) => allocateSegmentId('vlan', ranges, inUse, options);

export const allocateVni = (
  ranges: Intervals,
  inUse: Iterable<number>,
  options: PickOptions = {},
) => allocateSegmentId('vxlan', ranges, inUse, options);
