/**
 * IPv6 addresses in a tenant /64: either derived from the NIC's MAC (modified EUI-64, RFC 4291
 * appendix A, which is what the guest's SLAAC will configure by itself, so the nwfilter and the
 * guest agree without DHCPv6) or a random interface identifier (RFC 7217's goal of not exposing
 * the MAC, with the control plane as the source of stability).
 *
 * Uniqueness of EUI-64 addresses follows from MAC uniqueness. Random identifiers avoid the ones
 * RFC 5453 reserves and those in use.
 *
 * Must never accept a zone ID ("fe80::1%eth0") or a prefix other than /64: the nwfilter and SLAAC
 * both assume 64-bit interface identifiers.
 */
import { type RandomInt } from '../random';
import { exhausted, invalid, ok, type Exhausted, type Invalid, type Result } from '../result';
import { macToNumber } from './mac';

const GROUP = /^[0-9a-fA-F]{1,4}$/;
const V4_TAIL =
  /^(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])(\.(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])){3}$/;

function parseGroups(part: string): number[] | undefined {
  if (part === '') return [];
  const out: number[] = [];
  const pieces = part.split(':');
  for (const [i, piece] of pieces.entries()) {
    if (i === pieces.length - 1 && V4_TAIL.test(piece)) {
      const o = piece.split('.').map(Number) as [number, number, number, number];
      out.push(o[0] * 256 + o[1], o[2] * 256 + o[3]);
    } else if (GROUP.test(piece)) out.push(parseInt(piece, 16));
    else return undefined;
  }
  return out;
}

export function parseIpv6(text: string, field = 'ip'): Result<bigint, Invalid> {
  const bad = () => invalid(field, `'${text}' is not an IPv6 address like 2001:db8::1`);
  const halves = text.split('::');
  if (halves.length > 2) return bad();
  const head = parseGroups(halves[0] as string);
  const tail = halves.length === 2 ? parseGroups(halves[1] as string) : [];
  if (!head || !tail) return bad();
  // An embedded IPv4 tail is only valid at the very end.
  if (halves.length === 2 && V4_TAIL.test((halves[0] as string).split(':').pop() ?? ''))
    return bad();
  const missing = 8 - head.length - tail.length;
  if (halves.length === 1 ? missing !== 0 : missing < 1) return bad();
  const groups = [...head, ...Array<number>(halves.length === 2 ? missing : 0).fill(0), ...tail];
  return ok(groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n));
}

/** RFC 5952 canonical text: lower case, no leading zeros, the longest zero run (>= 2) as "::". */
export function formatIpv6(n: bigint): string {
  if (n < 0n || n >> 128n !== 0n) throw new RangeError(`not a 128-bit value: ${n}`);
  const groups = Array.from({ length: 8 }, (_, i) => Number((n >> BigInt(112 - 16 * i)) & 0xffffn));
  let bestStart = -1;
  let bestLen = 1;
  for (let i = 0; i < 8;) {
    if (groups[i] !== 0) {
      i++;
      continue;
    }
    let j = i;
    while (j < 8 && groups[j] === 0) j++;
    if (j - i > bestLen) {
      bestStart = i;
      bestLen = j - i;
    }
    i = j;
  }
  const hex = groups.map((g) => g.toString(16));
  if (bestStart < 0) return hex.join(':');
  return `${hex.slice(0, bestStart).join(':')}::${hex.slice(bestStart + bestLen).join(':')}`;
}

export interface Ipv6Prefix64 {
  readonly prefix: bigint;
  readonly text: string;
}

const IID_MASK = (1n << 64n) - 1n;

export function parseIpv6Prefix64(text: string, field = 'cidr6'): Result<Ipv6Prefix64, Invalid> {
  const m = /^([^/]+)\/([0-9]{1,3})$/.exec(text.trim());
  if (!m) return invalid(field, `'${text}' is not an IPv6 prefix like 2001:db8:0:1::/64`);
  if (m[2] !== '64') return invalid(field, `prefix length must be /64, got /${m[2]}`);
  const addr = parseIpv6(m[1] as string, field);
  if (!addr.ok) return invalid(field, `'${text}' is not an IPv6 prefix like 2001:db8:0:1::/64`);
  if ((addr.value & IID_MASK) !== 0n)
    return invalid(
      field,
      `${text.trim()} has host bits set; did you mean ${formatIpv6(addr.value & ~IID_MASK)}/64?`,
    );
  return ok({ prefix: addr.value, text: `${formatIpv6(addr.value)}/64` });
}

/** Modified EUI-64: insert ff:fe in the middle and flip the universal/local bit. */
export function eui64InterfaceId(mac: string): bigint {
  const n = BigInt(macToNumber(mac));
  const upper = n >> 24n;
  const lower = n & 0xff_ffffn;
  return ((upper << 40n) | (0xfffen << 24n) | lower) ^ (0x02n << 56n);
}

export function ipv6Eui64(prefix: Ipv6Prefix64, mac: string): string {
  return formatIpv6(prefix.prefix | eui64InterfaceId(mac));
}

/** Interface identifiers RFC 5453 reserves: subnet-router anycast and the reserved anycast block. */
export function isReservedInterfaceId(iid: bigint): boolean {
  if (iid === 0n) return true;
  if (iid >= 0xfdff_ffff_ffff_ff80n && iid <= 0xfdff_ffff_ffff_ffffn) return true;
  // 0200:5EFF:FE00:0000 to 0200:5EFF:FEFF:FFFF: the IANA EUI-48-derived block (incl. proxy MIP6).
  return iid >= 0x0200_5eff_fe00_0000n && iid <= 0x0200_5eff_feff_ffffn;
}

export const DEFAULT_IPV6_ATTEMPTS = 64;

/**
 * Picks a random interface identifier in the /64 that is neither reserved nor in use. With 2^64
 * identifiers, failing `attempts` draws means the random source is broken, not that the prefix
 * is full; the result says so rather than pretending to be exact.
 */
export function allocateIpv6Random(
  prefix: Ipv6Prefix64,
  inUse: Iterable<string>,
  options: { random: RandomInt; attempts?: number },
): Result<string, Exhausted> {
  const used = new Set<bigint>();
  for (const text of inUse) {
    const r = parseIpv6(text.endsWith('/128') ? text.slice(0, -4) : text);
    if (!r.ok) throw new RangeError(`IPv6 address in use is not valid: ${text}`);
    used.add(r.value);
  }
  const attempts = options.attempts ?? DEFAULT_IPV6_ATTEMPTS;
  for (let i = 0; i < attempts; i++) {
    const iid = (BigInt(options.random(2 ** 32)) << 32n) | BigInt(options.random(2 ** 32));
    const address = prefix.prefix | iid;
    if (!isReservedInterfaceId(iid) && !used.has(address)) return ok(formatIpv6(address));
  }
  return exhausted(`no free address in ${prefix.text} after ${attempts} random draws`);
}
