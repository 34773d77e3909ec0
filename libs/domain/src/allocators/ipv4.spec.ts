import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandomInt } from '../random';
import { unwrap } from '../result';
import { allocateIpv4, formatIpv4, ipv4InCidr, ipv4Subnet, parseIpv4, parseIpv4Cidr } from './ipv4';

const subnet = (cidr: string, gateway?: string | null) => unwrap(ipv4Subnet(cidr, gateway));

describe('IPv4 text', () => {
  it('parses and formats dotted quads', () => {
    expect(parseIpv4('10.1.2.3')).toEqual({ ok: true, value: 0x0a010203 });
    expect(formatIpv4(0xffffffff)).toBe('255.255.255.255');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 0xffffffff }), (n) => {
        expect(parseIpv4(formatIpv4(n))).toEqual({ ok: true, value: n });
      }),
    );
  });

  it.each(['010.0.0.1', '10.0.0', '10.0.0.256', '10.0.0.1 ', '1.2.3.4.5', '::1', '10.0.0.-1', ''])(
    'refuses ambiguous or malformed %j',
    (text) => {
      expect(parseIpv4(text, 'nics[0].ip')).toEqual({
        ok: false,
        reason: 'invalid',
        field: 'nics[0].ip',
        detail: `nics[0].ip: '${text}' is not an IPv4 address like 10.0.0.5`,
      });
    },
  );

  it('parses a CIDR and refuses host bits set, suggesting the network', () => {
    expect(parseIpv4Cidr('10.0.0.0/24')).toEqual({
      ok: true,
      value: { network: 0x0a000000, prefixLength: 24, text: '10.0.0.0/24' },
    });
    expect(parseIpv4Cidr('10.0.0.5/24')).toEqual({
      ok: false,
      reason: 'invalid',
      field: 'cidr',
      detail: 'cidr: 10.0.0.5/24 has host bits set; did you mean 10.0.0.0/24?',
    });
    expect(parseIpv4Cidr('10.0.0.0/33')).toMatchObject({
      detail: 'cidr: prefix length /33 is longer than /32',
    });
    for (const bad of ['10.0.0.0', '10.0.0.0/', '10.0.0.0/024', '10.0.0.0/a', '/24'])
      expect(parseIpv4Cidr(bad)).toMatchObject({ ok: false, reason: 'invalid', field: 'cidr' });
    expect(parseIpv4Cidr('0.0.0.0/0')).toMatchObject({ ok: true });
  });

  it('membership follows the prefix', () => {
    const cidr = unwrap(parseIpv4Cidr('192.168.4.0/22'));
    expect(ipv4InCidr(cidr, unwrap(parseIpv4('192.168.7.255')))).toBe(true);
    expect(ipv4InCidr(cidr, unwrap(parseIpv4('192.168.8.0')))).toBe(false);
    expect(ipv4InCidr(cidr, unwrap(parseIpv4('192.168.3.255')))).toBe(false);
  });
});

