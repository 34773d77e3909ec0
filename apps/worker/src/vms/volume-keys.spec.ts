import { describe, expect, it } from 'vitest';
import { newVolumeKey, unwrapVolumeKey, wrapVolumeKey } from './volume-keys';

const master = Buffer.alloc(32, 1);
const tenantId = '0193a1b2-0000-7000-8000-000000000001';
const volumeId = '0193a1b2-0000-7000-8000-0000000000aa';

describe('volume keys', () => {
  it('round-trips a key, and the wrapped bytes do not contain it', () => {
    const key = newVolumeKey();
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    const wrapped = wrapVolumeKey(master, { tenantId, volumeId, key });
    expect(wrapped.includes(Buffer.from(key))).toBe(false);
    expect(unwrapVolumeKey(master, { tenantId, volumeId, wrapped })).toBe(key);
  });

  it('another tenant, another volume row or another master key cannot unwrap it', () => {
    const wrapped = wrapVolumeKey(master, { tenantId, volumeId, key: newVolumeKey() });
    const other = '0193a1b2-0000-7000-8000-0000000000bb';
    expect(() => unwrapVolumeKey(master, { tenantId: other, volumeId, wrapped })).toThrow();
    expect(() => unwrapVolumeKey(master, { tenantId, volumeId: other, wrapped })).toThrow();
    expect(() => unwrapVolumeKey(Buffer.alloc(32, 2), { tenantId, volumeId, wrapped })).toThrow();
  });

  it('a tampered wrapped key is refused, not decrypted to garbage', () => {
    const wrapped = wrapVolumeKey(master, { tenantId, volumeId, key: newVolumeKey() });
    wrapped[wrapped.length - 1]! ^= 1;
    expect(() => unwrapVolumeKey(master, { tenantId, volumeId, wrapped })).toThrow();
  });
});
