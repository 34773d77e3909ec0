/**
 * A PostgreSQL cluster of the stack's own (initdb under .data/<profile>/postgres), never the
 * system cluster, listening on 127.0.0.1 and a socket inside the data folder. Postgres refuses to
 * run as root, so initdb, the server and psql run as the `postgres` system user that the Debian
 * package creates. Its pidfile is Postgres' own postmaster.pid; `down` stops it with pg_ctl.
 */
import {
  chownSync,
  existsSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { CREDENTIALS, DATABASE } from '../profiles';
import { assertPortFree, exec, livePid, mustExec, stopPid } from '../proc';
import type { Service, ServiceContext } from './types';

/** The newest server version the postgresql package installed (/usr/lib/postgresql/<ver>/bin). */
export function newestVersion(versions: string[]): string | undefined {
  return versions.filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a))[0];
}

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin', 'initdb')))
    : [];
  const v = newestVersion(versions);
  if (!v) throw new Error(`no PostgreSQL server under ${base} (package postgresql)`);
  return path.join(base, v, 'bin');
}

const dirs = (ctx: ServiceContext) => {
  const root = path.join(ctx.paths.data, 'postgres');
  return {
    root,
    data: path.join(root, 'data'),
    socket: path.join(root, 'socket'),
    pidFile: path.join(root, 'data', 'postmaster.pid'),
  };
};

const asPostgres = (cmd: string, args: string[], input?: string) =>
  mustExec('runuser', ['-u', 'postgres', '--', cmd, ...args], { cwd: '/', input });

/** A SQL string literal. */
const lit = (s: string) => `'${s.replace(/'/g, "''")}'`;

/**
 * Roles and databases, applied on every `up` (a psql script, so one connection): creates what is
 * missing and puts the passwords and attributes back to what profiles.ts says.
 */
export function bootstrapSql(): string {
  const { postgresSuperuser, owner, app, keycloakDb } = CREDENTIALS;
  const limited = 'NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION';
  const role = (user: string, password: string, attrs: string) => [
    `SELECT 'CREATE ROLE ${user}' WHERE NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${lit(user)}) \\gexec`,
    `ALTER ROLE ${user} LOGIN PASSWORD ${lit(password)} ${attrs};`,
  ];
  const database = (name: string, owner: string) =>
    `SELECT 'CREATE DATABASE ${name} OWNER ${owner}' WHERE NOT EXISTS (SELECT FROM pg_database WHERE datname = ${lit(name)}) \\gexec`;
  return [
    `ALTER ROLE ${postgresSuperuser.user} PASSWORD ${lit(postgresSuperuser.password)};`,
    ...role(owner.user, owner.password, limited),
    // The runtime role owns nothing and cannot bypass row-level security; the migrations grant it
    // exactly what it may touch.
    ...role(app.user, app.password, `${limited} NOBYPASSRLS`),
    ...role(keycloakDb.user, keycloakDb.password, limited),
    database(DATABASE, owner.user),
    database('keycloak', keycloakDb.user),
    // Keycloak's tables are Keycloak's alone.
    'REVOKE CONNECT, TEMPORARY ON DATABASE keycloak FROM PUBLIC;',
    `GRANT CONNECT ON DATABASE ${DATABASE} TO ${app.user};`,
    `\\connect ${DATABASE}`,
    // Only the owner creates objects (Postgres 15 made this the default; older clusters did not).
    'REVOKE CREATE ON SCHEMA public FROM PUBLIC;',
    '',
  ].join('\n');
}

/** Runs a psql script as the cluster's superuser over the socket; resolves with its output. */
export function psql(ctx: ServiceContext, db: string, script: string): Promise<string> {
  const d = dirs(ctx);
  return asPostgres(
    path.join(binDir(), 'psql'),
    [
      '-h',
      d.socket,
      '-p',
      String(ctx.ports.postgres),
      '-d',
      db,
      '-qAt',
      '-v',
      'ON_ERROR_STOP=1',
      '-f',
      '-',
    ],
    script,
  );
}

let ids: [number, number] | undefined;
function postgresIds(): [number, number] {
  if (ids) return ids;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((l) => l.startsWith('postgres:'));
  if (!line) throw new Error('no postgres system user (is the postgresql package installed?)');
  const f = line.split(':');
  ids = [Number(f[2]), Number(f[3])];
  return ids;
}

