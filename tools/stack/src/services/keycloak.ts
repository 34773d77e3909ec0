/**
 * Keycloak from the Maven Central distribution (org.keycloak:keycloak-quarkus-dist), downloaded
 * once into the cache outside the repo, unpacked per profile (Keycloak writes its build and data
 * into its home), started with `start-dev --import-realm` on the profile's Postgres.
 */
import { createHash } from 'node:crypto';
import {
  copyFileSync,
  existsSync,
  mkdirSync,
  readFileSync,
  readdirSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { CREDENTIALS, KEYCLOAK_VERSION, REALM } from '../profiles';
import { livePid, mustExec, spawnDetached, stopPid, waitFor, writePid, isAlive } from '../proc';
import type { Service, ServiceContext } from './types';

const ARTIFACT = `org.keycloak:keycloak-quarkus-dist:${KEYCLOAK_VERSION}:tar.gz`;

const pidFile = (ctx: ServiceContext) => path.join(ctx.paths.run, 'keycloak.pid');
const home = (ctx: ServiceContext) =>
  path.join(ctx.paths.data, 'keycloak', `keycloak-${KEYCLOAK_VERSION}`);

export function keycloakUrls(ctx: ServiceContext) {
  const url = `http://localhost:${ctx.ports.keycloak}`;
  return { url, issuer: `${url}/realms/${REALM}` };
}

/** The distribution tarball, fetched through Maven into the cache when absent. */
export async function keycloakTarball(cache: string): Promise<string> {
  const dir = path.join(cache, 'keycloak');
  const file = path.join(dir, `keycloak-quarkus-dist-${KEYCLOAK_VERSION}.tar.gz`);
  if (existsSync(file)) return file;
  mkdirSync(dir, { recursive: true });
  await mustExec(
    'mvn',
    ['-B', '-q', 'dependency:copy', `-Dartifact=${ARTIFACT}`, `-DoutputDirectory=${dir}`],
    { timeoutMs: 600_000 },
  );
  if (!existsSync(file)) throw new Error(`mvn did not produce ${file}`);
  return file;
}

async function ensureHome(ctx: ServiceContext): Promise<string> {
  const h = home(ctx);
  const done = path.join(h, '.palisade-unpacked');
  if (!existsSync(done)) {
    const tarball = await keycloakTarball(ctx.paths.cache);
    rmSync(path.dirname(h), { recursive: true, force: true });
    mkdirSync(path.dirname(h), { recursive: true });
    await mustExec('tar', ['-xzf', tarball, '-C', path.dirname(h)]);
    writeFileSync(done, `${KEYCLOAK_VERSION}\n`);
  }
  // Realm files are copied on every start; an existing realm is not re-imported (reset for that).
  const importDir = path.join(h, 'data', 'import');
  mkdirSync(importDir, { recursive: true });
  const realmDir = path.join(ctx.paths.root, 'infra', 'keycloak');
  for (const f of existsSync(realmDir)
    ? readdirSync(realmDir).filter((n) => n.endsWith('-realm.json'))
    : []) {
    copyFileSync(path.join(realmDir, f), path.join(importDir, f));
  }
  return h;
}

async function realmReady(ctx: ServiceContext): Promise<boolean> {
  const res = await fetch(`${keycloakUrls(ctx).issuer}/.well-known/openid-configuration`, {
    signal: AbortSignal.timeout(2000),
  });
  return res.ok;
}

async function adminToken(ctx: ServiceContext): Promise<string> {
  const { keycloakAdmin } = CREDENTIALS;
  const res = await fetch(`${keycloakUrls(ctx).url}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: 'admin-cli',
      username: keycloakAdmin.user,
      password: keycloakAdmin.password,
    }),
  });
  const body = (await res.json()) as { access_token?: string; error_description?: string };
  if (!body.access_token)
    throw new Error(`keycloak admin login failed: ${body.error_description ?? res.status}`);
  return body.access_token;
}

/**
 * `--import-realm` never touches a realm that exists, so an edited realm file would silently not
 * apply. The stack remembers the hash of the file it last applied and, when the file changed,
 * deletes and re-creates the realm through the admin API (about 2 s). Users created at runtime in
 * that profile's realm are lost: this is development data.
 */
async function syncRealm(ctx: ServiceContext): Promise<string | null> {
  const file = path.join(ctx.paths.root, 'infra', 'keycloak', `${REALM}-realm.json`);
  if (!existsSync(file)) return null;
  const content = readFileSync(file);
  const hash = createHash('sha256').update(content).digest('hex');
  const stamp = path.join(ctx.paths.data, 'keycloak', 'realm.sha256');
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) return null;
  const token = await adminToken(ctx);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const admin = `${keycloakUrls(ctx).url}/admin/realms`;
  const del = await fetch(`${admin}/${REALM}`, { method: 'DELETE', headers });
  if (!del.ok && del.status !== 404)
    throw new Error(`deleting realm ${REALM} failed: HTTP ${del.status}`);
  const post = await fetch(admin, { method: 'POST', headers, body: content });
  if (!post.ok)
    throw new Error(`importing realm ${REALM} failed: HTTP ${post.status} ${await post.text()}`);
  writeFileSync(stamp, `${hash}\n`);
  return `realm ${REALM} re-imported from infra/keycloak`;
}

export const keycloak: Service = {
  name: 'keycloak',
  after: ['postgres'],
  logFile: (ctx) => path.join(ctx.paths.logs, 'keycloak.log'),

  async status(ctx) {
    const pid = livePid(pidFile(ctx));
    if (pid === null) return { running: false, ours: false, detail: 'stopped' };
    const ready = await realmReady(ctx).catch(() => false);
    return { running: ready, ours: true, pid, detail: ready ? keycloakUrls(ctx).url : 'starting' };
  },

  async up(ctx) {
    let pid = livePid(pidFile(ctx));
    if (pid === null) {
      const h = await ensureHome(ctx);
      const { keycloakDb, keycloakAdmin } = CREDENTIALS;
      pid = spawnDetached(
        path.join(h, 'bin', 'kc.sh'),
        [
          'start-dev',
          '--import-realm',
          `--http-port=${ctx.ports.keycloak}`,
          `--http-management-port=${ctx.ports.keycloakManagement}`,
          '--http-host=127.0.0.1',
          // A fixed hostname makes the issuer the same whoever asks (browser, API, tests).
          `--hostname=http://localhost:${ctx.ports.keycloak}`,
          '--health-enabled=true',
          '--db=postgres',
          `--db-url=jdbc:postgresql://127.0.0.1:${ctx.ports.postgres}/keycloak`,
          `--db-username=${keycloakDb.user}`,
          `--db-password=${keycloakDb.password}`,
        ],
        {
          logFile: this.logFile(ctx),
          env: {
            ...process.env,
            KC_BOOTSTRAP_ADMIN_USERNAME: keycloakAdmin.user,
            KC_BOOTSTRAP_ADMIN_PASSWORD: keycloakAdmin.password,
            // Keycloak would otherwise size its heap from the machine's 24 GiB.
            JAVA_OPTS_KC_HEAP: '-Xms128m -Xmx768m',
          },
        },
      );
      writePid(pidFile(ctx), pid);
    }
    const started = pid;
    await waitFor(
      'keycloak',
      () => realmReady(ctx),
      300_000,
      () => isAlive(started),
    );
    const synced = await syncRealm(ctx);
    return `ready on ${keycloakUrls(ctx).url} (realm ${REALM}${synced ? `; ${synced}` : ''})`;
  },

  async down(ctx) {
    const pid = livePid(pidFile(ctx));
    // kc.sh starts java in the background and may re-exec it: stop the whole process group.
    if (pid !== null) await stopPid(pid, { group: true, graceMs: 20_000 });
    rmSync(pidFile(ctx), { force: true });
  },
};
