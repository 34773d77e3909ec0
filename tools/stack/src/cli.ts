/**
 * `npm run stack -- <up|down|status|logs|reset> [--profile dev|test] [--only a,b]`
 *
 * Brings the real services up under .data/<profile>/ and writes .data/<profile>/stack.json, which
 * every other tool and test reads to find them. Idempotent: `up` twice is a no-op; `down` stops
 * only what `up` started.
 */
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { ALL_PACKAGES, ensurePackages } from './packages';
import {
  CREDENTIALS,
  PROFILE_PORTS,
  PROFILES,
  REALM,
  pathsFor,
  type ProfileName,
} from './profiles';
import { keycloak, keycloakUrls } from './services/keycloak';
import { libvirt, LIBVIRT_URI } from './services/libvirt';
import { postgres } from './services/postgres';
import { redis } from './services/redis';
import type { Service, ServiceContext, ServiceName } from './services/types';

export const SERVICES: Service[] = [postgres, redis, keycloak, libvirt];
const COMMANDS = ['up', 'down', 'status', 'logs', 'reset'] as const;
type Command = (typeof COMMANDS)[number];

export interface Args {
  command: Command;
  profile: ProfileName;
  only: ServiceName[] | null;
  service?: ServiceName;
}

export function parseArgs(argv: string[]): Args {
  const [command, ...rest] = argv;
  if (!COMMANDS.includes(command as Command))
    throw new Error(
      `usage: stack <${COMMANDS.join('|')}> [--profile dev|test] [--only ${SERVICES.map((s) => s.name).join(',')}]`,
    );
  let profile: ProfileName = 'dev';
  let only: ServiceName[] | null = null;
  let service: ServiceName | undefined;
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const value = () => {
      const v = a.includes('=') ? a.split('=')[1] : rest[++i];
      if (v === undefined) throw new Error(`${a} needs a value`);
      return v;
    };
    if (a.startsWith('--profile')) {
      const p = value();
      if (!PROFILES.includes(p as ProfileName))
        throw new Error(`--profile must be one of ${PROFILES.join(', ')} (got ${p})`);
      profile = p as ProfileName;
    } else if (a.startsWith('--only')) {
      only = value()
        .split(',')
        .map((s) => serviceName(s.trim()));
    } else if (command === 'logs' && !a.startsWith('-') && service === undefined) {
      service = serviceName(a);
    } else {
      throw new Error(`unknown argument ${a}`);
    }
  }
  if (command === 'logs' && !service)
    throw new Error(`logs needs a service: ${SERVICES.map((s) => s.name).join(', ')}`);
  return { command: command as Command, profile, only, service };
}

function serviceName(s: string): ServiceName {
  const found = SERVICES.find((x) => x.name === s);
  if (!found)
    throw new Error(`unknown service ${s}; known: ${SERVICES.map((x) => x.name).join(', ')}`);
  return found.name;
}

export function repoRoot(from = __dirname): string {
  let dir = from;
  while (dir !== path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'palisade'
    )
      return dir;
    dir = path.dirname(dir);
  }
  throw new Error('cannot find the Palisade repository root');
}

/** What .data/<profile>/stack.json says; the shape @palisade/testkit's loadStack() reads. */
export function stackDescription(
  ctx: ServiceContext,
  libvirtState: { available: boolean; reason?: string },
) {
  const { ports } = ctx;
  const pg = (user: string, password: string, db: string) =>
    `postgres://${user}:${password}@127.0.0.1:${ports.postgres}/${db}`;
  return {
    profile: ctx.profile,
    postgres: {
      host: '127.0.0.1',
      port: ports.postgres,
      ownerUrl: pg(CREDENTIALS.owner.user, CREDENTIALS.owner.password, 'palisade'),
      appUrl: pg(CREDENTIALS.app.user, CREDENTIALS.app.password, 'palisade'),
      adminUrl: pg(
        CREDENTIALS.postgresSuperuser.user,
        CREDENTIALS.postgresSuperuser.password,
        'postgres',
      ),
    },
    redis: { url: `redis://127.0.0.1:${ports.redis}` },
    keycloak: {
      ...keycloakUrls(ctx),
      realm: REALM,
      adminUsername: CREDENTIALS.keycloakAdmin.user,
      adminPassword: CREDENTIALS.keycloakAdmin.password,
    },
    libvirt: libvirtState.available
      ? { available: true, uri: LIBVIRT_URI }
      : { available: false, reason: libvirtState.reason },
  };
}

