/** The worker's configuration, parsed once at boot; a bad variable stops the process. */
import { hostname } from 'node:os';
import { z } from 'zod';
import { logSettings, parseEnv } from '@palisade/contracts';
import { faultSpecSchema } from './operations/fault-injection';

const workerSettings = z.object({
  REDIS_URL: z.url({ protocol: /^rediss?$/ }),
  /** The runtime role (subject to row-level security); workers act in the audited platform scope. */
  DATABASE_URL: z.url({ protocol: /^postgres(ql)?$/ }),
  WORKER_ID: z.string().min(1).max(128).default(`${hostname()}-${process.pid}`),
  WORKER_CONCURRENCY: z.coerce.number().int().min(1).max(256).default(4),
  HEARTBEAT_EVERY_MS: z.coerce.number().int().min(1000).default(15_000),
  /** How often the outbox relay looks for operations not yet enqueued. */
  OUTBOX_POLL_MS: z.coerce.number().int().min(10).max(60_000).default(250),
  /** Attempts per operation job before its workflow compensates and fails it. */
  OPERATION_ATTEMPTS: z.coerce.number().int().min(1).max(50).default(5),
  /** How often the deadline sweeper looks for operations past their deadline. */
  OPERATION_SWEEP_MS: z.coerce.number().int().min(1000).max(3_600_000).default(30_000),
  /** First retry delay; BullMQ doubles it per attempt. */
  OPERATION_BACKOFF_MS: z.coerce.number().int().min(0).max(600_000).default(2_000),
  /** A host whose last heartbeat is older than this is unreachable, and its VMs' state unknown. */
  HOST_HEARTBEAT_TIMEOUT_MS: z.coerce.number().int().min(1000).max(3_600_000).default(60_000),
  /** How often the host monitor looks for silent hosts. */
  HOST_MONITOR_EVERY_MS: z.coerce.number().int().min(500).max(3_600_000).default(10_000),
  /** How often the reconciler compares every up host with the database
   *  (docs/operations/reconciler.md); 0 turns it off (e.g. a test worker on a shared database). */
  RECONCILE_EVERY_MS: z.coerce
    .number()
    .int()
    .max(86_400_000)
    .refine((v) => v === 0 || v >= 1000, 'must be 0 (off) or at least 1000')
    .default(60_000),
  /** The control plane's CA directory (the API's PKI_DIR): the worker issues itself a
   *  control-plane client certificate from it to call agents. Without it, VM workflows are off. */
  PKI_DIR: z.string().startsWith('/', 'must be an absolute path').optional(),
  /** SECRET: base64 of 32 bytes; wraps the per-tenant keys that wrap volume LUKS keys. */
  VOLUME_MASTER_KEY: z
    .string()
    .refine((v) => Buffer.from(v, 'base64').length === 32, 'must be base64 of 32 bytes')
    .optional(),
  /** BullMQ lock of a running operation job, renewed at half this by a live worker. A worker
   *  that died holds its jobs until the lock lapses; then the stalled check hands them on. */
  WORKER_LOCK_MS: z.coerce.number().int().min(1000).max(600_000).default(30_000),
  /** How often the worker looks for jobs whose worker died (BullMQ stalledInterval). */
  WORKER_STALLED_CHECK_MS: z.coerce.number().int().min(500).max(600_000).default(30_000),
  /** How many worker deaths one operation job survives before BullMQ fails it (maxStalledCount).
   *  BullMQ's default of 1 failed the job at a second death and left its operation `running`
   *  until its deadline (vm-crash.int.spec.ts); steps are idempotent, so running it again after
   *  a death is the design, and the deadline still bounds an operation that kills every worker. */
  OPERATION_MAX_STALLS: z.coerce.number().int().min(1).max(1000).default(10),
  /** TEST ONLY (refused unless NODE_ENV=test): SIGKILL this worker at `<kind>:<step>:<point>`
   *  (operations/fault-injection.ts; the crash tests). */
  WORKER_FAULT_KILL_AT: faultSpecSchema.optional(),
  NODE_ENV: z.string().optional(),
  ...logSettings,
});

export const workerConfigSchema = workerSettings.refine(
  (c) => c.WORKER_FAULT_KILL_AT === undefined || c.NODE_ENV === 'test',
  {
    path: ['WORKER_FAULT_KILL_AT'],
    message: 'is for crash tests only and is refused unless NODE_ENV=test',
  },
);

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
