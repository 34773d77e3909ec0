/**
 * The two profiles of the local stack and everything fixed about them: ports, paths, credentials.
 * Each profile has its own data folder and ports, so tests never touch development data; the ports
 * stay clear of the system defaults (5432, 6379, 8080) so a system Postgres or Redis can coexist.
 *
 * The credentials below are for local development and tests only and are published on purpose:
 * every service binds to loopback. This is the one place they are written down; stack.json hands
 * them to everything else. Never reuse them for anything reachable from another machine.
 */
import path from 'node:path';

export type ProfileName = 'dev' | 'test';
export const PROFILES: readonly ProfileName[] = ['dev', 'test'];

export interface Ports {
  postgres: number;
  redis: number;
  keycloak: number;
  keycloakManagement: number;
}

export const PROFILE_PORTS: Readonly<Record<ProfileName, Readonly<Ports>>> = {
  dev: { postgres: 55432, redis: 56379, keycloak: 18080, keycloakManagement: 18081 },
  test: { postgres: 56432, redis: 57379, keycloak: 19080, keycloakManagement: 19081 },
};

/**
 * The profile's ports, shifted by PALISADE_PORT_OFFSET when set: lets a second checkout (a git
 * worktree, a scratch copy) run its own stack beside this one without a port clash.
 */
export function portsFor(profile: ProfileName, env: NodeJS.ProcessEnv = process.env): Ports {
  const raw = env.PALISADE_PORT_OFFSET;
  const offset = raw === undefined || raw === '' ? 0 : Number(raw);
  const base = PROFILE_PORTS[profile];
  if (!Number.isInteger(offset) || offset < 0 || Math.max(...Object.values(base)) + offset > 65535)
    throw new Error(`PALISADE_PORT_OFFSET must be a small non-negative integer (got ${raw})`);
  return {
    postgres: base.postgres + offset,
    redis: base.redis + offset,
    keycloak: base.keycloak + offset,
    keycloakManagement: base.keycloakManagement + offset,
  };
}

export const CREDENTIALS = {
  postgresSuperuser: { user: 'postgres', password: 'postgres-dev-password' },
  /** Owns database `palisade` and runs the migrations. */
  owner: { user: 'palisade_owner', password: 'owner-dev-password' },
  /** The API's and workers' runtime role: owns nothing, cannot bypass row-level security. */
  app: { user: 'palisade_app', password: 'app-dev-password' },
  keycloakDb: { user: 'keycloak', password: 'keycloak-dev-password' },
  keycloakAdmin: { user: 'admin', password: 'admin-dev-password' },
} as const;

export const DATABASE = 'palisade';
export const KEYCLOAK_VERSION = '26.4.7';
/** The realm the product uses (infra/keycloak/palisade-realm.json). */
export const REALM = 'palisade';

export interface Paths {
  /** The repository root (the folder whose package.json is named "palisade"). */
  root: string;
  /** .data/<profile>: everything the profile's services write. Git-ignored. */
  data: string;
  /** Pidfiles of what this profile started, and libvirt's use marker. */
  run: string;
  logs: string;
  /** Held while up/down/reset run, so two of them never interleave on one profile. */
  lock: string;
  /** Downloads and unpacked distributions shared by every checkout and profile; outside the repo. */
  cache: string;
}

export function pathsFor(
  root: string,
  profile: ProfileName,
  env: NodeJS.ProcessEnv = process.env,
): Paths {
  const data = path.join(root, '.data', profile);
  return {
    root,
    data,
    run: path.join(data, 'run'),
    logs: path.join(data, 'logs'),
    // Beside the data folder, not in it: `reset` deletes the data folder while holding the lock.
    lock: path.join(root, '.data', `${profile}.lock`),
    cache: env.PALISADE_CACHE || path.join(env.HOME || '/root', '.cache', 'palisade'),
  };
}