const print = (line: string) => process.stdout.write(`${line}\n`);
const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;

async function up(ctx: ServiceContext, selected: Service[]): Promise<number> {
  const t0 = performance.now();
  await ensurePackages(ALL_PACKAGES, (l) => print(`… ${l}`));
  mkdirSync(ctx.paths.logs, { recursive: true });
  const results = new Map<ServiceName, Promise<{ ok: boolean; detail: string }>>();
  const start = (s: Service): Promise<{ ok: boolean; detail: string }> => {
    const existing = results.get(s.name);
    if (existing) return existing;
    const p = (async () => {
      for (const dep of s.after) {
        const d = SERVICES.find((x) => x.name === dep)!;
        if (selected.includes(d) && !(await start(d)).ok)
          return { ok: false, detail: `needs ${dep}, which failed` };
      }
      const began = performance.now();
      try {
        const detail = await s.up(ctx);
        print(`✔ ${s.name.padEnd(9)} ${detail} (${secs(performance.now() - began)})`);
        return { ok: true, detail };
      } catch (e) {
        const detail = e instanceof Error ? e.message : String(e);
        print(`✖ ${s.name.padEnd(9)} ${detail}\n  log: ${s.logFile(ctx)}`);
        return { ok: false, detail };
      }
    })();
    results.set(s.name, p);
    return p;
  };
  const outcomes = await Promise.all(selected.map(start));
  // libvirt is optional for the stack as a whole (the agent's functional tests skip without it);
  // the rest is not.
  const lv = results.get('libvirt');
  const lvState = lv ? await lv : { ok: false, detail: 'not started (--only)' };
  const failed = selected.filter((s, i) => !outcomes[i]!.ok && s.name !== 'libvirt');
  writeFileSync(
    path.join(ctx.paths.data, 'stack.json'),
    `${JSON.stringify(stackDescription(ctx, { available: lvState.ok, reason: lvState.ok ? undefined : lvState.detail }), null, 2)}\n`,
  );
  print(
    `${failed.length ? '✖' : '✔'} stack ${ctx.profile} ${failed.length ? `incomplete (${failed.map((s) => s.name).join(', ')})` : 'up'} in ${secs(performance.now() - t0)}; see ${path.relative(process.cwd(), path.join(ctx.paths.data, 'stack.json'))}`,
  );
  return failed.length ? 1 : 0;
}

async function down(ctx: ServiceContext, selected: Service[]): Promise<void> {
  // Reverse order: Keycloak before the Postgres it uses.
  for (const s of [...selected].reverse()) {
    const st = await s.status(ctx);
    if (!st.ours) continue;
    await s.down(ctx);
    print(`■ ${s.name.padEnd(9)} stopped${st.pid ? ` (pid ${st.pid})` : ''}`);
  }
}

export async function main(argv: string[]): Promise<number> {
  const args = parseArgs(argv);
  const root = repoRoot();
  const ctx: ServiceContext = {
    profile: args.profile,
    ports: PROFILE_PORTS[args.profile],
    paths: pathsFor(root, args.profile),
  };
  const selected = args.only ? SERVICES.filter((s) => args.only!.includes(s.name)) : SERVICES;
  mkdirSync(ctx.paths.data, { recursive: true });
  switch (args.command) {
    case 'up':
      return up(ctx, selected);
    case 'down':
      await down(ctx, selected);
      return 0;
    case 'reset':
      await down(ctx, SERVICES);
      rmSync(ctx.paths.data, { recursive: true, force: true });
      print(`■ ${ctx.profile} data removed (${ctx.paths.data})`);
      return 0;
    case 'status': {
      for (const s of selected) {
        const st = await s.status(ctx);
        print(
          `${st.running ? '●' : '○'} ${s.name.padEnd(9)} ${st.running ? 'ready' : st.pid ? 'not ready' : 'stopped'}${st.pid ? `  pid ${st.pid}` : ''}  ${st.detail}${st.running && !st.ours ? '' : ''}`,
        );
      }
      return 0;
    }
    case 'logs': {
      const s = SERVICES.find((x) => x.name === args.service)!;
      const file = s.logFile(ctx);
      if (!existsSync(file)) {
        print(`no log yet at ${file}`);
        return 1;
      }
      const text = readFileSync(file, 'utf8');
      process.stdout.write(text.split('\n').slice(-200).join('\n'));
      return 0;
    }
  }
}
