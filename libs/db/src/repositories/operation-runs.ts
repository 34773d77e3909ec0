/**
 * The worker's side of the operations table: the outbox relay claims pending rows and marks them
 * enqueued, and the workflow engine records step progress and the final state. Platform-scope
 * only (workers act for every tenant); the API's tenant-facing reads live elsewhere.
 *
 * Never used to create operations: those are written by the API in the same transaction as the
 * change they carry out.
 */
import { and, asc, eq, inArray, isNull, lt, sql } from 'drizzle-orm';
import type { Tx } from '../scope';
import { operations, type OperationStep } from '../schema';
import type { OperationRow } from './operations';

/** Pending operations of the given kinds not yet handed to the queue, oldest first. Rows another
 *  relay holds are skipped, so several relays never enqueue the same row in the same instant (the
 *  job id would deduplicate it anyway). */
export function claimUnenqueuedOperations(
  tx: Tx,
  p: { kinds: readonly string[]; limit: number },
): Promise<Pick<OperationRow, 'id' | 'kind' | 'tenantId'>[]> {
  if (p.kinds.length === 0) return Promise.resolve([]);
  return tx
    .select({ id: operations.id, kind: operations.kind, tenantId: operations.tenantId })
    .from(operations)
    .where(
      and(
        eq(operations.state, 'pending'),
        isNull(operations.enqueuedAt),
        inArray(operations.kind, [...p.kinds]),
      ),
    )
    .orderBy(asc(operations.createdAt))
    .limit(p.limit)
    .for('update', { skipLocked: true });
}

export async function markOperationsEnqueued(tx: Tx, ids: string[]): Promise<void> {
  if (ids.length === 0) return;
  await tx
    .update(operations)
    .set({ enqueuedAt: sql`now()` })
    .where(inArray(operations.id, ids));
}

/** The row a run works from, locked so two deliveries of the same job cannot interleave their
 *  step records. */
export async function lockOperation(tx: Tx, id: string): Promise<OperationRow | undefined> {
  const [row] = await tx.select().from(operations).where(eq(operations.id, id)).for('update');
  return row;
}

/** Records step progress of a running operation (`pending` becomes `running` on the first save). */
export async function saveOperationSteps(
  tx: Tx,
  p: { id: string; steps: OperationStep[]; progress: number; state: 'running' | 'compensating' },
): Promise<void> {
  await tx
    .update(operations)
    .set({
      steps: p.steps,
      progress: p.progress,
      state: p.state,
      startedAt: sql`coalesce(${operations.startedAt}, now())`,
      updatedAt: sql`now()`,
    })
    .where(eq(operations.id, p.id));
}

/** Ends an operation. A finished operation is never reopened: the update only applies to an
 *  unfinished row, and the return value says whether this call was the one that ended it. */
export async function finishOperation(
  tx: Tx,
  p: {
    id: string;
    state: 'succeeded' | 'failed' | 'cancelled';
    steps: OperationStep[];
    progress: number;
    errorCode?: string;
    errorMessage?: string;
  },
): Promise<boolean> {
  const rows = await tx
    .update(operations)
    .set({
      state: p.state,
      steps: p.steps,
      progress: p.progress,
      errorCode: p.errorCode ?? null,
      errorMessage: p.errorMessage ?? null,
      finishedAt: sql`now()`,
      updatedAt: sql`now()`,
    })
    .where(
      and(
        eq(operations.id, p.id),
        inArray(operations.state, ['pending', 'running', 'compensating']),
      ),
    )
    .returning({ id: operations.id });
  return rows.length === 1;
}

/** Keeps why an operation is being compensated on the row, so a worker that dies while undoing
 *  can finish the job with the same reason. */
export async function recordOperationFailure(
  tx: Tx,
  p: { id: string; errorCode: string; errorMessage: string },
): Promise<void> {
  await tx
    .update(operations)
    .set({
      state: 'compensating',
      errorCode: p.errorCode,
      errorMessage: p.errorMessage,
      updatedAt: sql`now()`,
    })
    .where(eq(operations.id, p.id));
}

/** Unfinished operations whose deadline has passed, oldest deadline first (the sweeper's work). */
export function listOverdueOperations(
  tx: Tx,
  p: { now: Date; kinds: readonly string[]; limit: number },
): Promise<Pick<OperationRow, 'id' | 'kind' | 'state' | 'deadline'>[]> {
  if (p.kinds.length === 0) return Promise.resolve([]);
  return tx
    .select({
      id: operations.id,
      kind: operations.kind,
      state: operations.state,
      deadline: operations.deadline,
    })
    .from(operations)
    .where(
      and(
        inArray(operations.state, ['pending', 'running', 'compensating']),
        lt(operations.deadline, p.now),
        inArray(operations.kind, [...p.kinds]),
      ),
    )
    .orderBy(asc(operations.deadline))
    .limit(p.limit);
}
