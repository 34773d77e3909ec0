/**
 * `npm run stack -- <up|down|status|logs|reset> [--profile dev|test] [--only a,b]`
 *
 * Brings the real services of one profile up under .data/<profile>/ and writes
 * .data/<profile>/stack.json, which every other tool and test reads to find them. Idempotent: a
 * second `up` starts nothing; `down` stops only what this profile's `up` started, by PID. It never
 * prompts and never assumes a terminal, so it runs the same under CI=true with no stdin.
 */
import { spawn } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, renameSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { MissingPackagesError, TOOLING_PACKAGES, ensurePackages } from './packages';
import { holdLock } from './proc';
import { CREDENTIALS, DATABASE, PROFILES, pathsFor, portsFor, type ProfileName } from './profiles';
import { keycloak, keycloakUrls, mainRealm, realmFiles } from './services/keycloak';
import { devHost, readDevHost, type DevHost } from './services/dev-host';
import { LIBVIRT_URI, libvirt } from './services/libvirt';
import { postgres } from './services/postgres';
import { redis } from './services/redis';
import type { Service, ServiceContext, ServiceName, ServiceStatus } from './services/types';

/** In start order; `down` goes the other way. */
export const SERVICES: readonly Service[] = [postgres, redis, keycloak, libvirt];

/**
 * The services of one profile: the dev profile's `libvirt` is its own libvirtd in a network
 * namespace (services/dev-host.ts), never the system one the test profile uses.
 */
export function servicesOf(profile: ProfileName): readonly Service[] {
  return profile === 'dev' ? SERVICES.map((s) => (s.name === 'libvirt' ? devHost : s)) : SERVICES;
}
const NAMES = SERVICES.map((s) => s.name);
const COMMANDS = ['up', 'down', 'status', 'logs', 'reset'] as const;
type Command = (typeof COMMANDS)[number];

export interface Args {
  command: Command;
  profile: ProfileName;
  /** --only, as given; null means every service. */
  only: ServiceName[] | null;
  /** `logs <service>`. */
  service?: ServiceName;
  /** `logs <service> -f`. */
  follow: boolean;
}

export const USAGE = `usage: stack <${COMMANDS.join('|')}> [--profile dev|test] [--only ${NAMES.join(',')}]
       stack logs <${NAMES.join('|')}> [-f] [--profile dev|test]`;

export function parseArgs(argv: readonly string[]): Args {
  const [command, ...rest] = argv;
  if (!COMMANDS.includes(command as Command)) throw new Error(USAGE);
  const args: Args = { command: command as Command, profile: 'dev', only: null, follow: false };
  for (let i = 0; i < rest.length; i++) {
    const a = rest[i]!;
    const [flag, inline] =
      a.startsWith('--') && a.includes('=')
        ? [a.slice(0, a.indexOf('=')), a.slice(a.indexOf('=') + 1)]
        : [a, undefined];
    const value = () => {
      const v = inline ?? rest[++i];
      if (v === undefined || v === '') throw new Error(`${flag} needs a value`);
      return v;
    };
    if (flag === '--profile') {
      const p = value();
      if (!PROFILES.includes(p as ProfileName))
        throw new Error(`--profile must be one of ${PROFILES.join(', ')} (got ${p})`);
      args.profile = p as ProfileName;
    } else if (flag === '--only') {
      args.only = [
        ...new Set(
          value()
            .split(',')
            .map((s) => serviceName(s.trim())),
        ),
      ];
    } else if (args.command === 'logs' && (a === '-f' || a === '--follow')) {
      args.follow = true;
    } else if (args.command === 'logs' && !a.startsWith('-') && args.service === undefined) {
      args.service = serviceName(a);
    } else {
      throw new Error(`unknown argument ${a}\n${USAGE}`);
    }
  }
  if (args.command === 'logs' && !args.service)
    throw new Error(`logs needs a service: ${NAMES.join(', ')}`);
  return args;
}

function serviceName(s: string): ServiceName {
  if (!NAMES.includes(s as ServiceName))
    throw new Error(`unknown service ${s}; known: ${NAMES.join(', ')}`);
  return s as ServiceName;
}

/** `names` plus everything they need first (Keycloak keeps its data in Postgres), in start order. */
export function withDependencies(names: readonly ServiceName[]): ServiceName[] {
  const want = new Set<ServiceName>();
  const add = (n: ServiceName) => {
    if (want.has(n)) return;
    want.add(n);
    for (const d of SERVICES.find((s) => s.name === n)!.after) add(d);
  };
  names.forEach(add);
  return NAMES.filter((n) => want.has(n));
}

