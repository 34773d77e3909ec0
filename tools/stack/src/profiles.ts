/**
 * The two profiles of the local stack. Each has its own data folder and ports, so tests never
 * touch development data; the ports avoid the system defaults (5432, 6379, 8080).
 *
 * The credentials below are for local development and tests only, and are published here on
 * purpose: these services listen on loopback only.
 */
import path from 'node:path';

export type ProfileName = 'dev' | 'test';
export const PROFILES: readonly ProfileName[] = ['dev', 'test'];

export interface Profile {
  name: ProfileName;
  ports: { postgres: number; redis: number; keycloak: number; keycloakManagement: number };
}

export const PROFILE_PORTS: Record<ProfileName, Profile['ports']> = {
  dev: { postgres: 55432, redis: 56379, keycloak: 18080, keycloakManagement: 18081 },
  test: { postgres: 56432, redis: 57379, keycloak: 19080, keycloakManagement: 19081 },
};

export const CREDENTIALS = {
  postgresSuperuser: { user: 'postgres', password: 'postgres-dev-password' },
  owner: { user: 'palisade_owner', password: 'owner-dev-password' },
  app: { user: 'palisade_app', password: 'app-dev-password' },
  keycloakDb: { user: 'keycloak', password: 'keycloak-dev-password' },
  keycloakAdmin: { user: 'admin', password: 'admin-dev-password' },
} as const;

export const KEYCLOAK_VERSION = '26.4.7';
export const REALM = 'palisade';

export interface Paths {
  root: string;
  data: string;
  run: string;
  logs: string;
  cache: string;
}

export function pathsFor(
  root: string,
  profile: ProfileName,
  env: NodeJS.ProcessEnv = process.env,
): Paths {
  const data = path.join(root, '.data', profile);
  const home = env.HOME ?? '/root';
  return {
    root,
    data,
    run: path.join(data, 'run'),
    logs: path.join(data, 'logs'),
    cache: env.PALISADE_CACHE ?? path.join(home, '.cache', 'palisade'),
  };
}
