import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { isAppError } from '@palisade/contracts';
import { ROOTFS_DIR } from './initramfs';
import { seedFiles, type SeedSpec } from './seed';

const spec: SeedSpec = {
  hostname: 'web-1',
  instanceId: 'i-0001',
  network: { mac: '52:54:00:AB:CD:01', address: '10.0.2.15/24', gateway: '10.0.2.2' },
  sshAuthorizedKeys: ['ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI "quoted" me@host'],
  userData: '#!/bin/sh\necho hi\n',
};

describe('seedFiles', () => {
  it('writes NoCloud meta-data, user-data and a version-2 network-config', () => {
    const f = seedFiles(spec);
    expect(f['meta-data']).toBe(
      [
        'instance-id: "i-0001"',
        'local-hostname: "web-1"',
        'public-keys:',
        '  - "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI \\"quoted\\" me@host"',
        '',
      ].join('\n'),
    );
    expect(f['user-data']).toBe(spec.userData);
    expect(f['network-config']).toBe(
      [
        'version: 2',
        'ethernets:',
        '  nic0:',
        '    match:',
        '      macaddress: "52:54:00:ab:cd:01"',
        '    addresses:',
        '      - "10.0.2.15/24"',
        '    routes:',
        '      - to: "0.0.0.0/0"',
        '        via: "10.0.2.2"',
        '',
      ].join('\n'),
    );
  });

  it('leaves out the route and the keys when none are given', () => {
    const f = seedFiles({
      ...spec,
      network: { mac: '52:54:00:00:00:01', address: '192.168.7.9/32' },
      sshAuthorizedKeys: [],
    });
    expect(f['network-config']).not.toContain('routes');
    expect(f['meta-data']).not.toContain('public-keys');
    expect(f['user-data']).toBe(spec.userData);
  });

  const rejects: [string, Partial<SeedSpec>, string][] = [
    ['a host name that would add a YAML key', { hostname: 'web\nadmin: true' }, 'hostname'],
    ['a host name with a shell metacharacter', { hostname: 'web;reboot' }, 'hostname'],
    ['an instance ID with a space', { instanceId: 'i 1' }, 'instanceId'],
    [
      'a multicast MAC',
      { network: { mac: '01:00:5e:00:00:01', address: '10.0.0.1/24' } },
      'network.mac',
    ],
    [
      'an address without a prefix',
      { network: { mac: '52:54:00:00:00:01', address: '10.0.0.1' } },
      'network.address',
    ],
    [
      'a prefix over 32',
      { network: { mac: '52:54:00:00:00:01', address: '10.0.0.1/33' } },
      'network.address',
    ],
    [
      'an octet over 255',
      { network: { mac: '52:54:00:00:00:01', address: '10.0.0.256/24' } },
      'network.address',
    ],
    [
      'a gateway that is not IPv4',
      { network: { mac: '52:54:00:00:00:01', address: '10.0.0.1/24', gateway: 'fe80::1' } },
      'network.gateway',
    ],
    [
      'a key line with a newline',
      { sshAuthorizedKeys: ['ssh-ed25519 AAAA x\nssh-rsa BBBB'] },
      'sshAuthorizedKeys',
    ],
    ['user-data over 1 MiB', { userData: 'x'.repeat(1024 * 1024 + 1) }, 'userData'],
  ];
  for (const [what, patch, field] of rejects)
    it(`refuses ${what} with VALIDATION_FAILED on ${field}`, () => {
      let err: unknown;
      try {
        seedFiles({ ...spec, ...patch });
      } catch (e) {
        err = e;
      }
      expect(isAppError(err)).toBe(true);
      if (isAppError(err)) {
        expect(err.code).toBe('common.validation_failed');
        expect(err.details).toEqual({ field });
      }
    });
});

// The guest parses the seed with busybox awk and the scripts in rootfs/lib/palisade; run those
// same scripts here (busybox-static is a build dependency) on what seedFiles writes.
describe("the guest's seed readers", () => {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-seed-spec-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  const awk = (script: string, file: string, content: string, vars: string[] = []) => {
    writeFileSync(path.join(dir, file), content);
    return execFileSync(
      'busybox',
      ['awk', ...vars, '-f', path.join(ROOTFS_DIR, 'lib/palisade', script), path.join(dir, file)],
      {
        encoding: 'utf8',
      },
    );
  };

  it('reads host name, instance and keys from meta-data', () => {
    const md = seedFiles(spec)['meta-data'];
    expect(awk('yaml-get.awk', 'meta-data', md, ['-v', 'key=local-hostname'])).toBe('web-1\n');
    expect(awk('yaml-get.awk', 'meta-data', md, ['-v', 'key=instance-id'])).toBe('i-0001\n');
    expect(awk('yaml-get.awk', 'meta-data', md, ['-v', 'key=public-keys'])).toBe(
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAI "quoted" me@host\n',
    );
    expect(awk('yaml-get.awk', 'meta-data', md, ['-v', 'key=missing'])).toBe('');
  });

  it('reads MAC, address and gateway from network-config', () => {
    expect(awk('netconf.awk', 'network-config', seedFiles(spec)['network-config'])).toBe(
      '52:54:00:ab:cd:01 10.0.2.15/24 10.0.2.2\n',
    );
    const noGw = seedFiles({
      ...spec,
      network: { mac: '52:54:00:00:00:01', address: '192.168.7.9/32' },
    });
    expect(awk('netconf.awk', 'network-config', noGw['network-config'])).toBe(
      '52:54:00:00:00:01 192.168.7.9/32 -\n',
    );
  });

  it('also understands hand-written v2 configs: inline lists, gateway4, several NICs, CRLF', () => {
    const text = [
      'version: 2',
      'ethernets:',
      '  first:',
      '    match:',
      '      macaddress: 52:54:00:AA:00:01',
      '    addresses: ["fd00::5/64", 10.1.0.5/16]',
      '    gateway4: 10.1.0.1',
      '  unnamed:',
      '    addresses: [10.9.9.9/8]',
      '  second:',
      '    match: {macaddress: ignored}',
      '    match:',
      "      macaddress: '52:54:00:aa:00:02'",
      '    routes:',
      '      - to: 10.0.0.0/8',
      '        via: 10.2.0.254',
      '      - to: default',
      '        via: 10.2.0.1',
      '    addresses:',
      '      - 10.2.0.7/24',
    ].join('\r\n');
    expect(awk('netconf.awk', 'network-config', text)).toBe(
      '52:54:00:aa:00:01 10.1.0.5/16 10.1.0.1\n52:54:00:aa:00:02 10.2.0.7/24 10.2.0.1\n',
    );
  });
});
