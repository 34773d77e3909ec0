/**
 * sVirt MCS category pairs. Every VM gets a pair `cA,cB` (0 <= A < B <= 1023) that no other VM in
 * the cluster holds, so SELinux keeps one tenant's QEMU process away from every other VM's disks
 * even if QEMU is compromised. libvirt's own dynamic labels are unique only per host and change on
 * migration; ours are allocated here once and travel with the VM.
 *
 * Pairs are numbered lexicographically: 0 = (0,1), 1 = (0,2), ..., 1022 = (0,1023), 1023 = (1,2),
 * ..., 523775 = (1022,1023). That index is what the pool allocator works on.
 *
 * Allocate at random in production: with lowest-free, a pair freed by a deletion is the very next
 * one handed out, so any file the old VM left labelled (a disk not yet crypto-erased, a log) would
 * be readable by the new VM's QEMU. Random choice makes that reuse improbable.
 *
 * Must never hand out a pair with A == B: `s0:c5,c5` is `s0:c5`, a single category that a VM with
 * any other pair containing c5 would dominate.
 */
import { type VmSpec } from '@palisade/contracts';
import { invalid, ok, type Exhausted, type Invalid, type Result } from '../result';
import { pickFree, type PickOptions } from './pool';

export type McsPair = VmSpec['isolation']['mcs'];

export const MCS_CATEGORY_MAX = 1023;
/** C(1024, 2): every unordered pair of distinct categories. */
export const MCS_PAIR_COUNT = ((MCS_CATEGORY_MAX + 1) * MCS_CATEGORY_MAX) / 2;

const isCategory = (c: number) => Number.isInteger(c) && c >= 0 && c <= MCS_CATEGORY_MAX;

export function isValidMcsPair(p: McsPair): boolean {
  return isCategory(p.c1) && isCategory(p.c2) && p.c1 < p.c2;
}

function assertPair(p: McsPair): void {
  if (!isValidMcsPair(p)) throw new RangeError(`invalid MCS pair c${p.c1},c${p.c2}`);
}

/** Index of the first pair whose lower category is `c1`: the pairs of rows 0..c1-1 come before. */
const rowStart = (c1: number) => (c1 * (2 * MCS_CATEGORY_MAX + 1 - c1)) / 2;

export function mcsPairToIndex(p: McsPair): number {
  assertPair(p);
  return rowStart(p.c1) + (p.c2 - p.c1 - 1);
}

export function mcsPairFromIndex(index: number): McsPair {
  if (!Number.isInteger(index) || index < 0 || index >= MCS_PAIR_COUNT)
    throw new RangeError(`MCS pair index ${index} is outside 0-${MCS_PAIR_COUNT - 1}`);
  // Solve rowStart(c1) <= index for the largest c1; the float estimate can be one off either way.
  const b = 2 * MCS_CATEGORY_MAX + 1;
  let c1 = Math.floor((b - Math.sqrt(b * b - 8 * index)) / 2);
  while (c1 > 0 && rowStart(c1) > index) c1--;
  while (c1 < MCS_CATEGORY_MAX - 1 && rowStart(c1 + 1) <= index) c1++;
  return { c1, c2: c1 + 1 + (index - rowStart(c1)) };
}

/** The category suffix as it appears in an SELinux label: `c12,c345`. */
export function formatMcsPair(p: McsPair): string {
  assertPair(p);
  return `c${p.c1},c${p.c2}`;
}

/** The MCS level for a label: `s0:c12,c345` (libvirt wants the full `user:role:type:level`). */
export function mcsLevel(p: McsPair): string {
  return `s0:${formatMcsPair(p)}`;
}

const PAIR_TEXT = /^c(0|[1-9][0-9]{0,3}),c(0|[1-9][0-9]{0,3})$/;

/** Parses the canonical `c12,c345` form (what `formatMcsPair` writes, no spaces, no zero padding). */
export function parseMcsPair(text: string, field = 'mcs'): Result<McsPair, Invalid> {
  const m = PAIR_TEXT.exec(text);
  if (!m) return invalid(field, `'${text}' is not a category pair like c12,c345`);
  const p = { c1: Number(m[1]), c2: Number(m[2]) };
  if (p.c1 > MCS_CATEGORY_MAX || p.c2 > MCS_CATEGORY_MAX)
    return invalid(field, `categories must be at most c${MCS_CATEGORY_MAX}`);
  if (p.c1 >= p.c2) return invalid(field, `the first category must be lower than the second`);
  return ok(p);
}

const MCS_POOL = [{ lo: 0, hi: MCS_PAIR_COUNT - 1 }];

/**
 * Picks a pair no VM holds. `inUse` comes from the database (every VM row with a pair, whatever
 * its state: a pair is freed only when its VM row is gone).
 */
export function allocateMcsPair(
  inUse: Iterable<McsPair>,
  options: PickOptions = {},
): Result<McsPair, Exhausted> {
  const used = new Set<number>();
  for (const p of inUse) used.add(mcsPairToIndex(p));
  const r = pickFree(MCS_POOL, used, 'MCS pairs', options);
  return r.ok ? ok(mcsPairFromIndex(r.value)) : r;
}
