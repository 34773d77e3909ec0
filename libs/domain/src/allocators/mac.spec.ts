import { MAC_PATTERN } from '@palisade/contracts';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { seededRandomInt } from '../random';
import { unwrap } from '../result';
import {
  allocateMac,
  DEFAULT_MAC_PREFIX,
  isLocallyAdministeredMac,
  isMulticastMac,
  macFromNumber,
  macPrefixCapacity,
  macToNumber,
  normaliseMac,
  parseGuestMac,
  parseMacPrefix,
} from './mac';

describe('MAC text', () => {
  it.each([
    ['52:54:00:AB:cd:EF', '52:54:00:ab:cd:ef'],
    ['52-54-00-ab-cd-ef', '52:54:00:ab:cd:ef'],
    ['5254.00ab.cdef', '52:54:00:ab:cd:ef'],
    ['525400ABCDEF', '52:54:00:ab:cd:ef'],
    [' 02:50:4c:00:00:01 ', '02:50:4c:00:00:01'],
  ])('normalises %j to the form libvirt prints back', (text, mac) => {
    expect(normaliseMac(text)).toEqual({ ok: true, value: mac });
  });

  it.each([
    '52:54:00:ab:cd',
    '52:54:00:ab:cd:ef:01',
    '52:54-00:ab:cd:ef',
    'g2:54:00:ab:cd:ef',
    '5254.00ab',
    '',
  ])('refuses %j, naming the field', (text) => {
    expect(normaliseMac(text, 'nics[0].mac')).toMatchObject({
      ok: false,
      reason: 'invalid',
      field: 'nics[0].mac',
    });
  });

  it('converts to and from a 48-bit number', () => {
    expect(macToNumber('00:00:00:00:01:00')).toBe(256);
    expect(macFromNumber(2 ** 48 - 1)).toBe('ff:ff:ff:ff:ff:ff');
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 2 ** 48 - 1 }), (n) => {
        expect(macToNumber(macFromNumber(n))).toBe(n);
      }),
    );
    expect(() => macFromNumber(2 ** 48)).toThrow(RangeError);
  });

  it('reads the multicast and locally-administered bits of the first octet', () => {
    expect(isMulticastMac('01:00:5e:00:00:01')).toBe(true);
    expect(isMulticastMac('52:54:00:00:00:01')).toBe(false);
    expect(isLocallyAdministeredMac('52:54:00:00:00:01')).toBe(true);
    expect(isLocallyAdministeredMac('00:1b:21:00:00:01')).toBe(false);
  });

  it('a guest MAC must be unicast and locally administered', () => {
    expect(parseGuestMac('52:54:00:12:34:56')).toEqual({ ok: true, value: '52:54:00:12:34:56' });
    expect(parseGuestMac('03:00:00:00:00:01')).toEqual({
      ok: false,
      reason: 'invalid',
      field: 'mac',
      detail: 'mac: 03:00:00:00:00:01 is a multicast address; a guest needs a unicast one',
    });
    expect(parseGuestMac('00:1b:21:00:00:01')).toMatchObject({
      ok: false,
      detail: expect.stringContaining('is globally administered'),
    });
  });
});

describe('MAC prefixes', () => {
  it('the default prefix is locally administered, unicast, and not QEMU/libvirt 52:54:00', () => {
    expect(parseMacPrefix(DEFAULT_MAC_PREFIX.text)).toEqual({
      ok: true,
      value: DEFAULT_MAC_PREFIX,
    });
    expect(DEFAULT_MAC_PREFIX.text).not.toBe('52:54:00');
    expect(macPrefixCapacity(DEFAULT_MAC_PREFIX)).toBe(2 ** 24);
  });

  it('accepts 1 to 5 octets and normalises case', () => {
    expect(parseMacPrefix('0A')).toEqual({ ok: true, value: { octets: [0x0a], text: '0a' } });
    expect(parseMacPrefix('52-54-00-AB-CD')).toEqual({
      ok: true,
      value: { octets: [0x52, 0x54, 0x00, 0xab, 0xcd], text: '52:54:00:ab:cd' },
    });
  });

  it('refuses a prefix that would give multicast or global addresses, naming the field', () => {
    expect(parseMacPrefix('01:00:5e')).toEqual({
      ok: false,
      reason: 'invalid',
      field: 'macPrefix',
      detail: 'macPrefix: 01:00:5e has the multicast bit set (first octet must be even)',
    });
    expect(parseMacPrefix('00:1b:21')).toMatchObject({
      detail: expect.stringContaining('not locally administered'),
    });
    expect(parseMacPrefix('02:50:4c:00:00:01')).toMatchObject({ ok: false, reason: 'invalid' });
    expect(parseMacPrefix('')).toMatchObject({ ok: false, reason: 'invalid' });
  });
});

describe('allocateMac', () => {
  it('gives the lowest free MAC under the default prefix', () => {
    expect(allocateMac([])).toEqual({ ok: true, value: '02:50:4c:00:00:00' });
    expect(allocateMac(['02:50:4C:00:00:00', '02-50-4c-00-00-01'])).toEqual({
      ok: true,
      value: '02:50:4c:00:00:02',
    });
  });

  it('ignores MACs in use under other prefixes', () => {
    const prefix = unwrap(parseMacPrefix('52:54:00:ab:cd'));
    expect(allocateMac(['02:50:4c:00:00:00', '52:54:00:ab:cd:00'], { prefix })).toEqual({
      ok: true,
      value: '52:54:00:ab:cd:01',
    });
  });

  it('reports exhaustion of a five-octet prefix exactly', () => {
    const prefix = unwrap(parseMacPrefix('52:54:00:ab:cd'));
    const all = Array.from(
      { length: 256 },
      (_, i) => `52:54:00:ab:cd:${i.toString(16).padStart(2, '0')}`,
    );
    expect(allocateMac(all, { prefix, random: seededRandomInt(4) })).toEqual({
      ok: false,
      reason: 'exhausted',
      detail: 'all 256 MACs under 52:54:00:ab:cd in use',
    });
    expect(allocateMac(all.slice(1), { prefix, random: seededRandomInt(4) })).toEqual({
      ok: true,
      value: '52:54:00:ab:cd:00',
    });
  });

  it('every allocated MAC carries the prefix, is a unicast LA address, and passes the VmSpec pattern', () => {
    const prefixArb = fc
      .array(fc.integer({ min: 0, max: 255 }), { minLength: 1, maxLength: 5 })
      .map((octets) => [(octets[0]! & 0xfc) | 0x02, ...octets.slice(1)])
      .map((octets) =>
        unwrap(parseMacPrefix(octets.map((o) => o.toString(16).padStart(2, '0')).join(':'))),
      );
    fc.assert(
      fc.property(prefixArb, fc.integer(), fc.integer({ min: 1, max: 30 }), (prefix, seed, n) => {
        const random = seededRandomInt(seed);
        const held: string[] = [];
        for (let i = 0; i < n; i++) {
          const r = allocateMac(held, { prefix, random });
          if (!r.ok) break; // a 5-octet prefix has only 256
          expect(r.value.startsWith(prefix.text)).toBe(true);
          expect(r.value).toMatch(MAC_PATTERN);
          expect(isMulticastMac(r.value)).toBe(false);
          expect(isLocallyAdministeredMac(r.value)).toBe(true);
          expect(held).not.toContain(r.value);
          held.push(r.value);
        }
      }),
    );
  });

  it('treats a malformed MAC in use as a broken invariant', () => {
    expect(() => allocateMac(['not-a-mac'])).toThrow(RangeError);
  });
});
