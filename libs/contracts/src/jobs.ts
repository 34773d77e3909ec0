import { z } from 'zod';

/**
 * The job registry: every BullMQ queue and job name with the zod schema of its payload. Workers
 * parse payloads against it and fail a job that does not parse without retrying (a bad payload
 * never becomes good). Payloads never carry secrets: they hold IDs, and workers read the rest.
 */
export const QUEUE_PREFIX = '{palisade}'; // hash-tagged, so every queue key lands on one Redis Cluster slot

export const QueueName = {
  system: 'system',
  operations: 'operations',
  hosts: 'hosts',
  reconciler: 'reconciler',
} as const;
export type QueueName = (typeof QueueName)[keyof typeof QueueName];

export const jobRegistry = {
  system: {
    heartbeat: z.object({ requestedAt: z.iso.datetime() }),
  },
  /** One `run` job per operation row. The job id is the operation id, so re-enqueueing the same
   *  row is a no-op; everything else the workflow needs is read from the row and the resources it
   *  targets. */
  operations: {
    run: z.object({ operationId: z.uuid() }),
    /** Scheduled: ends operations past their deadline that no worker is running. */
    sweep: z.object({}),
  },
  hosts: {
    /** Scheduled: marks hosts whose heartbeat is older than the timeout unreachable. */
    monitor: z.object({}),
  },
  reconciler: {
    /** Scheduled: one pass comparing every up host with the database (docs/operations/reconciler.md). */
    run: z.object({}),
  },
} as const satisfies Record<QueueName, Record<string, z.ZodType>>;

export type JobName<Q extends QueueName> = keyof (typeof jobRegistry)[Q] & string;
export type JobPayload<Q extends QueueName, N extends JobName<Q>> = z.infer<
  (typeof jobRegistry)[Q][N]
>;

export const heartbeatResultSchema = z.object({
  workerId: z.string(),
  requestedAt: z.iso.datetime(),
  processedAt: z.iso.datetime(),
  lagMs: z.number().int().nonnegative(),
});
export type HeartbeatResult = z.infer<typeof heartbeatResultSchema>;
