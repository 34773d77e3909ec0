/**
 * The result shape of every domain function whose failure is an expected outcome ("no host has
 * room", "all VLAN IDs in use", "bad range text"): a value, never an exception. Exceptions in this
 * library mean a broken invariant (a caller passed data the database could never hold).
 *
 * `reason` is a stable machine string callers branch on; `detail` is an English sentence that is
 * safe to show to the person who caused it (it names fields and values, never secrets).
 */

export interface Ok<T> {
  readonly ok: true;
  readonly value: T;
}

export interface Fail<R extends string> {
  readonly ok: false;
  readonly reason: R;
  readonly detail: string;
}

/** A failed parse of operator or tenant input: `field` names the input it came from. */
export interface Invalid extends Fail<'invalid'> {
  readonly field: string;
}

export type Exhausted = Fail<'exhausted'>;

export type Result<T, F extends Fail<string>> = Ok<T> | F;

export const ok = <T>(value: T): Ok<T> => ({ ok: true, value });

export const invalid = (field: string, detail: string): Invalid => ({
  ok: false,
  reason: 'invalid',
  field,
  detail: `${field}: ${detail}`,
});

export const exhausted = (detail: string): Exhausted => ({
  ok: false,
  reason: 'exhausted',
  detail,
});

/**
 * Unwraps a result whose failure would be a programming error (a constant, a value already
 * validated). Throwing here is correct: it is a broken invariant, not an expected outcome.
 */
export function unwrap<T>(r: Result<T, Fail<string>>): T {
  if (r.ok) return r.value;
  throw new Error(`unexpected ${r.reason}: ${r.detail}`);
}
