/**
 * The stack tool against the real Postgres and Redis of the test profile. Other suites share
 * these services, so it only ever runs `up` and `status` (both safe while others use them), never
 * `down` or `reset`. Keycloak and libvirt are exercised by their own consumers' suites.
 */
import { spawnSync } from 'node:child_process';
import path from 'node:path';
import Redis from 'ioredis';
import { Client } from 'pg';
import { beforeAll, describe, expect, it } from 'vitest';
import { loadStack } from '@palisade/testkit';

const bin = path.resolve(__dirname, '../bin/stack.mjs');
const stack = (...args: string[]) => {
  // As CI runs it: no terminal, nothing on stdin.
  const r = spawnSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    input: '',
    env: { ...process.env, CI: 'true', PALISADE_PORT_OFFSET: '' },
    timeout: 300_000,
  });
  return { code: r.status, out: `${r.stdout}${r.stderr}` };
};
const pids = (statusOut: string) =>
  Object.fromEntries(
    [...statusOut.matchAll(/^\S+ (\w+)\s+ready\s+pid (\d+)/gm)].map((m) => [m[1], m[2]]),
  );

describe('stack up --profile test --only postgres,redis (real services)', () => {
  let first: { code: number | null; out: string };
  beforeAll(() => {
    first = stack('up', '--profile', 'test', '--only', 'postgres,redis');
  });

  it('reports each service ready on its test port and writes stack.json', () => {
    expect(first.code, first.out).toBe(0);
    expect(first.out).toMatch(/^✔ postgres\s+ready on 127\.0\.0\.1:56432 /m);
    expect(first.out).toMatch(/^✔ redis\s+ready on 127\.0\.0\.1:57379 /m);
    expect(first.out).toMatch(/^✔ stack test up in /m);
    const info = loadStack('test');
    expect(info.profile).toBe('test');
    expect(info.postgres.port).toBe(56432);
    expect(info.redis.url).toBe('redis://127.0.0.1:57379');
  });

  it('Postgres answers SQL as the runtime role, which owns nothing and cannot bypass RLS', async () => {
    const client = new Client({ connectionString: loadStack('test').postgres.appUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{
        me: string;
        rolsuper: boolean;
        rolbypassrls: boolean;
        owner: string;
      }>(
        `SELECT current_user AS me, r.rolsuper, r.rolbypassrls, pg_get_userbyid(d.datdba) AS owner
           FROM pg_roles r, pg_database d
          WHERE r.rolname = current_user AND d.datname = current_database()`,
      );
      expect(rows).toEqual([
        { me: 'palisade_app', rolsuper: false, rolbypassrls: false, owner: 'palisade_owner' },
      ]);
    } finally {
      await client.end();
    }
  });

  it('the owner role logs in to the database it owns', async () => {
    const client = new Client({ connectionString: loadStack('test').postgres.ownerUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ one: number }>('SELECT 1 AS one');
      expect(rows).toEqual([{ one: 1 }]);
    } finally {
      await client.end();
    }
  });

  it('Redis answers PING and runs append-only without eviction, as BullMQ needs', async () => {
    const redis = new Redis(loadStack('test').redis.url, {
      lazyConnect: true,
      maxRetriesPerRequest: 1,
    });
    await redis.connect();
    try {
      expect(await redis.ping()).toBe('PONG');
      expect(await redis.config('GET', 'appendonly')).toEqual(['appendonly', 'yes']);
      expect(await redis.config('GET', 'maxmemory-policy')).toEqual([
        'maxmemory-policy',
        'noeviction',
      ]);
      expect(await redis.config('GET', 'bind')).toEqual(['bind', '127.0.0.1']);
    } finally {
      redis.disconnect();
    }
  });

  it('status shows each service ready with its pid and port', () => {
    const st = stack('status', '--profile', 'test', '--only', 'postgres,redis');
    expect(st.code, st.out).toBe(0);
    expect(st.out).toMatch(/^● postgres\s+ready\s+pid \d+\s+127\.0\.0\.1:56432$/m);
    expect(st.out).toMatch(/^● redis\s+ready\s+pid \d+\s+127\.0\.0\.1:57379$/m);
  });

  it('a second up is a no-op: nothing started, the same processes still serve', () => {
    const before = pids(stack('status', '--profile', 'test', '--only', 'postgres,redis').out);
    const again = stack('up', '--profile', 'test', '--only', 'postgres,redis');
    expect(again.code, again.out).toBe(0);
    expect(again.out).toMatch(/^✔ postgres\s+ready on 127\.0\.0\.1:56432 \(already running\)$/m);
    expect(again.out).toMatch(
      /^✔ redis\s+ready on 127\.0\.0\.1:57379 \(appendonly, noeviction\) \(already running\)$/m,
    );
    const after = pids(stack('status', '--profile', 'test', '--only', 'postgres,redis').out);
    expect(Object.keys(before).sort()).toEqual(['postgres', 'redis']);
    expect(after).toEqual(before);
  });
});
