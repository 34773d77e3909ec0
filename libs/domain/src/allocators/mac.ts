/**
 * Guest MAC addresses: unique across the cluster (the database's `nics_mac` constraint is the
 * second lock), locally administered and unicast, under a configurable prefix.
 *
 * Why the default prefix is 02:50:4c and not QEMU's 52:54:00:
 * - Both are locally administered (bit 0x02 of the first octet set) and unicast (bit 0x01 clear),
 *   so neither needs an IEEE-assigned OUI, and both sit in the IEEE 802c SLAP "AAI" quadrant
 *   (second hex digit 2), the one meant for addresses assigned by a local administrator.
 * - libvirt gives every interface defined without a MAC a random 52:54:00:xx:xx:xx address. A
 *   host or fabric that also carries guests Palisade did not create (a libvirt default network, a
 *   test domain) could then collide with ours; under our own prefix it cannot.
 * - The prefix makes Palisade guests recognisable in a packet capture or a switch's FDB ("50:4c"
 *   is ASCII "PL"), and differs from Docker's 02:42.
 * Two Palisade clusters sharing one L2 fabric should each configure their own prefix.
 *
 * Must never produce a multicast or globally administered address: the first would be flooded by
 * every bridge, the second could belong to real hardware.
 */
import { invalid, ok, type Exhausted, type Invalid, type Result } from '../result';
import { pickFree, type PickOptions } from './pool';

const LOCALLY_ADMINISTERED = 0x02;
const MULTICAST = 0x01;

/** A parsed prefix: 1 to 5 leading octets; the rest of the 48 bits are allocated. */
export interface MacPrefix {
  readonly octets: readonly number[];
  /** Lower-case colon form, e.g. "02:50:4c". */
  readonly text: string;
}

const hex2 = (n: number) => n.toString(16).padStart(2, '0');
/** "525400123456" to "52:54:00:12:34:56". */
const colonise = (digits: string) => digits.replace(/(..)(?!$)/g, '$1:');

/** The 12 hex digits of a MAC in any common notation, or undefined. */
function macDigits(text: string): string | undefined {
  const t = text.trim().toLowerCase();
  // 52:54:00:12:34:56, 52-54-00-12-34-56, 5254.0012.3456 (Cisco), 525400123456
  if (/^[0-9a-f]{2}([:-])[0-9a-f]{2}(\1[0-9a-f]{2}){4}$/.test(t)) return t.replace(/[:-]/g, '');
  if (/^[0-9a-f]{4}\.[0-9a-f]{4}\.[0-9a-f]{4}$/.test(t)) return t.replace(/\./g, '');
  if (/^[0-9a-f]{12}$/.test(t)) return t;
  return undefined;
}

/** Accepts any common notation and returns the lower-case colon form libvirt prints back. */
export function normaliseMac(text: string, field = 'mac'): Result<string, Invalid> {
  const digits = macDigits(text);
  if (!digits) return invalid(field, `'${text}' is not a MAC address like 02:50:4c:12:34:56`);
  return ok(colonise(digits));
}

export function macToNumber(mac: string): number {
  const digits = macDigits(mac);
  if (!digits) throw new RangeError(`not a MAC address: ${mac}`);
  return parseInt(digits, 16);
}

export function macFromNumber(n: number): string {
  if (!Number.isSafeInteger(n) || n < 0 || n >= 2 ** 48)
    throw new RangeError(`not a 48-bit value: ${n}`);
  return colonise(n.toString(16).padStart(12, '0'));
}

const firstOctet = (mac: string) => Math.floor(macToNumber(mac) / 2 ** 40);

export const isMulticastMac = (mac: string) => (firstOctet(mac) & MULTICAST) !== 0;
export const isLocallyAdministeredMac = (mac: string) =>
  (firstOctet(mac) & LOCALLY_ADMINISTERED) !== 0;

/**
 * Validates a MAC for a guest interface (for example one a tenant asks for) and normalises it:
 * it must be unicast and locally administered.
 */
export function parseGuestMac(text: string, field = 'mac'): Result<string, Invalid> {
  const r = normaliseMac(text, field);
  if (!r.ok) return r;
  if (isMulticastMac(r.value))
    return invalid(field, `${r.value} is a multicast address; a guest needs a unicast one`);
  if (!isLocallyAdministeredMac(r.value))
    return invalid(
      field,
      `${r.value} is globally administered; use a locally administered one (second hex digit 2, 6, a or e)`,
    );
  return ok(r.value);
}

/** Parses an operator's prefix ("02:50:4c", 1 to 5 octets) and checks its first octet. */
export function parseMacPrefix(text: string, field = 'macPrefix'): Result<MacPrefix, Invalid> {
  const t = text.trim().toLowerCase();
  if (!/^[0-9a-f]{2}([:-][0-9a-f]{2}){0,4}$/.test(t))
    return invalid(field, `'${text}' is not 1 to 5 octets like 02:50:4c`);
  const octets = t.split(/[:-]/).map((o) => parseInt(o, 16));
  const first = octets[0] as number;
  if (first & MULTICAST)
    return invalid(field, `${t} has the multicast bit set (first octet must be even)`);
  if (!(first & LOCALLY_ADMINISTERED))
    return invalid(
      field,
      `${t} is not locally administered (second hex digit must be 2, 6, a or e)`,
    );
  return ok({ octets, text: octets.map(hex2).join(':') });
}

export const DEFAULT_MAC_PREFIX: MacPrefix = { octets: [0x02, 0x50, 0x4c], text: '02:50:4c' };

function prefixBase(prefix: MacPrefix): { base: number; size: number } {
  const free = 6 - prefix.octets.length;
  const base = prefix.octets.reduce((acc, o) => acc * 256 + o, 0) * 256 ** free;
  return { base, size: 256 ** free };
}

/** How many MACs a prefix can hand out (2^24 for a three-octet prefix). */
export const macPrefixCapacity = (prefix: MacPrefix) => prefixBase(prefix).size;

export interface MacAllocateOptions extends PickOptions {
  readonly prefix?: MacPrefix;
}

/**
 * Picks a MAC under the prefix that is not in `inUse` (every NIC's MAC cluster-wide, in any
 * notation). Prefer a random source: with lowest-free, a MAC freed by a deletion is reused at
 * once, while switches' FDBs and guests' ARP caches may still point at the old VM.
 */
export function allocateMac(
  inUse: Iterable<string>,
  options: MacAllocateOptions = {},
): Result<string, Exhausted> {
  const prefix = options.prefix ?? DEFAULT_MAC_PREFIX;
  const { base, size } = prefixBase(prefix);
  const used = new Set<number>();
  for (const mac of inUse) {
    const n = macToNumber(mac);
    if (n >= base && n < base + size) used.add(n - base);
  }
  const r = pickFree([{ lo: 0, hi: size - 1 }], used, `MACs under ${prefix.text}`, options);
  return r.ok ? ok(macFromNumber(base + r.value)) : r;
}
