/**
 * `npm run db:migrate`: applies migrations with the owner role. DATABASE_OWNER_URL wins; without
 * it, the local stack's description of the chosen profile (.data/<profile>/stack.json) is used.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { z } from 'zod';
import { parseEnv } from '@palisade/contracts';
import { runMigrations } from '@palisade/db';

const schema = z.object({
  DATABASE_OWNER_URL: z.url({ protocol: /^postgres(ql)?$/ }).optional(),
  PALISADE_PROFILE: z.enum(['dev', 'test']).default('dev'),
});

function ownerUrlFromStack(profile: string): string | undefined {
  const file = path.resolve(__dirname, '../../../../.data', profile, 'stack.json');
  if (!existsSync(file)) return undefined;
  return (JSON.parse(readFileSync(file, 'utf8')) as { postgres?: { ownerUrl?: string } }).postgres
    ?.ownerUrl;
}

async function main(): Promise<void> {
  const env = parseEnv(schema, process.env);
  if (!env.ok) throw new Error(`invalid configuration:\n  ${env.problems.join('\n  ')}`);
  const url = env.value.DATABASE_OWNER_URL ?? ownerUrlFromStack(env.value.PALISADE_PROFILE);
  if (!url) {
    throw new Error(
      `set DATABASE_OWNER_URL, or start the local stack first (npm run stack -- up --profile ${env.value.PALISADE_PROFILE})`,
    );
  }
  const start = performance.now();
  await runMigrations(url);
  process.stdout.write(`migrations applied (${Math.round(performance.now() - start)} ms)\n`);
}

main().catch((e: unknown) => {
  process.stderr.write(`db:migrate: ${e instanceof Error ? e.message : String(e)}\n`);
  process.exit(1);
});
