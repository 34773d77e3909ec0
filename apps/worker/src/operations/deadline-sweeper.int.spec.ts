/**
 * The deadline sweeper against real Postgres and a private real Redis: an operation past its
 * deadline whose job is lost or still waiting is compensated and ends `failed` with
 * `operation.deadline_exceeded`; one a worker holds is left to that worker.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_PREFIX, QueueName } from '@palisade/contracts';
import { createDb, schema, withPlatform, type Db } from '@palisade/db';
import type { StepRecord } from '@palisade/domain';
import { loadStack, startEphemeralRedis, type EphemeralRedis } from '@palisade/testkit';
import { sweepOverdueOperations } from './deadline-sweeper';
import { WorkflowEngine, type Workflow } from './engine';

const stack = loadStack('test');

describe('deadline sweeper (real Postgres, real Redis)', () => {
  let db: Db;
  let redis: EphemeralRedis;
  let conn: Redis;
  let queue: Queue;
  const kind = `test.sweep-${randomUUID().slice(0, 8)}`;
  const undone: string[] = [];
  const workflow: Workflow<{ id: string }> = {
    kind,
    context: async (op) => ({ id: op.id }),
    steps: ['allocate', 'define', 'start'].map((name) => ({
      name,
      run: async () => undefined,
      undo: async ({ id }) => void undone.push(`${id}:${name}`),
    })),
  };
  let engine: WorkflowEngine;

  async function overdue(steps: StepRecord[]): Promise<string> {
    const [row] = await withPlatform(db, 'test fixture: operation', (tx) =>
      tx
        .insert(schema.operations)
        .values({
          kind,
          state: 'running',
          targetType: 'vm',
          targetId: randomUUID(),
          actor: 'test',
          steps,
          deadline: new Date(Date.now() - 60_000),
          enqueuedAt: new Date(),
        })
        .returning({ id: schema.operations.id }),
    );
    return row!.id;
  }
  const read = async (id: string) =>
    (
      await withPlatform(db, 'test: read', (tx) =>
        tx.select().from(schema.operations).where(eq(schema.operations.id, id)),
      )
    )[0]!;
  const halfDone: StepRecord[] = [
    { name: 'allocate', state: 'done' },
    { name: 'define', state: 'running' },
    { name: 'start', state: 'pending' },
  ];

  beforeAll(async () => {
    db = createDb(stack.postgres.appUrl, { max: 2 });
    redis = await startEphemeralRedis();
    conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue(QueueName.operations, { connection: conn, prefix: QUEUE_PREFIX });
    engine = new WorkflowEngine(db, new Map([[kind, workflow as Workflow<unknown>]]));
  });
  afterAll(async () => {
    await queue?.close();
    conn?.disconnect();
    await redis?.dispose();
    await db?.$client.end();
  });

  it('an overdue operation whose job was lost is undone, last step first, and fails with the reason', async () => {
    const id = await overdue(halfDone);
    const report = await sweepOverdueOperations({ db, queue, engine, kinds: [kind] });
    expect(report.expired).toContain(id);
    expect(undone.filter((u) => u.startsWith(id))).toEqual([`${id}:define`, `${id}:allocate`]);
    const row = await read(id);
    expect(row).toMatchObject({ state: 'failed', errorCode: 'operation.deadline_exceeded' });
    expect(row.errorMessage).toMatch(/did not finish before its deadline/);
    expect(row.steps.map((s) => s.state)).toEqual(['compensated', 'compensated', 'skipped']);
  });

  it('a waiting job of an overdue operation is removed, so it cannot start after the undo', async () => {
    const id = await overdue(halfDone);
    await queue.add('run', { operationId: id }, { jobId: id, delay: 60_000 });
    const report = await sweepOverdueOperations({ db, queue, engine, kinds: [kind] });
    expect(report.expired).toContain(id);
    expect(await queue.getJob(id)).toBeUndefined();
  });

  it('an operation a worker is running is left to that worker', async () => {
    const id = await overdue(halfDone);
    await queue.add('run', { operationId: id }, { jobId: id });
    // Take the job the way a worker does, so BullMQ marks it active and locked.
    const { Worker } = await import('bullmq');
    const w = new Worker(QueueName.operations, null, {
      connection: conn.duplicate(),
      prefix: QUEUE_PREFIX,
    });
    try {
      const job = await w.getNextJob('test-token');
      expect(job?.id).toBe(id);
      const report = await sweepOverdueOperations({ db, queue, engine, kinds: [kind] });
      expect(report.skippedActive).toContain(id);
      expect((await read(id)).state).toBe('running');
    } finally {
      await w.close(true);
    }
  });
});
