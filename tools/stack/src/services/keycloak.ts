/**
 * Keycloak from the Maven Central distribution (org.keycloak:keycloak-quarkus-dist), run with
 * `kc.sh start-dev --import-realm` on the profile's Postgres, with the realm files of
 * infra/keycloak.
 *
 * Keycloak writes into its own home: the Quarkus build ("augmentation", ~15 s, whenever build-time
 * options differ from the last build) goes to lib/quarkus, and runtime state (transaction logs,
 * tmp, the import folder) to data/. Two running servers must not share a home, so:
 *  - the tarball is fetched once and unpacked once into the cache outside the repository
 *    (${PALISADE_CACHE:-~/.cache/palisade}/keycloak/<version>), and augmented there once for
 *    BUILD_OPTIONS;
 *  - each profile runs a copy of that (`cp -a`, ~0.1 s; 170 MB) in .data/<profile>/keycloak/home,
 *    whose build already matches, so no profile ever waits for augmentation, and the server
 *    starts with one JVM instead of two.
 * The realm: infra/keycloak/*-realm.json are imported at startup into an empty database; a later
 * change to palisade-realm.json is applied by re-creating that realm through the admin API.
 * It never edits the cached copy once installed, and `down` stops only the process group it
 * started.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { CREDENTIALS, KEYCLOAK_VERSION, REALM } from '../profiles';
import {
  assertPortFree,
  groupAlive,
  liveGroup,
  mustExec,
  sleep,
  spawnDetached,
  stopPid,
  waitFor,
  writePid,
} from '../proc';
import { psql } from './postgres';
import type { Service, ServiceContext } from './types';

const ARTIFACT = `org.keycloak:keycloak-quarkus-dist:${KEYCLOAK_VERSION}:tar.gz`;
const TARBALL = `keycloak-quarkus-dist-${KEYCLOAK_VERSION}.tar.gz`;
/** Build-time options: the cached build and every start must agree, or Keycloak rebuilds. */
export const BUILD_OPTIONS = ['--db=postgres', '--health-enabled=true'] as const;
const STAMP = '.palisade-build';
export const buildStamp = () => `${KEYCLOAK_VERSION} start-dev ${BUILD_OPTIONS.join(' ')}\n`;

const pidFile = (ctx: ServiceContext) => path.join(ctx.paths.run, 'keycloak.pid');
const cacheDir = (cache: string) => path.join(cache, 'keycloak');
const distDir = (cache: string) => path.join(cacheDir(cache), KEYCLOAK_VERSION);
const homeDir = (ctx: ServiceContext) => path.join(ctx.paths.data, 'keycloak', 'home');
const stampOf = (dir: string) => {
  const f = path.join(dir, STAMP);
  return existsSync(f) ? readFileSync(f, 'utf8') : null;
};

/** Realm names in the realm files of `dir` (`*-realm.json`), in file-name order. */
export function realmFiles(dir: string): { file: string; realm: string }[] {
  if (!existsSync(dir)) return [];
  return readdirSync(dir)
    .filter((n) => n.endsWith('-realm.json'))
    .sort()
    .map((n) => {
      const file = path.join(dir, n);
      let realm: unknown;
      try {
        realm = (JSON.parse(readFileSync(file, 'utf8')) as { realm?: unknown }).realm;
      } catch {
        // Being edited right now, or broken: Keycloak will say so in its log; name it by its file.
      }
      return { file, realm: typeof realm === 'string' ? realm : n.slice(0, -'-realm.json'.length) };
    });
}

const realmDir = (ctx: ServiceContext) => path.join(ctx.paths.root, 'infra', 'keycloak');

/**
 * The realm clients should use: the product's realm once its file exists, else `master` (the
 * only realm a bare Keycloak has).
 */
export function mainRealm(realms: string[]): string {
  return realms.includes(REALM) ? REALM : (realms[0] ?? 'master');
}

export function keycloakUrls(ctx: Pick<ServiceContext, 'ports'>, realm: string) {
  const url = `http://localhost:${ctx.ports.keycloak}`;
  return {
    url,
    issuer: `${url}/realms/${realm}`,
    managementUrl: `http://localhost:${ctx.ports.keycloakManagement}`,
  };
}

