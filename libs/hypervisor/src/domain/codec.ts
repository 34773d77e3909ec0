/**
 * Shared pieces of the domain model's codecs: the codec shape every part implements, the parse
 * error, and strict readers for numbers, booleans and libvirt's scaled memory units.
 *
 * A codec is pure: `toElement` and `fromElement` never look at anything but their argument, so the
 * same value always gives the same XML (golden tests rely on it).
 */
import { AppError, ErrorCode } from '@palisade/contracts';
import { XmlError, type XmlElement } from '../xml/xml';

export interface Codec<T> {
  /** The element the codec reads and writes, for error messages. */
  readonly element: string;
  toElement(value: T): XmlElement;
  fromElement(element: XmlElement): T;
}

/**
 * Domain XML the model cannot read is a broken invariant (libvirt produced it, or Palisade wrote
 * it), not an expected outcome, so it is `common.internal` with the reason in the message.
 */
export function invalid(message: string, cause?: unknown): AppError {
  return new AppError(ErrorCode.INTERNAL, `domain XML: ${message}`, {
    details: {
      source: 'hypervisor.domain-xml',
      ...(cause instanceof XmlError ? { xml: cause.message } : {}),
    },
    cause,
  });
}

export function expectName(e: XmlElement, name: string): void {
  if (e.name !== name) throw invalid(`expected <${name}>, got <${e.name}>`);
}

export function requiredAttr(e: XmlElement, attr: string): string {
  const v = e.attrs[attr];
  if (v === undefined) throw invalid(`<${e.name}> has no ${attr} attribute`);
  return v;
}

export function oneOf<T extends string>(value: string, allowed: readonly T[], where: string): T {
  if (!(allowed as readonly string[]).includes(value))
    throw invalid(`${where} is ${JSON.stringify(value)}, expected one of ${allowed.join(', ')}`);
  return value as T;
}

export function optionalOneOf<T extends string>(
  value: string | undefined,
  allowed: readonly T[],
  where: string,
): T | undefined {
  return value === undefined ? undefined : oneOf(value, allowed, where);
}

/** A decimal integer, optionally signed; rejects anything `Number()` would quietly accept. */
export function parseInteger(raw: string | undefined, where: string): number {
  const s = raw?.trim();
  if (s === undefined || !/^-?[0-9]+$/.test(s))
    throw invalid(`${where} is not an integer: ${JSON.stringify(raw)}`);
  const n = Number(s);
  if (!Number.isSafeInteger(n)) throw invalid(`${where} is out of range: ${s}`);
  return n;
}

export function optionalInteger(raw: string | undefined, where: string): number | undefined {
  return raw === undefined ? undefined : parseInteger(raw, where);
}

export function yesNo(value: boolean | undefined): 'yes' | 'no' | undefined {
  return value === undefined ? undefined : value ? 'yes' : 'no';
}

export function parseYesNo(raw: string | undefined, where: string): boolean | undefined {
  if (raw === undefined) return undefined;
  if (raw === 'yes') return true;
  if (raw === 'no') return false;
  throw invalid(`${where} is ${JSON.stringify(raw)}, expected yes or no`);
}

// libvirt's scaled integers: b/bytes, k/KiB (1024) vs KB (1000), and so on up to E.
const POWERS = ['b', 'k', 'm', 'g', 't', 'p', 'e'];

/** Reads a libvirt memory element (value + optional unit, default KiB) as KiB, rounding up. */
export function parseKiB(e: XmlElement, where: string): number {
  const value = BigInt(parseInteger(e.text, where));
  const unit = e.attrs.unit ?? 'KiB';
  const m = /^([bkmgtpe])(i?b|ytes?)?$/i.exec(unit);
  if (!m) throw invalid(`${where} has unknown unit ${JSON.stringify(unit)}`);
  const power = POWERS.indexOf(m[1]!.toLowerCase());
  const suffix = (m[2] ?? '').toLowerCase();
  if (suffix.startsWith('y') && power !== 0)
    throw invalid(`${where} has unknown unit ${JSON.stringify(unit)}`);
  // "KB", "MB"... are powers of 1000; "K", "KiB", "k" are powers of 1024 (libvirt's rule).
  const base = power > 0 && suffix === 'b' ? 1000n : 1024n;
  const bytes = value * base ** BigInt(power);
  const kib = (bytes + 1023n) / 1024n;
  if (kib > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid(`${where} is out of range`);
  return Number(kib);
}
