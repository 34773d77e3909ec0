/**
 * Builds Palisade Tiny for real (from the cache when warm) and boots it under TCG: direct kernel
 * boot (PVH vmlinux and bzImage) and BIOS boot from the qcow2. Networking reaches nothing: the
 * NIC, when there is one, is slirp with restrict=on, spoken to only through a forward from
 * 127.0.0.1; the BIOS boot has no NIC at all. Boot times are printed, never asserted.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import {
  closeSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  truncateSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  BOOT_PACKAGES,
  buildGuestImage,
  DISK_LAYOUT,
  ensurePackages,
  makeSeed,
  TinyGuest,
  type GuestImage,
  type TinyGuestOptions,
} from './index';

const log = (line: string) => console.log(`[guest-image] ${line}`);
const work = mkdtempSync(path.join(os.tmpdir(), 'palisade-tiny-test-'));
const guests: TinyGuest[] = [];
let image: GuestImage;

beforeAll(async () => {
  await ensurePackages(BOOT_PACKAGES, log);
  const t0 = Date.now();
  image = await buildGuestImage({ log });
  log(
    `image ${image.version} ${image.cached ? 'from the cache' : 'built'} in ${Date.now() - t0} ms: ` +
      `vmlinuz ${image.sizes.vmlinuz} B, vmlinux ${image.sizes.vmlinux} B, initrd ${image.sizes.initrd} B, ` +
      `qcow2 ${image.sizes.qcow2} B (virtual ${image.sizes.qcow2Virtual} B)`,
  );
}, 900_000);

afterAll(async () => {
  for (const g of guests) await g.stop();
  rmSync(work, { recursive: true, force: true });
});

async function boot(name: string, opts: Omit<TinyGuestOptions, 'workDir'>): Promise<TinyGuest> {
  const dir = mkdtempSync(path.join(work, `${name}-`));
  const g = await TinyGuest.start({ ...opts, workDir: dir });
  guests.push(g);
  return g;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = net.createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address() as net.AddressInfo;
      s.close(() => resolve(port));
    });
  });
}

/** One round trip through the guest's echo responder; null when it did not answer in time. */
function echoOnce(port: number, text: string): Promise<string | null> {
  return new Promise((resolve) => {
    const s = net.connect({ host: '127.0.0.1', port });
    let got = '';
    const done = (v: string | null) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(3000, () => done(null));
    s.on('connect', () => s.write(text));
    s.on('data', (d) => {
      got += d.toString();
      if (got.includes(text)) done(got);
    });
    s.on('error', () => done(null));
    s.on('close', () => done(got.includes(text) ? got : null));
  });
}

function readAt(file: string, offset: number, length: number): string {
  const fd = openSync(file, 'r');
  try {
    const buf = Buffer.alloc(length);
    readSync(fd, buf, 0, length, offset);
    return buf.toString('latin1');
  } finally {
    closeSync(fd);
  }
}

