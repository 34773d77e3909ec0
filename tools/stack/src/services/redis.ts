/** Redis for BullMQ: append-only persistence and no eviction (a dropped job is a lost operation). */
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { livePid, mustExec, stopPid, waitFor } from '../proc';
import type { Service, ServiceContext } from './types';

const pidFile = (ctx: ServiceContext) => path.join(ctx.paths.run, 'redis.pid');

export function redisPing(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.setTimeout(1000);
    s.once('connect', () => s.write('PING\r\n'));
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString().startsWith('+PONG'));
    });
    s.once('error', () => resolve(false));
    s.once('timeout', () => {
      s.destroy();
      resolve(false);
    });
  });
}

export const redis: Service = {
  name: 'redis',
  after: [],
  logFile: (ctx) => path.join(ctx.paths.logs, 'redis.log'),

  async status(ctx) {
    const pid = livePid(pidFile(ctx));
    if (pid === null) return { running: false, ours: false, detail: 'stopped' };
    const ok = await redisPing(ctx.ports.redis);
    return {
      running: ok,
      ours: true,
      pid,
      detail: ok ? `127.0.0.1:${ctx.ports.redis}` : 'not answering PING',
    };
  },

  async up(ctx) {
    if (livePid(pidFile(ctx)) === null) {
      const dir = path.join(ctx.paths.data, 'redis');
      mkdirSync(dir, { recursive: true });
      mkdirSync(ctx.paths.run, { recursive: true });
      mkdirSync(ctx.paths.logs, { recursive: true });
      await mustExec('redis-server', [
        '--port',
        String(ctx.ports.redis),
        '--bind',
        '127.0.0.1',
        '--dir',
        dir,
        '--appendonly',
        'yes',
        '--maxmemory-policy',
        'noeviction',
        '--daemonize',
        'yes',
        '--pidfile',
        pidFile(ctx),
        '--logfile',
        this.logFile(ctx),
      ]);
    }
    await waitFor('redis', () => redisPing(ctx.ports.redis), 30_000);
    return `ready on 127.0.0.1:${ctx.ports.redis} (appendonly, noeviction)`;
  },

  async down(ctx) {
    const pid = livePid(pidFile(ctx));
    if (pid !== null) await stopPid(pid);
  },
};