async function initCluster(ctx: ServiceContext, bin: string): Promise<void> {
  const d = dirs(ctx);
  mkdirSync(d.data, { recursive: true });
  mkdirSync(d.socket, { recursive: true });
  const pwfile = path.join(d.root, 'pwfile');
  writeFileSync(pwfile, `${CREDENTIALS.postgresSuperuser.password}\n`, { mode: 0o600 });
  for (const p of [d.root, d.data, d.socket, pwfile]) chownSync(p, ...postgresIds());
  // The data folder sits in the checkout; a checkout under a 0700 home is out of the postgres
  // user's reach. Say so instead of letting initdb fail obscurely.
  const reach = await exec('runuser', ['-u', 'postgres', '--', 'test', '-w', d.data], { cwd: '/' });
  if (reach.code !== 0)
    throw new Error(
      `the postgres system user cannot write ${d.data}; every parent folder must be searchable (chmod o+x)`,
    );
  await asPostgres(path.join(bin, 'initdb'), [
    '-D',
    d.data,
    '-U',
    CREDENTIALS.postgresSuperuser.user,
    `--pwfile=${pwfile}`,
    '--auth-local=peer',
    '--auth-host=scram-sha-256',
    '--encoding=UTF8',
    '--locale=C.UTF-8',
  ]);
}

async function isReady(ctx: ServiceContext, bin: string): Promise<boolean> {
  const d = dirs(ctx);
  // As the postgres user over the socket, so peer authentication accepts the probe: a probe with
  // a role that does not exist still answers, but leaves a FATAL line in the server log each time.
  const r = await exec(
    'runuser',
    [
      '-u',
      'postgres',
      '--',
      path.join(bin, 'pg_isready'),
      '-q',
      '-h',
      d.socket,
      '-p',
      String(ctx.ports.postgres),
    ],
    { timeoutMs: 5000, cwd: '/' },
  );
  return r.code === 0;
}

export const postgres: Service = {
  name: 'postgres',
  after: [],
  packages: ['postgresql'],
  optional: false,
  logFile: (ctx) => path.join(ctx.paths.logs, 'postgres.log'),

  async status(ctx) {
    const endpoint = `127.0.0.1:${ctx.ports.postgres}`;
    // Postgres removes its own pidfile on a clean stop; never delete it ourselves.
    const pid = livePid(dirs(ctx).pidFile, { clean: false });
    if (pid === null) return { running: false, ready: false, ours: false, endpoint };
    const ready = await isReady(ctx, binDir());
    return { running: true, ready, ours: true, pid, endpoint };
  },

  async up(ctx) {
    const d = dirs(ctx);
    const bin = binDir();
    const was = await this.status(ctx);
    if (!was.running) {
      if (process.getuid?.() !== 0)
        throw new Error('the stack runs Postgres as the postgres system user, which needs root');
      await assertPortFree(ctx.ports.postgres, 'postgres');
      if (!existsSync(path.join(d.data, 'PG_VERSION'))) await initCluster(ctx, bin);
      const log = this.logFile(ctx);
      mkdirSync(ctx.paths.logs, { recursive: true });
      if (!existsSync(log)) writeFileSync(log, '');
      chownSync(log, ...postgresIds());
      const settings = [
        `-p ${ctx.ports.postgres}`,
        `-k ${d.socket}`,
        '-c listen_addresses=127.0.0.1',
        '-c max_connections=200',
        // Test data is thrown away anyway; not syncing makes the suites markedly faster.
        `-c fsync=${ctx.profile === 'test' ? 'off' : 'on'}`,
      ];
      await asPostgres(path.join(bin, 'pg_ctl'), [
        '-D',
        d.data,
        '-l',
        log,
        '-w',
        '-t',
        '60',
        '-o',
        settings.join(' '),
        'start',
      ]);
    }
    await psql(ctx, 'postgres', bootstrapSql());
    return { started: !was.running, detail: `ready on 127.0.0.1:${ctx.ports.postgres}` };
  },

  async down(ctx) {
    const d = dirs(ctx);
    const pid = livePid(d.pidFile, { clean: false });
    if (pid === null) return null;
    const r = await exec(
      'runuser',
      [
        '-u',
        'postgres',
        '--',
        path.join(binDir(), 'pg_ctl'),
        '-D',
        d.data,
        '-m',
        'fast',
        '-w',
        '-t',
        '60',
        'stop',
      ],
      { timeoutMs: 70_000, cwd: '/' },
    );
    if (r.code !== 0) await stopPid(pid);
    return `stopped (pid ${pid})`;
  },
};