describe('Palisade Tiny', () => {
  it('is answered from the cache on the second build, with the same artefacts', async () => {
    const t0 = Date.now();
    const again = await buildGuestImage();
    log(`warm build: ${Date.now() - t0} ms`);
    expect(again.cached).toBe(true);
    expect(again.version).toBe(image.version);
    expect(again.directBoot).toEqual(image.directBoot);
    expect(image.dir.startsWith(path.resolve(__dirname, '../../..') + path.sep)).toBe(false);
    // DESIGN.md's order: each of these after the one before it.
    const design = ['virtio_ring', 'virtio', 'virtio_pci', 'net_failover', 'virtio_net'];
    const at = design.map((m) => image.modules.indexOf(m));
    expect(at.every((i) => i >= 0)).toBe(true);
    expect([...at].sort((a, b) => a - b)).toEqual(at);
  });

  it('makes a vfat seed labelled cidata holding the three NoCloud files', async () => {
    const seed = await makeSeed(
      {
        hostname: 'seed-check',
        instanceId: 'i-seed',
        network: { mac: '52:54:00:00:00:09', address: '10.9.0.2/24' },
        userData: '#cloud-config\n',
      },
      path.join(work, 'seed-check.img'),
    );
    const env = { ...process.env, MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' };
    const label = execFileSync('mlabel', ['-i', seed.path, '-s', '::'], { encoding: 'utf8', env });
    expect(label.trim().toLowerCase()).toBe('volume label is cidata');
    for (const [name, content] of Object.entries(seed.files))
      expect(execFileSync('mtype', ['-i', seed.path, `::${name}`], { encoding: 'utf8', env })).toBe(
        content,
      );
  });

  it('boots directly (PVH vmlinux): READY with the seeded identity, runs user-data, writes its disk, echoes, takes commands', async () => {
    const mac = '52:54:00:12:34:56';
    const plaintext = `PALISADE-PLAINTEXT-${randomBytes(8).toString('hex')}`;
    const data = path.join(work, 'direct-data.raw');
    writeFileSync(data, '');
    truncateSync(data, 16 * 1024 * 1024);
    const seed = await makeSeed(
      {
        hostname: 'tiny-direct',
        instanceId: 'i-direct-1',
        network: { mac, address: '10.0.2.15/24', gateway: '10.0.2.2' },
        userData: [
          '#!/bin/sh',
          'set -e',
          'echo "user-data on $(hostname): data disk $PALISADE_DATA_DISK"',
          `printf '%s' '${plaintext}' | dd of="$PALISADE_DATA_DISK" bs=512 conv=sync 2>/dev/null`,
          'ip -o -4 addr show | grep -q "inet 10.0.2.15/24"',
          '',
        ].join('\n'),
      },
      path.join(work, 'direct-seed.img'),
    );
    const echoPort = await freePort();
    const guest = await boot('direct', {
      boot: { kind: 'direct', ...image.directBoot },
      disks: [
        { file: data, format: 'raw' },
        { file: seed.path, format: 'raw', readonly: true },
      ],
      network: {
        kind: 'isolated-user',
        mac,
        forwards: [{ hostPort: echoPort, guestIp: '10.0.2.15', guestPort: 7 }],
      },
    });

    const ready = await guest.waitFor('READY', (m) => m.ready, 120_000);
    const bootMs = Date.now() - guest.startedAt;
    log(
      `direct boot (PVH ${path.basename(image.directBoot.kernel)}) to READY: ${bootMs} ms under TCG (guest uptime at /init: ${guest.markers().boot?.uptimeSeconds} s)`,
    );
    expect(ready).toEqual({
      hostname: 'tiny-direct',
      ip: '10.0.2.15/24',
      mac,
      instance: 'i-direct-1',
    });
    expect(guest.markers().disks).toEqual({ seed: '/dev/vdb', data: '/dev/vda' });
    expect(guest.markers().boot?.image).toBe(image.version);

    const done = await guest.waitFor('USERDATA-DONE', (m) => m.userdataDone, 60_000);
    log(`direct boot to USERDATA-DONE: ${Date.now() - guest.startedAt} ms`);
    expect(done.rc).toBe(0);
    expect(guest.console).toContain('user-data on tiny-direct: data disk /dev/vda');
    expect(guest.markers().errors).toEqual([]);
    expect(readAt(data, 0, plaintext.length)).toBe(plaintext);

    // busybox init starts the responder after /init; until then the forward finds nothing.
    const token = `echo-${randomBytes(4).toString('hex')}\n`;
    let echoed: string | null = null;
    for (const deadline = Date.now() + 60_000; !echoed && Date.now() < deadline;) {
      echoed = await echoOnce(echoPort, token);
      if (!echoed) await new Promise((r) => setTimeout(r, 500));
    }
    expect(echoed).toBe(token);

    // The serial shell: typed input is lost until busybox init has opened ttyS0, so type again
    // until the answer shows up. $((6*7)) proves the shell evaluated it, not just echoed it.
    let typing: NodeJS.Timeout | undefined;
    try {
      const send = () => guest.send('echo shell-$((6*7))-ok\n');
      send();
      typing = setInterval(send, 1500);
      await guest.waitFor(
        'a shell answer',
        (_m, c) => (c.includes('shell-42-ok') ? true : undefined),
        60_000,
      );
    } finally {
      clearInterval(typing);
    }
    await guest.stop();
  }, 300_000);

  it('boots directly from the bzImage too', async () => {
    const seed = await makeSeed(
      {
        hostname: 'tiny-bz',
        instanceId: 'i-bz',
        network: { mac: '52:54:00:00:00:42', address: '10.3.0.2/24' },
      },
      path.join(work, 'bz-seed.img'),
    );
    const guest = await boot('bzimage', {
      boot: {
        kind: 'direct',
        kernel: image.vmlinuz,
        initrd: image.initrd,
        cmdline: image.cmdline,
      },
      disks: [{ file: seed.path, format: 'raw', readonly: true }],
      network: { kind: 'none' },
    });
    const ready = await guest.waitFor('READY', (m) => m.ready, 120_000);
    log(`direct boot (bzImage vmlinuz) to READY: ${Date.now() - guest.startedAt} ms under TCG`);
    expect(ready.hostname).toBe('tiny-bz');
    expect(ready.ip).toBeNull();
    expect(guest.markers().warnings).toEqual(['no NIC with mac=52:54:00:00:00:42']);
    // The only disk is the seed, so there is no data disk for user-data to write.
    expect(guest.markers().disks).toEqual({ seed: '/dev/vda', data: null });
    await guest.waitFor('USERDATA-DONE', (m) => m.userdataDone, 60_000);
    expect(guest.markers().userdataSkipped).toBe(true);
    await guest.stop();
  }, 300_000);

  it('boots from palisade-tiny.qcow2 through the BIOS, writes only its scratch partition, reports user-data failure', async () => {
    const overlay = path.join(work, 'bios-overlay.qcow2');
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      image.qcow2,
      '-F',
      'qcow2',
      overlay,
    ]);
    const plaintext = `PALISADE-PLAINTEXT-${randomBytes(8).toString('hex')}`;
    const seed = await makeSeed(
      {
        hostname: 'tiny-bios',
        instanceId: 'i-bios-1',
        network: { mac: '52:54:00:65:43:21', address: '10.4.0.9/24' },
        userData: `#!/bin/sh\nprintf '%s' '${plaintext}' | dd of="$PALISADE_DATA_DISK" bs=512 conv=sync 2>/dev/null\nexit 7\n`,
      },
      path.join(work, 'bios-seed.img'),
    );
    const guest = await boot('bios', {
      boot: { kind: 'bios', disk: overlay, format: 'qcow2' },
      disks: [{ file: seed.path, format: 'raw', readonly: true }],
      network: { kind: 'none' },
    });
    const ready = await guest.waitFor('READY', (m) => m.ready, 180_000);
    log(`BIOS boot (syslinux, qcow2) to READY: ${Date.now() - guest.startedAt} ms under TCG`);
    expect(ready).toEqual({
      hostname: 'tiny-bios',
      ip: null,
      mac: '52:54:00:65:43:21',
      instance: 'i-bios-1',
    });
    expect(guest.markers().disks).toEqual({ seed: '/dev/vdb', data: '/dev/vda2' });
    const done = await guest.waitFor('USERDATA-DONE', (m) => m.userdataDone, 60_000);
    expect(done.rc).toBe(7);
    await guest.stop();

    const raw = path.join(work, 'bios-overlay.raw');
    execFileSync('qemu-img', ['convert', '-f', 'qcow2', '-O', 'raw', overlay, raw]);
    const scratch = (DISK_LAYOUT.bootStart + DISK_LAYOUT.bootSectors) * 512;
    expect(readAt(raw, scratch, plaintext.length)).toBe(plaintext);
    // The boot sector and the boot partition are untouched: the MBR still ends in 55 AA and
    // the cached image itself did not change (the guest wrote to the overlay only).
    expect(Buffer.from(readAt(raw, 510, 2), 'latin1')).toEqual(Buffer.from([0x55, 0xaa]));
    expect(readFileSync(image.qcow2).includes(plaintext)).toBe(false);
  }, 300_000);
});
