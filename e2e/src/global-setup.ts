/**
 * Brings up the product for the browser tests on the test profile's ports: the API on 13000
 * (against the test stack's Postgres, Redis and Keycloak), and the portal and admin console built
 * for that API and served by `vite preview` on 15173 and 15174 (the only ports the realm's
 * redirect URIs accept). The services themselves come from `npm run stack -- up --profile test`.
 *
 * Stops everything it started in teardown, by PID (each child leads its own process group, so
 * `npm start`'s node goes too), also when setup or a test failed, and when vitest is interrupted.
 * Must never stop a process it did not start: a port already taken fails the run instead.
 * Child output goes to .data/test/logs/e2e-*.log.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, openSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import path from 'node:path';
import { devRealmClientSecret, loadStack, repoRoot } from '@palisade/testkit';
import { CHROMIUM } from './browser';

const root = repoRoot();
const logs = path.join(root, '.data', 'test', 'logs');
/** Test builds go here, not to apps/<app>/dist, so they never mix with a dev or release build. */
const uiBuilds = path.join(root, '.data', 'test', 'ui');
export const PORTS = { api: 13000, portal: 15173, admin: 15174 } as const;
/** The API's CA for this run (join tokens carry its fingerprint). */
const e2ePki = path.join(root, '.data', 'test', 'e2e-pki');

interface Child {
  name: string;
  proc: ChildProcess;
  exited: Promise<void>;
}
const children: Child[] = [];

const logFile = (name: string) => path.join(logs, `e2e-${name}.log`);

/**
 * Our environment without vitest's marks: vitest sets NODE_ENV=test, which would make `vite build`
 * bundle React's development build, and VITEST* variables change how some libraries behave.
 */
function childEnv(): NodeJS.ProcessEnv {
  return Object.fromEntries(
    Object.entries(process.env).filter(([k]) => k !== 'NODE_ENV' && !k.startsWith('VITEST')),
  );
}

function start(name: string, cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  mkdirSync(logs, { recursive: true });
  const out = openSync(logFile(name), 'w');
  const proc = spawn(cmd, args, {
    cwd,
    env: { ...childEnv(), ...env },
    stdio: ['ignore', out, out],
    detached: true, // its own process group: teardown reaches npm's and vite's children too
  });
  const exited = new Promise<void>((resolve) => {
    proc.once('exit', () => resolve());
    proc.once('error', () => resolve());
  });
  const child = { name, proc, exited };
  children.push(child);
  return child;
}

/** Runs a command to completion (a build); rejects naming the log when it fails. */
async function run(name: string, cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv) {
  const started = Date.now();
  const child = start(name, cmd, args, cwd, env);
  await child.exited;
  // A finished build leaves nothing behind; forget it, so teardown never signals a reused PID.
  children.splice(children.indexOf(child), 1);
  if (child.proc.exitCode !== 0)
    throw new Error(`${name} failed (exit ${child.proc.exitCode}); see ${logFile(name)}`);
  return Date.now() - started;
}

async function waitHttp(url: string, child: Child, timeoutMs: number): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (child.proc.exitCode !== null || child.proc.signalCode !== null)
      throw new Error(`${child.name} exited early; see ${logFile(child.name)}`);
    const ok = await fetch(url, { signal: AbortSignal.timeout(2000) }).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ok) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error(
    `${child.name} not ready at ${url} after ${timeoutMs} ms; see ${logFile(child.name)}`,
  );
}

/** Whether anything accepts connections on a loopback port (either address family). */
function portInUse(port: number): Promise<boolean> {
  const probe = (host: string) =>
    new Promise<boolean>((resolve) => {
      const s = connect({ host, port });
      s.once('connect', () => {
        s.destroy();
        resolve(true);
      });
      s.once('error', () => resolve(false));
    });
  return Promise.all([probe('127.0.0.1'), probe('::1')]).then(([a, b]) => a || b);
}

/**
 * The e2e tests need Chromium from Debian. Installed here when missing and we are root (serialised
 * with every other apt user of the checkout by the lock); otherwise the run stops saying how.
 */
function ensureChromium(): void {
  if (existsSync(CHROMIUM)) return;
  const hint = 'flock /tmp/palisade-apt.lock apt-get install -y chromium';
  if (process.getuid?.() !== 0) throw new Error(`${CHROMIUM} is missing; as root run: ${hint}`);
  mkdirSync(logs, { recursive: true });
  const out = openSync(logFile('apt'), 'a');
  const apt = (args: string[]) =>
    spawnSync('flock', ['/tmp/palisade-apt.lock', 'apt-get', ...args], {
      stdio: ['ignore', out, out],
      env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' },
    }).status;
  // An image with empty package lists needs an update first; try without, it is much faster.
  if (apt(['install', '-y', 'chromium']) !== 0) {
    apt(['update']);
    if (apt(['install', '-y', 'chromium']) !== 0 || !existsSync(CHROMIUM))
      throw new Error(`installing chromium failed; see ${logFile('apt')}`);
  }
}

