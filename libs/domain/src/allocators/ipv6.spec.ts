import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandomInt, type RandomInt } from '../random';
import { unwrap } from '../result';
import {
  allocateIpv6Random,
  eui64InterfaceId,
  formatIpv6,
  ipv6Eui64,
  isReservedInterfaceId,
  parseIpv6,
  parseIpv6Prefix64,
} from './ipv6';

const v6 = (text: string) => unwrap(parseIpv6(text));

describe('IPv6 text', () => {
  it.each([
    ['2001:db8::1', '2001:db8::1'],
    ['2001:0DB8:0000:0000:0000:0000:0000:0001', '2001:db8::1'],
    ['::', '::'],
    ['::1', '::1'],
    ['1::', '1::'],
    ['2001:db8:0:0:1:0:0:1', '2001:db8::1:0:0:1'], // RFC 5952 4.2.3: first of equal runs
    ['2001:db8:0:1:1:1:1:1', '2001:db8:0:1:1:1:1:1'], // 4.2.2: a single zero group stays
    ['2001:0:0:1:0:0:0:1', '2001:0:0:1::1'], // 4.2.3: the longest run
    ['::ffff:192.0.2.1', '::ffff:c000:201'],
    ['1:2:3:4:5:6:7:8', '1:2:3:4:5:6:7:8'],
  ])('%s is canonically %s (RFC 5952)', (text, canonical) => {
    expect(formatIpv6(v6(text))).toBe(canonical);
  });

  it.each([
    '1:2:3:4:5:6:7',
    '1:2:3:4:5:6:7:8:9',
    '1::2::3',
    ':1::',
    '12345::',
    'fe80::1%eth0',
    '1.2.3.4::',
    'g::',
    '',
  ])('refuses %j', (text) => {
    expect(parseIpv6(text)).toMatchObject({ ok: false, reason: 'invalid', field: 'ip' });
  });

  it('round-trips any 128-bit value through canonical text', () => {
    const arb = fc
      .array(fc.oneof(fc.constant(0), fc.integer({ min: 0, max: 0xffff })), {
        minLength: 8,
        maxLength: 8,
      })
      .map((groups) => groups.reduce((acc, g) => (acc << 16n) | BigInt(g), 0n));
    fc.assert(
      fc.property(arb, (n) => {
        const text = formatIpv6(n);
        expect(parseIpv6(text)).toEqual({ ok: true, value: n });
        expect(text).toBe(text.toLowerCase());
        expect(text.split('::').length).toBeLessThanOrEqual(2);
      }),
    );
  });

  it('parses a /64 prefix and refuses others or host bits', () => {
    expect(parseIpv6Prefix64('2001:DB8:0:1::/64')).toEqual({
      ok: true,
      value: { prefix: v6('2001:db8:0:1::'), text: '2001:db8:0:1::/64' },
    });
    expect(parseIpv6Prefix64('2001:db8::/48')).toMatchObject({
      detail: 'cidr6: prefix length must be /64, got /48',
    });
    expect(parseIpv6Prefix64('2001:db8::1/64')).toMatchObject({
      detail: 'cidr6: 2001:db8::1/64 has host bits set; did you mean 2001:db8::/64?',
    });
    expect(parseIpv6Prefix64('nope/64', 'networks[0].cidr6')).toMatchObject({
      field: 'networks[0].cidr6',
    });
  });
});

describe('EUI-64 and random interface identifiers', () => {
  const prefix = unwrap(parseIpv6Prefix64('2001:db8:0:1::/64'));

  it('derives the modified EUI-64 address SLAAC would configure (RFC 4291 appendix A)', () => {
    expect(ipv6Eui64(prefix, '52:54:00:12:34:56')).toBe('2001:db8:0:1:5054:ff:fe12:3456');
    // The U/L bit flips back: a locally administered 02: becomes 00.
    expect(ipv6Eui64(prefix, '02:50:4c:00:00:01')).toBe('2001:db8:0:1:50:4cff:fe00:1');
  });

  it('distinct MACs give distinct EUI-64 identifiers', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        fc.integer({ min: 0, max: 2 ** 48 - 1 }),
        (a, b) => {
          fc.pre(a !== b);
          const mac = (n: number) => n.toString(16).padStart(12, '0');
          expect(eui64InterfaceId(mac(a))).not.toBe(eui64InterfaceId(mac(b)));
        },
      ),
    );
  });

  it('knows the RFC 5453 reserved identifiers', () => {
    expect(isReservedInterfaceId(0n)).toBe(true);
    expect(isReservedInterfaceId(0xfdff_ffff_ffff_ff80n)).toBe(true);
    expect(isReservedInterfaceId(0x0200_5eff_fe00_5213n)).toBe(true);
    expect(isReservedInterfaceId(0x1n)).toBe(false);
  });

  it('picks a random identifier that is neither reserved nor in use', () => {
    // Draws: 0,0 (IID 0, reserved), then the address in use, then a free one.
    const draws = [0, 0, 0, 5, 0, 6];
    const random: RandomInt = () => draws.shift() as number;
    expect(allocateIpv6Random(prefix, ['2001:db8:0:1::5'], { random })).toEqual({
      ok: true,
      value: '2001:db8:0:1::6',
    });
  });

  it('gives up honestly when every draw collides', () => {
    const random: RandomInt = () => 0;
    expect(allocateIpv6Random(prefix, [], { random, attempts: 3 })).toEqual({
      ok: false,
      reason: 'exhausted',
      detail: 'no free address in 2001:db8:0:1::/64 after 3 random draws',
    });
  });

  it('random addresses stay inside the prefix and do not repeat', () => {
    const random = seededRandomInt(8);
    const held: string[] = [];
    for (let i = 0; i < 200; i++) {
      const r = allocateIpv6Random(prefix, held, { random });
      if (!r.ok) throw new Error(r.detail);
      expect(v6(r.value) >> 64n).toBe(prefix.prefix >> 64n);
      held.push(r.value);
    }
    expect(new Set(held).size).toBe(200);
  });
});
