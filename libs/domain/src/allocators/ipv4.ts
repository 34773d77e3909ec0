/**
 * IPv4 addresses for guest interfaces, one per NIC, unique within the network's subnet (the
 * database's `nics_network_ip` constraint is the second lock). The allocated address is also
 * what the `clean-traffic` nwfilter pins the interface to, so it must be exact.
 *
 * The network address, the broadcast address and the gateway are never handed out. /31 and /32
 * have no network or broadcast address (RFC 3021), so every address in them is a host address.
 *
 * Must never accept ambiguous input: "010.0.0.1" is octal to some parsers and decimal to others,
 * and "10.0.0.5/24" (host bits set) may mean the subnet or the address; both are refused, as
 * PostgreSQL's `cidr` type refuses the second.
 */
import { exhausted, invalid, ok, type Exhausted, type Invalid, type Result } from '../result';
import { pickFree, type PickOptions } from './pool';

const OCTET = '(25[0-5]|2[0-4][0-9]|1[0-9][0-9]|[1-9]?[0-9])';
const IPV4 = new RegExp(`^${OCTET}\\.${OCTET}\\.${OCTET}\\.${OCTET}$`);

export function parseIpv4(text: string, field = 'ip'): Result<number, Invalid> {
  const m = IPV4.exec(text);
  if (!m) return invalid(field, `'${text}' is not an IPv4 address like 10.0.0.5`);
  return ok(((Number(m[1]) * 256 + Number(m[2])) * 256 + Number(m[3])) * 256 + Number(m[4]));
}

export function formatIpv4(n: number): string {
  if (!Number.isInteger(n) || n < 0 || n > 0xffff_ffff)
    throw new RangeError(`not an IPv4 value: ${n}`);
  return [n >>> 24, (n >>> 16) & 0xff, (n >>> 8) & 0xff, n & 0xff].join('.');
}

export interface Ipv4Cidr {
  /** The network address as an unsigned 32-bit integer. */
  readonly network: number;
  readonly prefixLength: number;
  /** Canonical text, e.g. "10.0.0.0/24". */
  readonly text: string;
}

const blockSize = (prefixLength: number) => 2 ** (32 - prefixLength);

export function parseIpv4Cidr(text: string, field = 'cidr'): Result<Ipv4Cidr, Invalid> {
  const m = /^([^/]+)\/(0|[1-9][0-9]?)$/.exec(text.trim());
  if (!m) return invalid(field, `'${text}' is not an IPv4 CIDR like 10.0.0.0/24`);
  const addr = parseIpv4(m[1] as string, field);
  if (!addr.ok) return invalid(field, `'${text}' is not an IPv4 CIDR like 10.0.0.0/24`);
  const prefixLength = Number(m[2]);
  if (prefixLength > 32) return invalid(field, `prefix length /${prefixLength} is longer than /32`);
  const size = blockSize(prefixLength);
  const network = Math.floor(addr.value / size) * size;
  if (network !== addr.value)
    return invalid(
      field,
      `${text.trim()} has host bits set; did you mean ${formatIpv4(network)}/${prefixLength}?`,
    );
  return ok({ network, prefixLength, text: `${formatIpv4(network)}/${prefixLength}` });
}

export function ipv4InCidr(cidr: Ipv4Cidr, address: number): boolean {
  return address >= cidr.network && address < cidr.network + blockSize(cidr.prefixLength);
}

export interface Ipv4Subnet {
  readonly cidr: Ipv4Cidr;
  /** null for /31 and /32. */
  readonly broadcast: number | null;
  readonly gateway: number | null;
  /** The lowest and highest host addresses (gateway included). */
  readonly firstHost: number;
  readonly lastHost: number;
  /** Addresses a NIC can get: the host range less the gateway. */
  readonly allocatable: number;
}

/**
 * Describes a subnet for allocation. `gateway` undefined means the first host address (the usual
 * choice, and what the network plan configures); null means the network has no gateway.
 */
export function ipv4Subnet(
  cidrText: string,
  gatewayText?: string | null,
  fields: { cidr?: string; gateway?: string } = {},
): Result<Ipv4Subnet, Invalid> {
  const gatewayField = fields.gateway ?? 'gateway';
  const parsed = parseIpv4Cidr(cidrText, fields.cidr ?? 'cidr');
  if (!parsed.ok) return parsed;
  const cidr = parsed.value;
  const size = blockSize(cidr.prefixLength);
  const pointToPoint = cidr.prefixLength >= 31;
  const firstHost = pointToPoint ? cidr.network : cidr.network + 1;
  const lastHost = pointToPoint ? cidr.network + size - 1 : cidr.network + size - 2;
  let gateway: number | null = null;
  if (gatewayText === undefined) gateway = firstHost;
  else if (gatewayText !== null) {
    const g = parseIpv4(gatewayText, gatewayField);
    if (!g.ok) return g;
    if (g.value < firstHost || g.value > lastHost)
      return invalid(gatewayField, `${gatewayText} is not a host address of ${cidr.text}`);
    gateway = g.value;
  }
  const hosts = lastHost - firstHost + 1;
  return ok({
    cidr,
    broadcast: pointToPoint ? null : cidr.network + size - 1,
    gateway,
    firstHost,
    lastHost,
    allocatable: gateway === null ? hosts : hosts - 1,
  });
}

/** Accepts what node-postgres returns for an `inet` column: "10.0.0.5" or "10.0.0.5/32". */
function inUseAddress(text: string): number {
  const r = parseIpv4(text.endsWith('/32') ? text.slice(0, -3) : text);
  if (!r.ok) throw new RangeError(`IP in use is not an IPv4 host address: ${text}`);
  return r.value;
}

/**
 * Picks an address of the subnet that no NIC of the network holds. Lowest-free by default, which
 * keeps small subnets readable; pass a random source to make freshly freed addresses unlikely to
 * be reused while ARP caches still remember the old owner.
 */
export function allocateIpv4(
  subnet: Ipv4Subnet,
  inUse: Iterable<string>,
  options: PickOptions = {},
): Result<string, Exhausted> {
  if (subnet.allocatable === 0)
    return exhausted(`${subnet.cidr.text} has no allocatable addresses`);
  const used = new Set<number>();
  for (const text of inUse) used.add(inUseAddress(text));
  if (subnet.gateway !== null) used.add(subnet.gateway);
  const r = pickFree([{ lo: subnet.firstHost, hi: subnet.lastHost }], used, 'addresses', options);
  // The gateway sits in the pool as a value in use; the message counts what NICs could have had.
  if (!r.ok) return exhausted(`all ${subnet.allocatable} addresses of ${subnet.cidr.text} in use`);
  return ok(formatIpv4(r.value));
}
