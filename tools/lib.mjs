// Small helpers shared by the repo's entry scripts (tools/test/run.mjs, tools/dev/run.mjs).
// Plain Node ESM with no dependencies, so they work straight after `npm ci`.
import { spawn } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');

/** Runs a command with inherited stdio; resolves with its exit code. */
export function run(cmd, args, { env = {}, cwd = root } = {}) {
  return new Promise((resolve) => {
    const child = spawn(cmd, args, { cwd, env: { ...process.env, ...env }, stdio: 'inherit' });
    child.on('exit', (code, signal) => resolve(code ?? (signal ? 128 : 1)));
    child.on('error', (e) => {
      console.error(`${cmd}: ${e.message}`);
      resolve(127);
    });
  });
}

export async function must(cmd, args, opts) {
  const code = await run(cmd, args, opts);
  if (code !== 0) {
    console.error(`\n✖ ${cmd} ${args.join(' ')} exited with ${code}`);
    process.exit(code);
  }
}

export function stackInfo(profile) {
  const file = path.join(root, '.data', profile, 'stack.json');
  if (!existsSync(file))
    throw new Error(`${file} is missing: did 'stack up --profile ${profile}' succeed?`);
  return JSON.parse(readFileSync(file, 'utf8'));
}

/**
 * The secret of a confidential client in the development realm file. Development and tests only:
 * that file's secrets are public (infra/keycloak/README.md); production passes its own.
 */
export function devRealmClientSecret(clientId) {
  const realm = JSON.parse(
    readFileSync(path.join(root, 'infra', 'keycloak', 'palisade-realm.json'), 'utf8'),
  );
  return realm.clients.find((c) => c.clientId === clientId)?.secret;
}

/** The environment every Palisade process needs to reach the stack of one profile. */
export function serviceEnv(stack, ports) {
  return {
    PALISADE_PROFILE: stack.profile,
    DATABASE_URL: stack.postgres.appUrl,
    DATABASE_OWNER_URL: stack.postgres.ownerUrl,
    REDIS_URL: stack.redis.url,
    KEYCLOAK_ISSUER: stack.keycloak.issuer,
    KEYCLOAK_ADMIN_CLIENT_SECRET: devRealmClientSecret('palisade-identity-admin'),
    PALISADE_API_PORT: String(ports.api),
    CORS_ORIGINS: `http://localhost:${ports.portal},http://localhost:${ports.admin}`,
  };
}
