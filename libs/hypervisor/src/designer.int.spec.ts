// The designer's XML through libvirt's real QEMU driver, beyond what the schema can say: `virsh
// domxml-to-native qemu-argv` parses the domain, runs the driver's own validation and builds the
// QEMU command line, without defining or starting anything. Needs libvirtd on qemu:///system
// (`npm run stack -- up --only libvirt`). The only state it touches is two ephemeral secrets with
// random UUIDs, removed afterwards.
import { execFile } from 'node:child_process';
import { randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { vmSpecSchema, type VmSpec } from '@palisade/contracts';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { designDomain, type HostSecurity } from './designer';

const run = promisify(execFile);
const URI = 'qemu:///system';
const virsh = (...args: string[]) => run('virsh', ['-c', URI, ...args], { timeout: 30_000 });

const secrets = [randomUUID(), randomUUID()];
// The secret's value is the base64 *text* of random bytes (sent base64-encoded once more): QEMU
// reads LUKS passphrases as UTF-8, so raw random bytes would fail at start (see the README).
const keys = secrets.map(() => Buffer.from(randomBytes(32).toString('base64')).toString('base64'));
let dir: string;

beforeAll(async () => {
  try {
    await virsh('version');
  } catch (e) {
    throw new Error(
      `libvirtd does not answer on ${URI}; start it with \`npm run stack -- up --only libvirt\` (${String(e)})`,
    );
  }
  dir = mkdtempSync(path.join(tmpdir(), 'palisade-designer-int-'));
  for (const [i, uuid] of secrets.entries()) {
    const file = path.join(dir, `${uuid}-secret.xml`);
    writeFileSync(
      file,
      `<secret ephemeral='yes' private='yes'><uuid>${uuid}</uuid><usage type='volume'><volume>/palisade-test/${uuid}</volume></usage></secret>`,
    );
    await virsh('secret-define', file);
    await virsh('secret-set-value', uuid, '--base64', keys[i]!);
  }
});

afterAll(async () => {
  for (const uuid of secrets) await virsh('secret-undefine', uuid).catch(() => undefined);
  if (dir) rmSync(dir, { recursive: true, force: true });
});

function spec(overrides: Partial<VmSpec> = {}): VmSpec {
  const vmId = '6b0d3f4e-2a51-4c7e-9d6f-0a1b2c3d4e5f';
  return vmSpecSchema.parse({
    vmId,
    tenantId: '0e4f7a2c-9b1d-4e3f-8a5b-6c7d8e9f0a1b',
    name: 'int-1',
    specRevision: 1,
    vcpus: 1,
    memoryMiB: 256,
    cpu: { shares: 1024, quotaUs: 50000, periodUs: 100000 },
    memtune: { hardLimitMiB: 512, softLimitMiB: 256 },
    blkio: { weight: 300 },
    disks: secrets.map((secretUuid, i) => ({
      id: `a3f1c0de-0000-4000-8000-00000000000${i}`,
      volumeId: `9c1e7d2a-4b3f-4e5d-8a6b-00000000000${i}`,
      path: `/var/lib/palisade/volumes/v${i}.qcow2`,
      format: 'qcow2',
      bus: 'virtio',
      encrypted: { secretUuid },
      iotune: { totalIops: 500 },
    })),
    seed: { path: `/var/lib/palisade/seeds/${vmId}.img` },
    nics: [
      {
        id: 'a3f1c0de-0000-4000-8000-000000000009',
        mac: '52:54:00:6b:0d:3f',
        bridge: 'pbr-int',
        ip: '10.20.0.5',
        bandwidth: { averageKBps: 1000 },
      },
    ],
    isolation: { svirt: 'preferred', mcs: { c1: 1, c2: 2 } },
    console: { vnc: 'unix', vncSocketPath: `/run/palisade/vnc/${vmId}.sock` },
    boot: { kind: 'disk' },
    ...overrides,
  });
}

async function qemuArgv(s: VmSpec, host: HostSecurity): Promise<string> {
  const r = designDomain(s, host);
  if (!r.ok) throw new Error(r.reason);
  const file = path.join(dir, `${randomUUID()}.xml`);
  writeFileSync(file, r.xml);
  try {
    return (await virsh('domxml-to-native', 'qemu-argv', '--xml', file)).stdout;
  } catch (e) {
    // Keep libvirt's complaint and the XML it was about together, as the agent's logs will.
    throw new Error(`${(e as { stderr?: string }).stderr ?? String(e)}\n${r.xml}`);
  }
}

const TCG: HostSecurity = {
  securityDriver: 'none',
  allowWeakerIsolation: false,
  acceleration: 'tcg',
};

describe('designer output through the libvirt QEMU driver', () => {
  it('TCG: qemu64 without vmx/svm, LUKS via the secrets, O_DIRECT, unmap, read-only seed, VNC on the socket', async () => {
    const argv = await qemuArgv(spec(), TCG);
    expect(argv).toContain('-accel tcg');
    expect(argv).toContain('-cpu qemu64,vmx=off,svm=off');
    // One LUKS key per encrypted disk, taken from the libvirt secret and handed to QEMU wrapped
    // with the per-domain master key: the plaintext key never appears on the command line.
    expect(argv.match(/"encrypt":\{"format":"luks","key-secret":"[^"]+"\}/g)).toHaveLength(2);
    expect(
      argv.match(
        /"qom-type":"secret","id":"[^"]+-encryption-secret0","data":"[^"]+","keyid":"masterKey0","iv":/g,
      ),
    ).toHaveLength(2);
    for (const key of keys) expect(argv).not.toContain(key);
    expect(argv).toMatch(/"cache":\{"direct":true/);
    expect(argv).toMatch(/"discard":"unmap"/);
    expect(argv).toMatch(/"read-only":true,"driver":"raw"/);
    expect(argv).toContain('"id":"ua-seed"');
    expect(argv).toContain('vnc=unix:/run/palisade/vnc/6b0d3f4e-2a51-4c7e-9d6f-0a1b2c3d4e5f.sock');
    expect(argv).toContain('-chardev pty,id=charserial0');
    expect(argv).toContain('"mac":"52:54:00:6b:0d:3f"');
    expect(argv).toContain('"driver":"virtio-net-pci"');
  });

  it('direct kernel boot passes kernel, initrd and command line', async () => {
    const argv = await qemuArgv(
      spec({
        disks: [],
        nics: [],
        console: { vnc: 'loopback' },
        boot: {
          kind: 'kernel',
          kernel: '/k/vmlinuz',
          initrd: '/k/initrd.img',
          cmdline: 'console=ttyS0 quiet',
        },
      }),
      TCG,
    );
    expect(argv).toContain('-kernel /k/vmlinuz -initrd /k/initrd.img');
    expect(argv).toContain("-append 'console=ttyS0 quiet'");
    expect(argv).toContain('-vnc 127.0.0.1:0');
  });
});