/**
 * Signals each child's process GROUP, even when its leader has already exited: `npm start` may die
 * and leave its node child behind in the group.
 */
function signalAll(signal: NodeJS.Signals): void {
  for (const c of children) {
    if (c.proc.pid === undefined) continue;
    try {
      process.kill(-c.proc.pid, signal);
    } catch {
      // ESRCH: the group is already gone.
    }
  }
}

// vitest turns SIGINT/SIGTERM into process.exit(), which runs 'exit' handlers synchronously: the
// last chance to stop the children when teardown never gets to run.
const onExit = () => signalAll('SIGTERM');

export async function setup(): Promise<void> {
  process.once('exit', onExit);
  try {
    await bringUp();
  } catch (e) {
    await teardown();
    throw e;
  }
}

async function bringUp(): Promise<void> {
  const started = Date.now();
  const stack = loadStack('test');
  const busy = [];
  for (const [what, port] of Object.entries(PORTS))
    if (await portInUse(port)) busy.push(`${port} (${what})`);
  if (busy.length)
    throw new Error(
      `port ${busy.join(', ')} already in use: another e2e run, or something else, holds it. ` +
        'The realm accepts logins only on these ports, so the tests cannot move elsewhere.',
    );
  ensureChromium();
  rmSync(e2ePki, { recursive: true, force: true });

  const api = start('api', 'npm', ['start'], path.join(root, 'apps/api'), {
    PALISADE_API_PORT: String(PORTS.api),
    PALISADE_API_HOST: '127.0.0.1',
    DATABASE_URL: stack.postgres.appUrl,
    REDIS_URL: stack.redis.url,
    KEYCLOAK_ISSUER: stack.keycloak.issuer,
    CORS_ORIGINS: `http://localhost:${PORTS.portal},http://localhost:${PORTS.admin}`,
    LOG_LEVEL: 'info',
    // The admin console onboards tenants (a Keycloak group per tenant) and issues host join
    // tokens (a CA of its own, created in an empty PKI_DIR, fresh per run); the gateway that
    // enrolment needs takes any free port, so it never collides with another API on this machine.
    KEYCLOAK_ADMIN_CLIENT_SECRET: devRealmClientSecret('palisade-identity-admin'),
    PKI_DIR: e2ePki,
    AGENT_GATEWAY_PORT: '0',
  });

  const uiEnv = {
    VITE_API_URL: `http://localhost:${PORTS.api}`,
    VITE_KEYCLOAK_URL: stack.keycloak.url,
    VITE_KEYCLOAK_REALM: stack.keycloak.realm,
  };
  const vite = path.join(root, 'node_modules/.bin/vite');
  const apps = [
    { name: 'portal', port: PORTS.portal },
    { name: 'admin', port: PORTS.admin },
  ];
  const timings: string[] = [];
  // One build after the other, while the API boots: two builds at once only fight over 2 cores.
  for (const app of apps) {
    const outDir = path.join(uiBuilds, app.name);
    rmSync(outDir, { recursive: true, force: true });
    const ms = await run(
      `${app.name}-build`,
      vite,
      ['build', '--outDir', outDir, '--emptyOutDir'],
      path.join(root, 'apps', app.name),
      { ...uiEnv, NODE_ENV: 'production' },
    );
    timings.push(`${app.name} build ${ms} ms`);
  }
  const previews = apps.map((app) =>
    start(
      app.name,
      vite,
      [
        'preview',
        '--outDir',
        path.join(uiBuilds, app.name),
        '--port',
        String(app.port),
        '--strictPort',
      ],
      path.join(root, 'apps', app.name),
      uiEnv,
    ),
  );
  await Promise.all([
    waitHttp(`http://127.0.0.1:${PORTS.api}/readyz`, api, 120_000),
    ...previews.map((p, i) => waitHttp(`http://localhost:${apps[i]!.port}/`, p, 60_000)),
  ]);
  timings.push(`everything up in ${Date.now() - started} ms`);
  console.log(`e2e: ${timings.join(', ')}`);
}

export async function teardown(): Promise<void> {
  signalAll('SIGTERM');
  const allExited = Promise.all(children.map((c) => c.exited));
  const timedOut = await Promise.race([
    allExited.then(() => false),
    new Promise<boolean>((r) => setTimeout(() => r(true), 10_000).unref()),
  ]);
  if (timedOut) {
    signalAll('SIGKILL');
    await allExited;
  }
  children.length = 0;
  process.off('exit', onExit);
}
