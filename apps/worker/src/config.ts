/** The worker's configuration, parsed once at boot; a bad variable stops the process. */
import { hostname } from 'node:os';
import { z } from 'zod';
import { logSettings, parseEnv } from '@palisade/contracts';

export const workerConfigSchema = z.object({
  REDIS_URL: z.url({ protocol: /^rediss?$/ }),
  WORKER_ID: z.string().min(1).max(128).default(`${hostname()}-${process.pid}`),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(4),
  HEARTBEAT_EVERY_MS: z.coerce.number().int().min(1000).default(15_000),
  ...logSettings,
});

export type WorkerConfig = z.infer<typeof workerConfigSchema>;

export function loadWorkerConfig(
  env: Record<string, string | undefined> = process.env,
): Readonly<WorkerConfig> {
  const parsed = parseEnv(workerConfigSchema, env);
  if (!parsed.ok) {
    process.stderr.write(
      `palisade-worker: invalid configuration:\n${parsed.problems.map((p) => `  - ${p}`).join('\n')}\n`,
    );
    process.exit(1);
  }
  return parsed.value;
}

export const WORKER_CONFIG = Symbol('WORKER_CONFIG');
