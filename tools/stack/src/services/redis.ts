/**
 * Redis for BullMQ: append-only persistence and no eviction, because an evicted key is a lost job.
 * Loopback only, data in .data/<profile>/redis, daemonised with its pidfile in the run folder.
 */
import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { assertPortFree, livePid, mustExec, stopPid, waitFor } from '../proc';
import type { Service, ServiceContext } from './types';

const pidFile = (ctx: ServiceContext) => path.join(ctx.paths.run, 'redis.pid');

/** One RESP command over a raw socket; resolves with the raw reply, or null on any failure. */
export function redisCommand(port: number, ...args: string[]): Promise<string | null> {
  const request = `*${args.length}\r\n${args.map((a) => `$${Buffer.byteLength(a)}\r\n${a}\r\n`).join('')}`;
  return new Promise((resolve) => {
    const s = net.connect({ port, host: '127.0.0.1' });
    s.setTimeout(1000);
    s.once('connect', () => s.write(request));
    s.once('data', (d) => {
      s.destroy();
      resolve(d.toString());
    });
    s.once('error', () => resolve(null));
    s.once('timeout', () => {
      s.destroy();
      resolve(null);
    });
  });
}

export async function redisPing(port: number): Promise<boolean> {
  return (await redisCommand(port, 'PING'))?.startsWith('+PONG') ?? false;
}

export const redis: Service = {
  name: 'redis',
  after: [],
  packages: ['redis-server'],
  optional: false,
  logFile: (ctx) => path.join(ctx.paths.logs, 'redis.log'),

  async status(ctx) {
    const endpoint = `127.0.0.1:${ctx.ports.redis}`;
    const pid = livePid(pidFile(ctx));
    if (pid === null) return { running: false, ready: false, ours: false, endpoint };
    return { running: true, ready: await redisPing(ctx.ports.redis), ours: true, pid, endpoint };
  },

  async up(ctx) {
    const was = await this.status(ctx);
    if (!was.running) {
      await assertPortFree(ctx.ports.redis, 'redis');
      const dir = path.join(ctx.paths.data, 'redis');
      for (const d of [dir, ctx.paths.run, ctx.paths.logs]) mkdirSync(d, { recursive: true });
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
    return {
      started: !was.running,
      detail: `ready on 127.0.0.1:${ctx.ports.redis} (appendonly, noeviction)`,
    };
  },

  async down(ctx) {
    const pid = livePid(pidFile(ctx));
    if (pid === null) return null;
    // SIGTERM makes Redis flush the append-only file and remove its pidfile before it exits.
    await stopPid(pid);
    return `stopped (pid ${pid})`;
  },
};
