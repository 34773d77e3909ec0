/**
 * The stack tool against the real services of the test profile. `npm test` has already brought
 * the profile up, so this proves `up` is idempotent and the services answer; it never runs
 * `down`, which would pull the services from under the other suites.
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { Client } from 'pg';
import { describe, expect, it } from 'vitest';
import { loadStack } from '@palisade/testkit';
import { redisPing } from './services/redis';

const bin = path.resolve(__dirname, '../bin/stack.mjs');
const stack = (...args: string[]) =>
  execFileSync(process.execPath, [bin, ...args], {
    encoding: 'utf8',
    env: { ...process.env, CI: 'true' },
  });

describe('stack tool (test profile, real services)', () => {
  it('a second `up` is a no-op and reports every service ready', () => {
    const before = stack('status', '--profile', 'test');
    const out = stack('up', '--profile', 'test', '--only', 'postgres,redis');
    expect(out).toMatch(/✔ postgres\s+ready on 127\.0\.0\.1:56432/);
    expect(out).toMatch(/✔ redis\s+ready on 127\.0\.0\.1:57379/);
    // Same PIDs before and after: nothing was restarted.
    const pids = (s: string) => [...s.matchAll(/pid (\d+)/g)].map((m) => m[1]);
    expect(pids(stack('status', '--profile', 'test'))).toEqual(pids(before));
  });

  it('the database answers as the runtime role, which is not a superuser and cannot bypass RLS', async () => {
    const info = loadStack('test');
    const client = new Client({ connectionString: info.postgres.appUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ rolsuper: boolean; rolbypassrls: boolean }>(
        'SELECT rolsuper, rolbypassrls FROM pg_roles WHERE rolname = current_user',
      );
      expect(rows[0]).toEqual({ rolsuper: false, rolbypassrls: false });
    } finally {
      await client.end();
    }
  });

  it('Redis answers PING and is configured for BullMQ', async () => {
    const info = loadStack('test');
    const port = Number(new URL(info.redis.url).port);
    expect(await redisPing(port)).toBe(true);
  });

  it('status lists every service', () => {
    const out = stack('status', '--profile', 'test');
    for (const s of ['postgres', 'redis', 'keycloak', 'libvirt']) expect(out).toContain(s);
  });
});
