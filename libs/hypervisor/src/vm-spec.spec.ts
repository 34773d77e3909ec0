// The VmSpec contract (libs/contracts/src/vm-spec.ts), tested here beside its only consumer so far:
// every rejection names the field it is about.
import { vmSpecSchema } from '@palisade/contracts';
import { describe, expect, it } from 'vitest';

const valid = {
  vmId: '6b0d3f4e-2a51-4c7e-9d6f-0a1b2c3d4e5f',
  tenantId: '0e4f7a2c-9b1d-4e3f-8a5b-6c7d8e9f0a1b',
  name: 'web-1',
  specRevision: 0,
  vcpus: 1,
  memoryMiB: 256,
  cpu: { shares: 1024, quotaUs: -1, periodUs: 100000 },
  blkio: { weight: 500 },
  disks: [
    {
      id: 'a3f1c0de-0000-4000-8000-000000000001',
      volumeId: '9c1e7d2a-4b3f-4e5d-8a6b-000000000002',
      path: '/var/lib/palisade/volumes/v.qcow2',
      format: 'qcow2',
      bus: 'virtio',
      encrypted: { secretUuid: '3f2504e0-4f89-41d3-9a0c-0305e82c3301' },
      iotune: {},
    },
  ],
  seed: { path: '/var/lib/palisade/seeds/s.img' },
  nics: [
    {
      id: 'a3f1c0de-0000-4000-8000-000000000003',
      mac: '52:54:00:6b:0d:3f',
      bridge: 'pbr-vx4097',
      ip: '10.20.0.5',
      bandwidth: { averageKBps: 1000 },
    },
  ],
  isolation: { svirt: 'required', mcs: { c1: 0, c2: 1023 } },
  console: { vnc: 'none' },
  boot: { kind: 'disk' },
};

type Patch = (s: typeof valid) => unknown;

function problems(patch: Patch): string[] {
  const spec = structuredClone(valid);
  patch(spec); // mutates; the return value is ignored
  const r = vmSpecSchema.safeParse(spec);
  return r.success ? [] : r.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
}

describe('vmSpecSchema', () => {
  it('accepts a complete spec', () => {
    expect(problems(() => undefined)).toEqual([]);
  });

  it.each<[string, Patch, RegExp]>([
    [
      'MCS pair out of order',
      (s) => (s.isolation.mcs = { c1: 5, c2: 5 }),
      /isolation\.mcs\.c2: isolation\.mcs\.c1 must be less than isolation\.mcs\.c2/,
    ],
    [
      'MCS category above 1023',
      (s) => (s.isolation.mcs = { c1: 1, c2: 1024 }),
      /isolation\.mcs\.c2 must be at most 1023/,
    ],
    [
      'name with XML metacharacters',
      (s) => (s.name = 'a&b'),
      /^name: name must be 1-63 characters/,
    ],
    ['upper-case name', (s) => (s.name = 'Web'), /^name: /],
    ['64-character name', (s) => (s.name = 'a'.repeat(64)), /^name: /],
    [
      'multicast MAC',
      (s) => (s.nics[0]!.mac = '01:00:5e:00:00:01'),
      /nics\.0\.mac: nics\[\]\.mac must be a unicast MAC/,
    ],
    [
      'IPv6 address',
      (s) => (s.nics[0]!.ip = '::1'),
      /nics\.0\.ip: nics\[\]\.ip must be an IPv4 address/,
    ],
    [
      'bridge name too long for Linux',
      (s) => (s.nics[0]!.bridge = 'b'.repeat(16)),
      /nics\.0\.bridge: /,
    ],
    [
      'relative disk path',
      (s) => (s.disks[0]!.path = 'v.qcow2'),
      /disks\.0\.path: disks\[\]\.path must be an absolute path/,
    ],
    [
      '.. in a path',
      (s) => (s.seed.path = '/var/lib/../etc/shadow'),
      /seed\.path: seed\.path must not contain '\.\.'/,
    ],
    [
      'raw data disk',
      (s) => ((s.disks[0] as { format: string }).format = 'raw'),
      /disks\.0\.format: disks\[\]\.format must be 'qcow2'/,
    ],
    [
      'quota below the kernel minimum',
      (s) => (s.cpu.quotaUs = 500),
      /cpu\.quotaUs: cpu\.quotaUs must be -1 \(unlimited\) or at least 1000/,
    ],
    [
      'period out of range',
      (s) => (s.cpu.periodUs = 999),
      /cpu\.periodUs: cpu\.periodUs must be at least 1000/,
    ],
    [
      'blkio weight out of range',
      (s) => (s.blkio.weight = 50),
      /blkio\.weight: blkio\.weight must be at least 100/,
    ],
    [
      'unix VNC without a socket',
      (s) => ((s.console as { vnc: string }).vnc = 'unix'),
      /console\.vncSocketPath: console\.vncSocketPath is required/,
    ],
    [
      'VNC on all interfaces',
      (s) => ((s.console as { vnc: string }).vnc = 'any'),
      /console\.vnc: console\.vnc must be 'none', 'loopback' or 'unix'/,
    ],
    [
      'duplicate disk IDs',
      (s) => s.disks.push({ ...s.disks[0]!, path: '/other.qcow2' }),
      /disks\.1\.id: disks\[\]\.id must be unique/,
    ],
    [
      'seed path equal to a disk path',
      (s) => (s.seed.path = s.disks[0]!.path),
      /seed\.path: seed\.path must differ/,
    ],
    [
      'disk boot without disks',
      (s) => (s.disks = []),
      /disks: disks must not be empty when boot\.kind is 'disk'/,
    ],
    [
      'soft limit above hard limit',
      (s) => Object.assign(s, { memtune: { hardLimitMiB: 512, softLimitMiB: 1024 } }),
      /memtune\.softLimitMiB: memtune\.softLimitMiB must not exceed memtune\.hardLimitMiB/,
    ],
    [
      'hard limit below guest RAM',
      (s) => Object.assign(s, { memtune: { hardLimitMiB: 128 } }),
      /memtune\.hardLimitMiB: memtune\.hardLimitMiB must be at least memoryMiB/,
    ],
    [
      'unknown boot kind',
      (s) => ((s.boot as { kind: string }).kind = 'pxe'),
      /boot.*boot\.kind must be 'disk' or 'kernel'/,
    ],
    [
      'control character in the kernel command line',
      (s) =>
        Object.assign(s, { boot: { kind: 'kernel', kernel: '/k', initrd: '/i', cmdline: 'a\nb' } }),
      /boot\.cmdline: boot\.cmdline must not contain control characters/,
    ],
  ])('rejects %s, naming the field', (_what, patch, message) => {
    const found = problems(patch);
    expect(
      found.some((p) => message.test(p)),
      found.join('\n'),
    ).toBe(true);
  });
});
