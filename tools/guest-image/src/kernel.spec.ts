import { describe, expect, it } from 'vitest';
import { debFileName, parseShow } from './kernel';

describe('parseShow', () => {
  it('reads the kernel package and exact version the meta-package pins', () => {
    const show = [
      'Package: linux-image-amd64',
      'Source: linux-signed-amd64 (6.1.192+2)',
      'Version: 6.1.192-2',
      'Depends: linux-image-6.1.0-56-amd64 (= 6.1.192-2)',
      'Description: Linux for 64-bit PCs (meta-package)',
    ].join('\n');
    expect(parseShow(show)).toEqual({
      version: '6.1.192-2',
      kernel: { name: 'linux-image-6.1.0-56-amd64', version: '6.1.192-2' },
    });
  });

  it('accepts an unsigned or cloud flavour only when it ends in -amd64', () => {
    expect(
      parseShow('Version: 1\nDepends: linux-image-6.1.0-56-cloud-amd64 (= 6.1.192-2)').kernel?.name,
    ).toBe('linux-image-6.1.0-56-cloud-amd64');
    expect(
      parseShow('Version: 1\nDepends: linux-image-6.1.0-56-arm64 (= 6.1.192-2)').kernel,
    ).toBeNull();
  });
});

describe('debFileName', () => {
  it("spells an epoch's colon the way apt-get download does", () => {
    expect(debFileName({ name: 'linux-image-6.1.0-56-amd64', version: '6.1.192-2' })).toBe(
      'linux-image-6.1.0-56-amd64_6.1.192-2_amd64.deb',
    );
    expect(debFileName({ name: 'x', version: '1:2.0-1' })).toBe('x_1%3a2.0-1_amd64.deb');
  });
});
