/**
 * A PostgreSQL cluster of the stack's own (initdb under .data/<profile>/postgres), never the
 * system cluster. Postgres refuses to run as root, so the server runs as the `postgres` system
 * user that the Debian package creates.
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
import { CREDENTIALS } from '../profiles';
import { exec, livePid, mustExec, portOpen, stopPid, waitFor } from '../proc';
import type { Service, ServiceContext } from './types';

function binDir(): string {
  const base = '/usr/lib/postgresql';
  const versions = existsSync(base)
    ? readdirSync(base).filter((v) => existsSync(path.join(base, v, 'bin', 'initdb')))
    : [];
  const newest = versions.sort((a, b) => Number(b) - Number(a))[0];
  if (!newest)
    throw new Error(
      'PostgreSQL server binaries not found under /usr/lib/postgresql (package postgresql)',
    );
  return path.join(base, newest, 'bin');
}

const dirs = (ctx: ServiceContext) => {
  const root = path.join(ctx.paths.data, 'postgres');
  return { root, data: path.join(root, 'data'), socket: path.join(root, 'socket') };
};

const asPostgres = (cmd: string, args: string[]) =>
  mustExec('runuser', ['-u', 'postgres', '--', cmd, ...args], { cwd: '/' });

const q = (s: string) => `'${s.replace(/'/g, "''")}'`;

/** Roles and databases, created idempotently on every `up`. */
function bootstrapSql(): string {
  const { owner, app, keycloakDb } = CREDENTIALS;
  const role = (user: string, password: string, extra: string) => `
DO $$ BEGIN
  IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = ${q(user)}) THEN
    CREATE ROLE ${user} LOGIN PASSWORD ${q(password)} ${extra};
  END IF;
END $$;`;
  return [
    role(owner.user, owner.password, 'NOSUPERUSER NOCREATEDB NOCREATEROLE'),
    // The runtime role owns nothing and cannot bypass row-level security.
    role(app.user, app.password, 'NOSUPERUSER NOCREATEDB NOCREATEROLE NOBYPASSRLS'),
    role(keycloakDb.user, keycloakDb.password, 'NOSUPERUSER NOCREATEDB NOCREATEROLE'),
  ].join('\n');
}

export const postgres: Service = {
  name: 'postgres',
  after: [],
  logFile: (ctx) => path.join(ctx.paths.logs, 'postgres.log'),

  async status(ctx) {
    const pid = livePid(path.join(dirs(ctx).data, 'postmaster.pid'));
    if (pid === null) return { running: false, ours: false, detail: 'stopped' };
    const open = await portOpen(ctx.ports.postgres);
    return {
      running: open,
      ours: true,
      pid,
      detail: open ? `127.0.0.1:${ctx.ports.postgres}` : 'starting',
    };
  },

  async up(ctx) {
    const d = dirs(ctx);
    const bin = binDir();
    if (!existsSync(path.join(d.data, 'PG_VERSION'))) {
      mkdirSync(d.data, { recursive: true });
      mkdirSync(d.socket, { recursive: true });
      const pwfile = path.join(d.root, 'pwfile');
      writeFileSync(pwfile, `${CREDENTIALS.postgresSuperuser.password}\n`, { mode: 0o600 });
      for (const p of [d.root, d.data, d.socket, pwfile]) chownSync(p, ...postgresIds());
      await asPostgres(path.join(bin, 'initdb'), [
        '-D',
        d.data,
        '-U',
        'postgres',
        `--pwfile=${pwfile}`,
        '--auth-local=peer',
        '--auth-host=scram-sha-256',
        '--encoding=UTF8',
        '--locale=C.UTF-8',
      ]);
    }
    mkdirSync(ctx.paths.logs, { recursive: true });
    const log = this.logFile(ctx);
    if (!existsSync(log)) writeFileSync(log, '');
    chownSync(log, ...postgresIds());
    if ((await this.status(ctx)).pid === undefined) {
      await asPostgres(path.join(bin, 'pg_ctl'), [
        '-D',
        d.data,
        '-l',
        log,
        '-w',
        '-t',
        '60',
        '-o',
        `-p ${ctx.ports.postgres} -k ${d.socket} -c listen_addresses=127.0.0.1 -c max_connections=200 -c fsync=${ctx.profile === 'test' ? 'off' : 'on'}`,
        'start',
      ]);
    }
    await waitFor('postgres', () => portOpen(ctx.ports.postgres), 60_000);
    const psql = (db: string, sql: string) =>
      asPostgres(path.join(bin, 'psql'), [
        '-h',
        d.socket,
        '-p',
        String(ctx.ports.postgres),
        '-d',
        db,
        '-v',
        'ON_ERROR_STOP=1',
        '-qAt',
        '-c',
        sql,
      ]);
    await psql('postgres', bootstrapSql());
    const dbs = (await psql('postgres', 'SELECT datname FROM pg_database')).split('\n');
    if (!dbs.includes('palisade'))
      await psql('postgres', `CREATE DATABASE palisade OWNER ${CREDENTIALS.owner.user}`);
    if (!dbs.includes('keycloak'))
      await psql('postgres', `CREATE DATABASE keycloak OWNER ${CREDENTIALS.keycloakDb.user}`);
    // The app role may connect; table privileges come from the migrations (default privileges).
    await psql(
      'palisade',
      `GRANT CONNECT ON DATABASE palisade TO ${CREDENTIALS.app.user}; REVOKE CREATE ON SCHEMA public FROM PUBLIC; GRANT CREATE, USAGE ON SCHEMA public TO ${CREDENTIALS.owner.user}`,
    );
    return `ready on 127.0.0.1:${ctx.ports.postgres}`;
  },

  async down(ctx) {
    const d = dirs(ctx);
    const pid = livePid(path.join(d.data, 'postmaster.pid'));
    if (pid === null) return;
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
        'stop',
      ],
      { timeoutMs: 60_000 },
    );
    if (r.code !== 0) await stopPid(pid);
  },
};

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
