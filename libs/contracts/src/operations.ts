import { z } from 'zod';

/**
 * Operations: every change to a tenant resource is accepted as an operation (HTTP 202), which a
 * worker then carries out. Tenants see its state, steps, progress and, when it failed, why.
 */
export const OPERATION_STATES = [
  'pending',
  'running',
  'compensating',
  'succeeded',
  'failed',
  'cancelled',
] as const;
export type OperationState = (typeof OPERATION_STATES)[number];
export const FINISHED_OPERATION_STATES: readonly OperationState[] = [
  'succeeded',
  'failed',
  'cancelled',
];

export const operationSchema = z.object({
  id: z.uuid(),
  kind: z.string().describe('e.g. vm.create, vm.start, network.delete'),
  targetType: z.string(),
  targetId: z.uuid(),
  state: z.enum(OPERATION_STATES),
  steps: z.array(
    z.object({
      name: z.string(),
      state: z.enum(['pending', 'running', 'done', 'failed', 'compensated', 'skipped']),
      startedAt: z.string().optional(),
      finishedAt: z.string().optional(),
      error: z.string().optional(),
    }),
  ),
  progress: z.number().int().min(0).max(100),
  error: z.object({ code: z.string(), message: z.string() }).nullable(),
  deadline: z.iso.datetime(),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
  finishedAt: z.iso.datetime().nullable(),
});
export type Operation = z.infer<typeof operationSchema>;

export const WAIT_SECONDS_DEFAULT = 30;
export const WAIT_SECONDS_MAX = 60;

/**
 * Accepted changes may wait for their operation to end: `wait: true` in the input (tRPC and REST
 * bodies) or `?wait=true` on the REST URL. The answer is the operation as it stands when it ended
 * or when `waitSeconds` ran out, whichever came first.
 */
export const waitFields = {
  wait: z.boolean().optional().describe('block until the operation ends or waitSeconds pass'),
  waitSeconds: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(WAIT_SECONDS_MAX, `must be at most ${WAIT_SECONDS_MAX}`)
    .optional(),
};

export const operationFollowInput = z.object({
  id: z.uuid('must be a UUID'),
  /** The `updatedAt` the caller last saw; the answer comes as soon as the operation differs. */
  since: z.iso
    .datetime({ error: 'must be an ISO timestamp, e.g. an operation updatedAt' })
    .optional(),
  waitSeconds: z.coerce
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1')
    .max(WAIT_SECONDS_MAX, `must be at most ${WAIT_SECONDS_MAX}`)
    .default(WAIT_SECONDS_DEFAULT),
});