/** The JDK 17 Debian installs (Keycloak 26 supports 17 and 21; other JDKs may sit beside it). */
function java17Home(): string | undefined {
  const base = '/usr/lib/jvm';
  if (!existsSync(base)) return undefined;
  const name = readdirSync(base)
    .sort()
    .find((n) => /^java-17-openjdk/.test(n) && existsSync(path.join(base, n, 'bin', 'java')));
  return name ? path.join(base, name) : undefined;
}

function javaEnv(): NodeJS.ProcessEnv {
  const home = java17Home();
  return home ? { ...process.env, JAVA_HOME: home } : { ...process.env };
}

/** The distribution tarball, fetched with Maven into the cache when absent. */
export async function keycloakTarball(cache: string, log: (l: string) => void): Promise<string> {
  const dir = cacheDir(cache);
  const file = path.join(dir, TARBALL);
  if (existsSync(file)) return file;
  log(`keycloak: fetching ${ARTIFACT} from Maven Central (one-time)…`);
  // Into a folder of our own first, so a concurrent or interrupted download never leaves a
  // partial tarball where the next run would trust it.
  const tmp = path.join(dir, `.download-${process.pid}`);
  mkdirSync(tmp, { recursive: true });
  try {
    await mustExec(
      'mvn',
      ['-B', '-q', 'dependency:copy', `-Dartifact=${ARTIFACT}`, `-DoutputDirectory=${tmp}`],
      { timeoutMs: 900_000, env: javaEnv() },
    );
    if (!existsSync(path.join(tmp, TARBALL))) throw new Error(`mvn did not produce ${TARBALL}`);
    renameSync(path.join(tmp, TARBALL), file);
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return file;
}

/**
 * Runs kc.sh's own re-augmentation for BUILD_OPTIONS in `home`, without starting a server:
 * kc.sh exits java with status 10 after a build and then re-executes `$JAVA -Dkc.config.built=true
 * ...` to start the server (see the end of bin/kc.sh). Our `$JAVA` stops at that second call.
 */
async function augment(home: string): Promise<void> {
  const javaHome = java17Home();
  const wrapper = path.join(home, '.palisade-java');
  writeFileSync(
    wrapper,
    [
      '#!/bin/sh',
      'case "$1" in -Dkc.config.built=true) exit 0 ;; esac',
      `exec ${javaHome ? `'${path.join(javaHome, 'bin', 'java')}'` : 'java'} "$@"`,
      '',
    ].join('\n'),
  );
  chmodSync(wrapper, 0o755);
  const log = path.join(home, '.palisade-build.log');
  // Should the build ever be skipped, the server this would start finds no database and fails.
  const pid = spawnDetached(
    path.join(home, 'bin', 'kc.sh'),
    ['start-dev', ...BUILD_OPTIONS, '--db-url=jdbc:postgresql://127.0.0.1:1/none'],
    { env: { ...javaEnv(), JAVA: wrapper }, logFile: log, cwd: home },
  );
  const deadline = Date.now() + 300_000;
  while (groupAlive(pid) && Date.now() < deadline) await sleep(200);
  const timedOut = groupAlive(pid);
  if (timedOut) await stopPid(pid, { group: true });
  rmSync(wrapper, { force: true });
  const out = readFileSync(log, 'utf8');
  if (timedOut || !/augmentation completed/i.test(out))
    throw new Error(`keycloak build failed in ${home}:\n${out.trim().slice(-1500)}`);
  rmSync(path.join(home, 'data'), { recursive: true, force: true });
}

/** The unpacked, augmented distribution in the cache; prepared once per version and options. */
export async function keycloakDistribution(
  cache: string,
  log: (l: string) => void,
): Promise<string> {
  const dist = distDir(cache);
  if (stampOf(dist) === buildStamp()) return dist;
  const tarball = await keycloakTarball(cache, log);
  log('keycloak: unpacking and building the distribution in the cache (one-time, ~20 s)…');
  const tmp = path.join(cacheDir(cache), `.${KEYCLOAK_VERSION}-${process.pid}`);
  rmSync(tmp, { recursive: true, force: true });
  mkdirSync(tmp, { recursive: true });
  try {
    await mustExec('tar', ['-xzf', tarball, '-C', tmp, '--strip-components=1', '--no-same-owner']);
    await augment(tmp);
    writeFileSync(path.join(tmp, STAMP), buildStamp());
    // Swap it in whole: readers see the old complete copy or the new one, never a half.
    if (existsSync(dist)) {
      const old = `${tmp}.old`;
      renameSync(dist, old);
      rmSync(old, { recursive: true, force: true });
    }
    renameSync(tmp, dist);
  } catch (e) {
    // Another checkout or profile may have installed the same build meanwhile: use theirs.
    if (stampOf(dist) !== buildStamp()) throw e;
  } finally {
    rmSync(tmp, { recursive: true, force: true });
  }
  return dist;
}

/** The profile's own Keycloak home: a copy of the cached distribution, refreshed when it changes. */
async function ensureHome(ctx: ServiceContext): Promise<string> {
  const home = homeDir(ctx);
  if (stampOf(home) !== buildStamp()) {
    const dist = await keycloakDistribution(ctx.paths.cache, ctx.log);
    // Keycloak keeps its data in Postgres; only build output and scratch live in the home, so a
    // fresh copy loses nothing. (keycloak-<version> is where earlier versions of this tool
    // unpacked a home per profile.)
    const parent = path.dirname(home);
    for (const old of [home, `${home}.tmp`, path.join(parent, `keycloak-${KEYCLOAK_VERSION}`)])
      rmSync(old, { recursive: true, force: true });
    mkdirSync(parent, { recursive: true });
    await mustExec('cp', ['-a', '--reflink=auto', dist, `${home}.tmp`]);
    renameSync(`${home}.tmp`, home);
  }
  // The realm files as they are now, for a database that has no realm yet. Keycloak never
  // imports over an existing realm (IGNORE_EXISTING); syncRealm() applies later changes.
  const importDir = path.join(home, 'data', 'import');
  rmSync(importDir, { recursive: true, force: true });
  mkdirSync(importDir, { recursive: true });
  for (const { file } of realmFiles(realmDir(ctx)))
    copyFileSync(file, path.join(importDir, path.basename(file)));
  return home;
}

async function discoveryAnswers(ctx: ServiceContext, realm: string): Promise<boolean> {
  const res = await fetch(
    `http://127.0.0.1:${ctx.ports.keycloak}/realms/${realm}/.well-known/openid-configuration`,
    { signal: AbortSignal.timeout(2000) },
  );
  await res.body?.cancel();
  return res.ok;
}

/** Ready once every imported realm (or master, without realm files) serves its discovery document. */
async function ready(ctx: ServiceContext): Promise<boolean> {
  const realms = realmFiles(realmDir(ctx)).map((r) => r.realm);
  for (const realm of realms.length ? realms : ['master'])
    if (!(await discoveryAnswers(ctx, realm).catch(() => false))) return false;
  return true;
}

const productRealmFile = (ctx: ServiceContext) => path.join(realmDir(ctx), `${REALM}-realm.json`);
/** The hash of the realm file last applied to this profile's Keycloak. */
const realmStamp = (ctx: ServiceContext) => path.join(ctx.paths.data, 'keycloak', 'realm.sha256');
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

/** Whether Keycloak's database already holds `realm` (false too before Keycloak made its tables). */
async function realmInDatabase(ctx: ServiceContext, realm: string): Promise<boolean> {
  const out = await psql(
    ctx,
    'keycloak',
    [
      "SELECT to_regclass('public.realm') IS NOT NULL AS has_table \\gset",
      '\\if :has_table',
      `SELECT count(*) FROM realm WHERE name = '${realm.replace(/'/g, "''")}';`,
      '\\else',
      'SELECT 0;',
      '\\endif',
      '',
    ].join('\n'),
  );
  return out.trim() !== '0';
}

async function adminToken(ctx: ServiceContext): Promise<string> {
  const { keycloakAdmin } = CREDENTIALS;
  const res = await fetch(
    `http://127.0.0.1:${ctx.ports.keycloak}/realms/master/protocol/openid-connect/token`,
    {
      method: 'POST',
      body: new URLSearchParams({
        grant_type: 'password',
        client_id: 'admin-cli',
        username: keycloakAdmin.user,
        password: keycloakAdmin.password,
      }),
      signal: AbortSignal.timeout(10_000),
    },
  );
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
  const file = productRealmFile(ctx);
  if (!existsSync(file)) return null;
  const content = readFileSync(file);
  const hash = createHash('sha256').update(content).digest('hex');
  const stamp = realmStamp(ctx);
  if (existsSync(stamp) && readFileSync(stamp, 'utf8').trim() === hash) return null;
  const token = await adminToken(ctx);
  const headers = { authorization: `Bearer ${token}`, 'content-type': 'application/json' };
  const admin = `http://127.0.0.1:${ctx.ports.keycloak}/admin/realms`;
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
  packages: ['openjdk-17-jre-headless', 'maven'],
  optional: false,
  logFile: (ctx) => path.join(ctx.paths.logs, 'keycloak.log'),

  async status(ctx) {
    const endpoint = `http://localhost:${ctx.ports.keycloak}`;
    const pid = liveGroup(pidFile(ctx));
    if (pid === null) return { running: false, ready: false, ours: false, endpoint };
    return { running: true, ready: await ready(ctx), ours: true, pid, endpoint };
  },

  async up(ctx) {
    let pid = liveGroup(pidFile(ctx));
    const started = pid === null;
    /** The realm file this start imports into an empty database, if it does. */
    let importing: string | null = null;
    if (pid === null) {
      await assertPortFree(ctx.ports.keycloak, 'keycloak');
      await assertPortFree(ctx.ports.keycloakManagement, 'keycloak management');
      const home = await ensureHome(ctx);
      const imported = path.join(home, 'data', 'import', `${REALM}-realm.json`);
      importing = existsSync(imported) && !(await realmInDatabase(ctx, REALM)) ? imported : null;
      const { keycloakDb, keycloakAdmin } = CREDENTIALS;
      pid = spawnDetached(
        path.join(home, 'bin', 'kc.sh'),
        [
          // start-dev otherwise runs java once just to find the build current (it is: ensureHome
          // checked the stamp), exits 10 and kc.sh runs java again with this property set.
          '-Dkc.config.built=true',
          'start-dev',
          '--import-realm',
          ...BUILD_OPTIONS,
          `--http-port=${ctx.ports.keycloak}`,
          `--http-management-port=${ctx.ports.keycloakManagement}`,
          '--http-host=127.0.0.1',
          // A fixed hostname: the issuer is the same whoever asks (browser, API, tests).
          `--hostname=http://localhost:${ctx.ports.keycloak}`,
          `--db-url=jdbc:postgresql://127.0.0.1:${ctx.ports.postgres}/keycloak`,
        ],
        {
          logFile: this.logFile(ctx),
          cwd: home,
          env: {
            ...javaEnv(),
            // Through the environment rather than argv, which every user can read in ps.
            KC_DB_USERNAME: keycloakDb.user,
            KC_DB_PASSWORD: keycloakDb.password,
            KC_BOOTSTRAP_ADMIN_USERNAME: keycloakAdmin.user,
            KC_BOOTSTRAP_ADMIN_PASSWORD: keycloakAdmin.password,
            // Otherwise the JVM sizes its heap from the machine's memory. (C1-only JIT,
            // -XX:TieredStopAtLevel=1, starts ~2 s sooner but halves login throughput: measured
            // 150 vs 70 ms per password login, and the suites log in often. Not worth it.)
            JAVA_OPTS_KC_HEAP: '-Xms128m -Xmx768m',
          },
        },
      );
      writePid(pidFile(ctx), pid);
    }
    const leader = pid;
    await waitFor(
      'keycloak',
      () => ready(ctx),
      300_000,
      () => groupAlive(leader),
    );
    // The startup import has just applied this exact file: recording it spares a re-create.
    if (importing) writeFileSync(realmStamp(ctx), `${sha256(importing)}\n`);
    const synced = await syncRealm(ctx);
    const realm = mainRealm(realmFiles(realmDir(ctx)).map((r) => r.realm));
    return {
      started,
      detail: `ready on ${keycloakUrls(ctx, realm).url} (realm ${realm}${synced ? `; ${synced}` : ''})`,
    };
  },

  async down(ctx) {
    const pid = liveGroup(pidFile(ctx));
    if (pid === null) return null;
    // kc.sh runs java as its child, or exec's into it after a rebuild: stop the whole group.
    await stopPid(pid, { group: true, graceMs: 20_000 });
    rmSync(pidFile(ctx), { force: true });
    return `stopped (pid ${pid})`;
  },
};
