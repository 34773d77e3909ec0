/**
 * virtlogd and libvirtd, started by hand (there is no init system here). libvirt is system-wide,
 * so both profiles share it: whichever profile starts it owns it and stops it; one found already
 * running is used and left alone.
 */
import { existsSync, rmSync } from 'node:fs';
import path from 'node:path';
import { exec, livePid, readPid, stopPid, waitFor, writePid } from '../proc';
import type { Service, ServiceContext } from './types';

export const LIBVIRT_URI = 'qemu:///system';

const owned = (ctx: ServiceContext, d: string) => path.join(ctx.paths.run, `${d}.pid`);

async function answers(): Promise<boolean> {
  return (await exec('virsh', ['-c', LIBVIRT_URI, 'version'], { timeoutMs: 5000 })).code === 0;
}

async function startDaemon(ctx: ServiceContext, daemon: 'virtlogd' | 'libvirtd'): Promise<void> {
  const systemPid = `/run/${daemon}.pid`;
  if (livePid(systemPid) !== null) return;
  const r = await exec(daemon, ['-d'], { timeoutMs: 30_000 });
  if (r.code !== 0) throw new Error(`${daemon} -d failed: ${(r.stderr || r.stdout).trim()}`);
  await waitFor(`${daemon} pidfile`, async () => readPid(systemPid) !== null, 10_000);
  writePid(owned(ctx, daemon), readPid(systemPid)!);
}

export const libvirt: Service = {
  name: 'libvirt',
  after: [],
  logFile: () => '/var/log/libvirt/libvirtd.log',

  async status(ctx) {
    const mine = livePid(owned(ctx, 'libvirtd'));
    const up = await answers();
    if (!up) return { running: false, ours: false, detail: 'stopped' };
    return {
      running: true,
      ours: mine !== null,
      pid: mine ?? livePid('/run/libvirtd.pid') ?? undefined,
      detail: mine ? LIBVIRT_URI : `${LIBVIRT_URI} (already running, not ours)`,
    };
  },

  async up(ctx) {
    const missing = ['libvirtd', 'virtlogd', 'virsh'].filter(
      (b) => !['/usr/sbin', '/usr/bin'].some((d) => existsSync(path.join(d, b))),
    );
    if (missing.length > 0)
      throw new Error(`libvirt is not installed (missing ${missing.join(', ')})`);
    if (!(await answers())) {
      await startDaemon(ctx, 'virtlogd');
      await startDaemon(ctx, 'libvirtd');
      await waitFor('libvirtd', answers, 30_000);
    }
    const version = (await exec('virsh', ['-c', LIBVIRT_URI, 'version'])).stdout;
    const lib = /Using library: libvirt ([\d.]+)/.exec(version)?.[1] ?? '?';
    return `ready on ${LIBVIRT_URI} (libvirt ${lib})${livePid(owned(ctx, 'libvirtd')) ? '' : ', already running'}`;
  },

  async down(ctx) {
    for (const d of ['libvirtd', 'virtlogd'] as const) {
      const pid = livePid(owned(ctx, d));
      if (pid !== null) await stopPid(pid);
      rmSync(owned(ctx, d), { force: true });
    }
  },
};
