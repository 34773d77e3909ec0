/**
 * Ends operations that outlived their deadline, so nothing stays "building" forever: a worker
 * died and its job was lost, Redis lost the job, or a step hangs past every retry.
 *
 * An operation whose job is active is left alone (its worker sees the deadline when the attempt
 * fails, and BullMQ's stall detection hands a dead worker's job back). A waiting or delayed job is
 * removed first, so it cannot start while the operation is being compensated.
 */
import { Logger } from '@nestjs/common';
import type { Queue } from 'bullmq';
import { listOverdueOperations, withPlatform, type Db } from '@palisade/db';
import type { WorkflowEngine } from './engine';

export interface SweepReport {
  overdue: number;
  expired: string[];
  skippedActive: string[];
}

export async function sweepOverdueOperations(
  deps: { db: Db; queue: Queue; engine: WorkflowEngine; kinds: readonly string[] },
  now = new Date(),
  limit = 100,
): Promise<SweepReport> {
  const logger = new Logger('DeadlineSweeper');
  const overdue = await withPlatform(deps.db, 'deadline sweeper: list overdue operations', (tx) =>
    listOverdueOperations(tx, { now, kinds: deps.kinds, limit }),
  );
  const report: SweepReport = { overdue: overdue.length, expired: [], skippedActive: [] };
  for (const op of overdue) {
    const state = await deps.queue.getJobState(op.id);
    if (state === 'active') {
      report.skippedActive.push(op.id);
      continue;
    }
    if (state !== 'unknown' && state !== 'completed' && state !== 'failed') {
      const job = await deps.queue.getJob(op.id);
      // remove() refuses a job that a worker locked meanwhile: then the worker has it.
      const removed = await job?.remove().then(
        () => true,
        () => false,
      );
      if (job && !removed) {
        report.skippedActive.push(op.id);
        continue;
      }
    }
    if ((await deps.engine.expire(op.id)) === 'failed') report.expired.push(op.id);
  }
  if (report.expired.length)
    logger.warn(`ended ${report.expired.length} operation(s) past their deadline`);
  return report;
}