describe('ipv4Subnet', () => {
  it('reserves network, broadcast and by default the first host as gateway', () => {
    const s = subnet('10.0.0.0/24');
    expect(formatIpv4(s.firstHost)).toBe('10.0.0.1');
    expect(formatIpv4(s.lastHost)).toBe('10.0.0.254');
    expect(formatIpv4(s.broadcast!)).toBe('10.0.0.255');
    expect(formatIpv4(s.gateway!)).toBe('10.0.0.1');
    expect(s.allocatable).toBe(253);
  });

  it('accepts another gateway or none, and refuses one outside the host range', () => {
    expect(formatIpv4(subnet('10.0.0.0/24', '10.0.0.254').gateway!)).toBe('10.0.0.254');
    expect(subnet('10.0.0.0/24', null)).toMatchObject({ gateway: null, allocatable: 254 });
    expect(ipv4Subnet('10.0.0.0/24', '10.0.0.255')).toEqual({
      ok: false,
      reason: 'invalid',
      field: 'gateway',
      detail: 'gateway: 10.0.0.255 is not a host address of 10.0.0.0/24',
    });
    expect(ipv4Subnet('10.0.0.0/24', '10.0.1.1', { gateway: 'networks[0].gateway' })).toMatchObject(
      {
        field: 'networks[0].gateway',
      },
    );
    expect(ipv4Subnet('10.0.0.0/24', 'nope')).toMatchObject({ field: 'gateway' });
    expect(ipv4Subnet('10.0.0.1/24', undefined, { cidr: 'networks[0].cidr' })).toMatchObject({
      field: 'networks[0].cidr',
    });
  });

  it('treats /31 and /32 as all-host (RFC 3021)', () => {
    expect(subnet('10.0.0.0/31')).toMatchObject({ broadcast: null, allocatable: 1 });
    expect(subnet('10.0.0.0/31', null)).toMatchObject({ allocatable: 2 });
    expect(subnet('10.0.0.7/32', null)).toMatchObject({ allocatable: 1 });
    expect(subnet('10.0.0.0/30')).toMatchObject({ allocatable: 1 });
  });
});

describe('allocateIpv4', () => {
  it('gives the lowest free host address, skipping the gateway', () => {
    expect(allocateIpv4(subnet('10.0.0.0/24'), [])).toEqual({ ok: true, value: '10.0.0.2' });
    expect(allocateIpv4(subnet('10.0.0.0/24'), ['10.0.0.2', '10.0.0.3/32'])).toEqual({
      ok: true,
      value: '10.0.0.4',
    });
    expect(allocateIpv4(subnet('10.0.0.0/24', '10.0.0.254'), [])).toEqual({
      ok: true,
      value: '10.0.0.1',
    });
  });

  it('reports exhaustion counting only what NICs could have had', () => {
    const s = subnet('10.0.0.0/29'); // .1 gateway, .2-.6 for NICs
    const inUse = ['10.0.0.2', '10.0.0.3', '10.0.0.4', '10.0.0.5', '10.0.0.6'];
    expect(allocateIpv4(s, inUse)).toEqual({
      ok: false,
      reason: 'exhausted',
      detail: 'all 5 addresses of 10.0.0.0/29 in use',
    });
    expect(allocateIpv4(s, inUse.slice(1), { random: seededRandomInt(2) })).toEqual({
      ok: true,
      value: '10.0.0.2',
    });
    expect(allocateIpv4(subnet('10.0.0.0/32'), [])).toEqual({
      ok: false,
      reason: 'exhausted',
      detail: '10.0.0.0/32 has no allocatable addresses',
    });
  });

  it('never hands out the network, broadcast, gateway or an address in use, and fills the subnet exactly', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 24, max: 31 }),
        fc.integer({ min: 0, max: 0xffffffff }),
        fc.integer(),
        fc.boolean(),
        (prefixLength, base, seed, useRandom) => {
          const size = 2 ** (32 - prefixLength);
          const network = Math.floor(base / size) * size;
          const s = subnet(`${formatIpv4(network)}/${prefixLength}`);
          const random = useRandom ? seededRandomInt(seed) : undefined;
          const held: string[] = [];
          for (;;) {
            const r = allocateIpv4(s, held, { random });
            if (!r.ok) break;
            const n = unwrap(parseIpv4(r.value));
            expect(n).toBeGreaterThanOrEqual(s.firstHost);
            expect(n).toBeLessThanOrEqual(s.lastHost);
            expect(n).not.toBe(s.gateway);
            expect(held).not.toContain(r.value);
            held.push(r.value);
          }
          expect(held).toHaveLength(s.allocatable);
        },
      ),
      { numRuns: 40 },
    );
  });

  it('treats a malformed address in use as a broken invariant', () => {
    expect(() => allocateIpv4(subnet('10.0.0.0/24'), ['10.0.0.0/24'])).toThrow(RangeError);
  });
});
