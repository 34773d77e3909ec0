import { describe, expect, it } from 'vitest';
import { defaultCacheRoot } from './build';
import { parseArgs } from './cli';

describe('parseArgs', () => {
  it('takes a kernel package in both spellings', () => {
    expect(parseArgs([])).toEqual({});
    expect(parseArgs(['--kernel', 'linux-image-6.1.0-56-amd64'])).toEqual({
      kernelPackage: 'linux-image-6.1.0-56-amd64',
    });
    expect(parseArgs(['--kernel=linux-image-6.1.0-56-cloud-amd64'])).toEqual({
      kernelPackage: 'linux-image-6.1.0-56-cloud-amd64',
    });
  });

  it('refuses anything that is not a kernel image package, and unknown flags', () => {
    expect(() => parseArgs(['--kernel', 'busybox'])).toThrow('--kernel needs a package name');
    expect(() => parseArgs(['--kernel'])).toThrow('--kernel needs a package name');
    expect(() => parseArgs(['--force'])).toThrow('unknown argument --force');
  });
});

describe('defaultCacheRoot', () => {
  it('prefers PALISADE_CACHE and otherwise lives under ~/.cache, outside the repository', () => {
    expect(defaultCacheRoot({ PALISADE_CACHE: '/var/cache/p' })).toBe('/var/cache/p');
    expect(defaultCacheRoot({ HOME: '/home/me' })).toBe('/home/me/.cache/palisade');
  });
});