export function repoRoot(from = __dirname): string {
  for (let dir = from; dir !== path.dirname(dir); dir = path.dirname(dir)) {
    const pkg = path.join(dir, 'package.json');
    if (
      existsSync(pkg) &&
      (JSON.parse(readFileSync(pkg, 'utf8')) as { name?: string }).name === 'palisade'
    )
      return dir;
  }
  throw new Error(`cannot find the Palisade repository root above ${from}`);
}

export interface LibvirtState {
  available: boolean;
  reason?: string;
  /** The dev profile's namespaced host; absent for the system libvirtd. */
  host?: DevHost | null;
}

/** What .data/<profile>/stack.json says; the shape @palisade/testkit's loadStack() reads. */
export function stackDescription(
  ctx: Pick<ServiceContext, 'profile' | 'ports'>,
  realm: string,
  lv: LibvirtState,
) {
  const { ports } = ctx;
  const pg = (user: string, password: string, db: string) =>
    `postgres://${user}:${encodeURIComponent(password)}@127.0.0.1:${ports.postgres}/${db}`;
  return {
    profile: ctx.profile,
    postgres: {
      host: '127.0.0.1',
      port: ports.postgres,
      database: DATABASE,
      ownerUrl: pg(CREDENTIALS.owner.user, CREDENTIALS.owner.password, DATABASE),
      appUrl: pg(CREDENTIALS.app.user, CREDENTIALS.app.password, DATABASE),
      adminUrl: pg(
        CREDENTIALS.postgresSuperuser.user,
        CREDENTIALS.postgresSuperuser.password,
        'postgres',
      ),
    },
    redis: { url: `redis://127.0.0.1:${ports.redis}` },
    keycloak: {
      ...keycloakUrls(ctx, realm),
      realm,
      adminUsername: CREDENTIALS.keycloakAdmin.user,
      adminPassword: CREDENTIALS.keycloakAdmin.password,
    },
    libvirt: lv.available
      ? lv.host
        ? {
            available: true,
            uri: lv.host.uri,
            netns: lv.host.netns,
            underlay: { dev: lv.host.underlayDev, ip: lv.host.underlayIp },
            bandwidth: lv.host.bandwidth,
          }
        : { available: true, uri: LIBVIRT_URI }
      : { available: false, reason: lv.reason ?? 'unknown' },
  };
}

const print = (line: string) => process.stdout.write(`${line}\n`);
export const secs = (ms: number) => `${(ms / 1000).toFixed(1)}s`;
const col = (name: string) => name.padEnd(9);

export function statusLine(name: ServiceName, st: ServiceStatus): string {
  const state = st.ready ? 'ready' : st.running ? 'starting' : 'stopped';
  const mark = st.ready ? '●' : st.running ? '◐' : '○';
  const pid = st.pid ? `pid ${st.pid}` : '';
  return `${mark} ${col(name)} ${state.padEnd(8)} ${pid.padEnd(10)} ${st.endpoint}${st.note ? `  (${st.note})` : ''}`;
}

interface Outcome {
  ok: boolean;
  detail: string;
}

