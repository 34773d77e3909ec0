/**
 * Operations as tenants see them, and waiting for one to end. Waiting polls the row (each poll a
 * short tenant-scoped read), so it works the same for tRPC and REST and across API replicas
 * without a pub/sub channel; the interval bounds the extra latency, not the correctness.
 */
import {
  FINISHED_OPERATION_STATES,
  WAIT_SECONDS_DEFAULT,
  type Operation,
} from '@palisade/contracts';
import { getOperation, withTenant, type Db, type OperationRow } from '@palisade/db';

const POLL_MS = 250;

export const toOperation = (r: OperationRow): Operation => ({
  id: r.id,
  kind: r.kind,
  targetType: r.targetType,
  targetId: r.targetId,
  state: r.state,
  steps: r.steps,
  progress: r.progress,
  error: r.errorCode ? { code: r.errorCode, message: r.errorMessage ?? '' } : null,
  deadline: r.deadline.toISOString(),
  createdAt: r.createdAt.toISOString(),
  updatedAt: r.updatedAt.toISOString(),
  finishedAt: r.finishedAt?.toISOString() ?? null,
});

export const isFinished = (op: Pick<Operation, 'state'>) =>
  FINISHED_OPERATION_STATES.includes(op.state);

/**
 * Polls the operation until `done(op)` or `seconds` pass; returns it as it then stands (undefined
 * only if it vanished, which operations never do while their tenant exists).
 */
export async function pollOperation(
  db: Db,
  tenantId: string,
  id: string,
  seconds: number,
  done: (op: Operation) => boolean,
  signal?: AbortSignal,
): Promise<Operation | undefined> {
  const until = Date.now() + seconds * 1000;
  for (;;) {
    const row = await withTenant(db, tenantId, (tx) => getOperation(tx, { tenantId, id }));
    const op = row && toOperation(row);
    if (!op || done(op) || Date.now() >= until || signal?.aborted) return op;
    await new Promise((r) => setTimeout(r, Math.min(POLL_MS, Math.max(0, until - Date.now()))));
  }
}

export const waitSecondsOf = (w: { waitSeconds?: number }) => w.waitSeconds ?? WAIT_SECONDS_DEFAULT;
