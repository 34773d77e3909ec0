/**
 * `npm run dev:seed -w @palisade/api -- --host <name> --underlay <dev> --image-checksum <sha256>
 * --image-size <bytes>`: seeds the dev database (see ./seed.ts for what and why). `npm run dev`
 * runs it on every start. Needs what the API needs to reach Postgres and Keycloak's admin API:
 * DATABASE_URL, KEYCLOAK_ISSUER, KEYCLOAK_ADMIN_CLIENT_SECRET and the rest of its config.
 */
import { parseEnv } from '@palisade/contracts';
import { createDb } from '@palisade/db';
import { apiConfigSchema } from '../../config';
import { createIdentityAdmin } from '../../identity/identity.provider';
import { devSeed, parseSeedArgs, seedDevDatabase } from './seed';

async function main(): Promise<void> {
  const env = parseEnv(apiConfigSchema, process.env);
  if (!env.ok) throw new Error(`invalid configuration:\n  ${env.problems.join('\n  ')}`);
  const seed = devSeed(parseSeedArgs(process.argv.slice(2)));
  const db = createDb(env.value.DATABASE_URL, { max: 1 });
  try {
    for (const line of await seedDevDatabase(db, createIdentityAdmin(env.value), seed))
      process.stdout.write(`${line}\n`);
  } finally {
    await db.$client.end();
  }
}

main().catch((e: unknown) => {
  process.stderr.write(`dev:seed: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