async function up(
  ctx: ServiceContext,
  services: readonly Service[],
  only: ServiceName[] | null,
): Promise<number> {
  const t0 = performance.now();
  const selected = withDependencies(only ?? NAMES).map((n) => services.find((s) => s.name === n)!);
  try {
    await ensurePackages(
      [...selected.flatMap((s) => s.packages), ...(only ? [] : TOOLING_PACKAGES)],
      ctx.log,
    );
  } catch (e) {
    if (!(e instanceof MissingPackagesError)) throw e;
    print(`✖ ${e.message}`);
    return 2;
  }
  for (const d of [ctx.paths.data, ctx.paths.run, ctx.paths.logs])
    mkdirSync(d, { recursive: true });

  // Independent services start at once; a service waits only for what it needs.
  const runs = new Map<ServiceName, Promise<Outcome>>();
  const start = (s: Service): Promise<Outcome> => {
    let run = runs.get(s.name);
    if (run) return run;
    run = (async () => {
      for (const dep of s.after) {
        const d = runs.get(dep);
        if (d && !(await d).ok) {
          print(`✖ ${col(s.name)} not started: needs ${dep}`);
          return { ok: false, detail: `needs ${dep}` };
        }
      }
      const began = performance.now();
      try {
        const r = await s.up(ctx);
        const took = r.started ? secs(performance.now() - began) : 'already running';
        print(`✔ ${col(s.name)} ${r.detail} (${took})`);
        return { ok: true, detail: r.detail };
      } catch (e) {
        const detail = (e instanceof Error ? e.message : String(e)).trim();
        if (s.optional) print(`– ${col(s.name)} unavailable: ${detail}`);
        else print(`✖ ${col(s.name)} ${detail}\n  log: ${s.logFile(ctx)}`);
        return { ok: false, detail };
      }
    })();
    runs.set(s.name, run);
    return run;
  };
  const outcomes = await Promise.all(selected.map(start));
  const failed = selected.filter((s, i) => !outcomes[i]!.ok && !s.optional);

  const lvService = services.find((s) => s.name === 'libvirt')!;
  const lvRun = runs.get('libvirt');
  const lv: LibvirtState = lvRun
    ? await lvRun.then((o) => (o.ok ? { available: true } : { available: false, reason: o.detail }))
    : await lvService.status(ctx).then((st) =>
        st.ready
          ? { available: true }
          : {
              available: false,
              reason: 'not started (run `up` without --only, or with libvirt)',
            },
      );
  if (ctx.profile === 'dev') lv.host = readDevHost(ctx);
  const realm = mainRealm(
    realmFiles(path.join(ctx.paths.root, 'infra', 'keycloak')).map((r) => r.realm),
  );
  const file = path.join(ctx.paths.data, 'stack.json');
  // Write then rename: a test reading it concurrently sees the old or the new file, never half.
  writeFileSync(`${file}.tmp`, `${JSON.stringify(stackDescription(ctx, realm, lv), null, 2)}\n`);
  renameSync(`${file}.tmp`, file);
  const where = path.relative(process.cwd(), file) || file;
  print(
    failed.length
      ? `✖ stack ${ctx.profile} incomplete (${failed.map((s) => s.name).join(', ')}) after ${secs(performance.now() - t0)}`
      : `✔ stack ${ctx.profile} up in ${secs(performance.now() - t0)} → ${where}`,
  );
  return failed.length ? 1 : 0;
}

/** Stops the selected services, each only after whatever depends on it (Keycloak before Postgres). */
async function down(ctx: ServiceContext, selected: readonly Service[]): Promise<void> {
  const runs = new Map<ServiceName, Promise<void>>();
  const stop = (s: Service): Promise<void> => {
    let run = runs.get(s.name);
    if (run) return run;
    run = (async () => {
      await Promise.all(selected.filter((o) => o.after.includes(s.name)).map(stop));
      const did = await s.down(ctx);
      print(did ? `■ ${col(s.name)} ${did}` : `· ${col(s.name)} nothing of ours to stop`);
    })();
    runs.set(s.name, run);
    return run;
  };
  await Promise.all(selected.map(stop));
}

export async function main(argv: readonly string[]): Promise<number> {
  let args: Args;
  try {
    args = parseArgs(argv);
  } catch (e) {
    print((e as Error).message);
    return 64;
  }
  const root = repoRoot();
  const ctx: ServiceContext = {
    profile: args.profile,
    ports: portsFor(args.profile),
    paths: pathsFor(root, args.profile),
    log: (line) => print(`… ${line}`),
  };
  const services = servicesOf(args.profile);
  const selected = args.only ? services.filter((s) => args.only!.includes(s.name)) : services;
  if (args.command === 'up' || args.command === 'down' || args.command === 'reset')
    holdLock(ctx.paths.lock, () =>
      print(`… waiting for another stack command on the ${args.profile} profile to finish`),
    );

  switch (args.command) {
    case 'up':
      return up(ctx, services, args.only);
    case 'down':
      await down(ctx, selected);
      return 0;
    case 'reset':
      await down(ctx, services);
      rmSync(ctx.paths.data, { recursive: true, force: true });
      print(`■ ${ctx.profile} data removed (${ctx.paths.data})`);
      return 0;
    case 'status': {
      const statuses = await Promise.all(selected.map((s) => s.status(ctx)));
      selected.forEach((s, i) => print(statusLine(s.name, statuses[i]!)));
      // Non-zero unless every required service answers, so scripts can wait on it.
      return selected.every((s, i) => s.optional || statuses[i]!.ready) ? 0 : 3;
    }
    case 'logs': {
      const file = services.find((s) => s.name === args.service)!.logFile(ctx);
      if (!existsSync(file)) {
        print(`no log yet at ${file}`);
        return 1;
      }
      if (args.follow) {
        const tail = spawn('tail', ['-n', '200', '-F', file], {
          stdio: ['ignore', 'inherit', 'inherit'],
        });
        return new Promise((resolve) => tail.on('exit', (code) => resolve(code ?? 0)));
      }
      const lines = readFileSync(file, 'utf8').split('\n');
      process.stdout.write(`${lines.slice(-201).join('\n')}`);
      return 0;
    }
  }
}
