/**
 * Brings up the product for the browser tests on the test profile's ports: the API on 13000
 * (against the test stack's Postgres, Redis and Keycloak), the portal and admin console built
 * for that API and served by `vite preview` on 15173 and 15174. Everything it starts it stops in
 * teardown, by process group, also when a test failed. Output goes to .data/test/logs/.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, openSync } from 'node:fs';
import path from 'node:path';
import { loadStack, repoRoot } from '@palisade/testkit';

const root = repoRoot();
const logs = path.join(root, '.data', 'test', 'logs');
export const PORTS = { api: 13000, portal: 15173, admin: 15174 } as const;

const children: ChildProcess[] = [];

function start(
  name: string,
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): ChildProcess {
  mkdirSync(logs, { recursive: true });
  const out = openSync(path.join(logs, `e2e-${name}.log`), 'w');
  const child = spawn(cmd, args, {
    cwd,
    env: { ...process.env, ...env },
    stdio: ['ignore', out, out],
    detached: true,
  });
  children.push(child);
  return child;
}

function run(
  name: string,
  cmd: string,
  args: string[],
  cwd: string,
  env: Record<string, string>,
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = start(name, cmd, args, cwd, env);
    child.on('exit', (code) =>
      code === 0
        ? resolve()
        : reject(new Error(`${name} failed (${code}); see ${logs}/e2e-${name}.log`)),
    );
  });
}

async function waitHttp(
  url: string,
  timeoutMs: number,
  child: ChildProcess,
  name: string,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.exitCode !== null)
      throw new Error(`${name} exited with ${child.exitCode}; see ${logs}/e2e-${name}.log`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.ok,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(`${name} not ready at ${url} after ${timeoutMs} ms; see ${logs}/e2e-${name}.log`);
}

export async function setup(): Promise<void> {
  const stack = loadStack('test');
  const uiEnv = {
    VITE_API_URL: `http://localhost:${PORTS.api}`,
    VITE_KEYCLOAK_URL: stack.keycloak.url,
    VITE_KEYCLOAK_REALM: stack.keycloak.realm,
  };
  const api = start('api', 'npm', ['start'], path.join(root, 'apps/api'), {
    PALISADE_API_PORT: String(PORTS.api),
    DATABASE_URL: stack.postgres.appUrl,
    REDIS_URL: stack.redis.url,
    KEYCLOAK_ISSUER: stack.keycloak.issuer,
    CORS_ORIGINS: `http://localhost:${PORTS.portal},http://localhost:${PORTS.admin}`,
    LOG_LEVEL: 'info',
  });
  const vite = path.join(root, 'node_modules/.bin/vite');
  // Build the two UIs one after the other: two builds at once only fight over the 2 cores.
  await run('portal-build', vite, ['build'], path.join(root, 'apps/portal'), uiEnv);
  await run('admin-build', vite, ['build'], path.join(root, 'apps/admin'), uiEnv);
  const portal = start(
    'portal',
    vite,
    ['preview', '--port', String(PORTS.portal), '--strictPort'],
    path.join(root, 'apps/portal'),
    uiEnv,
  );
  const admin = start(
    'admin',
    vite,
    ['preview', '--port', String(PORTS.admin), '--strictPort'],
    path.join(root, 'apps/admin'),
    uiEnv,
  );
  await Promise.all([
    waitHttp(`http://localhost:${PORTS.api}/readyz`, 120_000, api, 'api'),
    waitHttp(`http://localhost:${PORTS.portal}/`, 60_000, portal, 'portal'),
    waitHttp(`http://localhost:${PORTS.admin}/`, 60_000, admin, 'admin'),
  ]);
}

export async function teardown(): Promise<void> {
  for (const c of children) {
    if (c.exitCode === null && c.pid) {
      try {
        process.kill(-c.pid, 'SIGTERM');
      } catch {
        /* already gone */
      }
    }
  }
  await new Promise((r) => setTimeout(r, 500));
  for (const c of children) {
    if (c.exitCode === null && c.pid) {
      try {
        process.kill(-c.pid, 'SIGKILL');
      } catch {
        /* already gone */
      }
    }
  }
}
