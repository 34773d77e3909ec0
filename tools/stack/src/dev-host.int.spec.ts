/**
 * The dev profile's host (services/dev-host.ts) for real: a namespace and its own libvirtd, a
 * guest on it, then `down` leaves no process, namespace or link behind, and the system libvirtd
 * (the shared test stack's) is not touched at any point. Runs the service on a scratch data
 * folder and a namespace name of its own, so it never meets a running `npm run dev`.
 *
 * Needs root, iproute2, util-linux and libvirt's daemons. The guest has no disk and no NIC: it
 * sits in SeaBIOS, which costs little CPU, and proves that `down` stops guests by PID.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { pathsFor, portsFor } from './profiles';
import { isAlive, readPid } from './proc';
import { devHostService, hostDir, readDevHost } from './services/dev-host';
import type { ServiceContext } from './services/types';

const exec = promisify(execFile);
const root = mkdtempSync(path.join(os.tmpdir(), 'palisade-devhost-'));
const ctx: ServiceContext = {
  profile: 'dev',
  ports: portsFor('dev', {}),
  paths: pathsFor(root, 'dev', {}),
  log: () => undefined,
};
const netns = `paldev${randomBytes(3).toString('hex')}`;
const service = devHostService({ netns: () => netns });
const guest = `devhost-probe-${randomBytes(3).toString('hex')}`;
const GUEST_XML = `<domain type='qemu'>
  <name>${guest}</name>
  <memory unit='MiB'>32</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>`;

const virsh = async (...args: string[]) =>
  (await exec('virsh', ['-c', readDevHost(ctx)!.uri, ...args], { encoding: 'utf8' })).stdout;
const rootLinks = async () =>
  (await exec('ip', ['-o', 'link'], { encoding: 'utf8' })).stdout
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0])
    .filter((n): n is string => !!n);
const systemLibvirtd = () => readPid('/run/libvirtd.pid');

describe('dev profile host: own libvirtd in its own network namespace', () => {
  let systemBefore: number | null;
  let legacyHolder: ChildProcess;

  beforeAll(() => {
    systemBefore = systemLibvirtd();
    // What the old dev profile left: pidfiles claiming a daemon it did not start here. A process
    // of this test stands in for the system libvirtd; it must survive `up` and `down`.
    legacyHolder = spawn('sleep', ['600'], { stdio: 'ignore' });
    mkdirSync(ctx.paths.run, { recursive: true });
    writeFileSync(path.join(ctx.paths.run, 'libvirtd.pid'), `${legacyHolder.pid}\n`);
  });

  afterAll(async () => {
    await service.down(ctx).catch(() => undefined);
    legacyHolder?.kill('SIGTERM');
    rmSync(root, { recursive: true, force: true });
  });

  it('up makes the namespace with its underlay, its own libvirtd, and nothing in the root namespace', async () => {
    const r = await service.up(ctx);
    expect(r.started).toBe(true);
    expect(r.detail).toContain(`in netns ${netns}`);
    expect(r.detail).toContain(`system libvirtd (pid ${legacyHolder.pid}) left running`);
    expect(isAlive(legacyHolder.pid!)).toBe(true);
    expect(existsSync(path.join(ctx.paths.run, 'libvirtd.pid'))).toBe(false);

    const host = readDevHost(ctx)!;
    expect(host).toMatchObject({ netns, underlayDev: 'ul0', underlayIp: '192.0.2.1' });
    expect(host.uri).toBe(
      `qemu:///system?socket=${path.join(hostDir(ctx), 'run', 'libvirt-sock')}`,
    );
    expect(existsSync(`/run/netns/${netns}`)).toBe(true);
    const inside = (await exec('ip', ['-n', netns, '-o', 'addr'], { encoding: 'utf8' })).stdout;
    expect(inside).toMatch(/ul0\s+inet 192\.0\.2\.1\/24/);
    const links = await rootLinks();
    expect(links).not.toContain('ul0');
    expect(links).not.toContain('ul0p');

    const st = await service.status(ctx);
    expect(st).toMatchObject({ running: true, ready: true, ours: true });
    expect(st.pid).toBe(readPid(path.join(hostDir(ctx), 'libvirtd.pid')));
    expect(st.pid).not.toBe(systemLibvirtd());
    expect(systemLibvirtd()).toBe(systemBefore);
  });

  it('a second up starts nothing', async () => {
    const pid = readPid(path.join(hostDir(ctx), 'libvirtd.pid'));
    const r = await service.up(ctx);
    expect(r.started).toBe(false);
    expect(readPid(path.join(hostDir(ctx), 'libvirtd.pid'))).toBe(pid);
  });

  it('runs a guest that only its libvirtd knows, and down stops it, the daemons and the namespace', async () => {
    const xml = path.join(root, `${guest}.xml`);
    writeFileSync(xml, GUEST_XML);
    await virsh('define', xml);
    await virsh('start', guest);
    const qemu = readPid(path.join(hostDir(ctx), 'run', 'qemu', `${guest}.pid`))!;
    expect(readFileSync(`/proc/${qemu}/cmdline`, 'utf8')).toContain('qemu');
    if (systemBefore !== null) {
      const system = (
        await exec('virsh', ['-c', 'qemu:///system', 'list', '--all', '--name'], {
          encoding: 'utf8',
        })
      ).stdout;
      expect(system).not.toContain(guest);
    }
    const daemons = ['libvirtd', 'virtlogd'].map((d) =>
      readPid(path.join(hostDir(ctx), `${d}.pid`))!,
    );

    const did = await service.down(ctx);
    expect(did).toContain(`removed netns ${netns}`);
    for (const pid of [qemu, ...daemons]) expect(isAlive(pid), `pid ${pid}`).toBe(false);
    expect(existsSync(`/run/netns/${netns}`)).toBe(false);
    expect(readDevHost(ctx)).toBeNull();
    expect((await service.status(ctx)).running).toBe(false);
    // What must not have changed: the stand-in for the system daemon and the real one.
    expect(isAlive(legacyHolder.pid!)).toBe(true);
    expect(systemLibvirtd()).toBe(systemBefore);
    // A second down finds nothing of its own.
    expect(await service.down(ctx)).toBeNull();
  });

  it('keeps domain definitions across down and up, shut off', async () => {
    await service.up(ctx);
    expect((await virsh('domstate', guest)).trim()).toBe('shut off');
    await virsh('undefine', guest);
    await service.down(ctx);
    expect(existsSync(`/run/netns/${netns}`)).toBe(false);
  });
});
