/**
 * The outbox relay and the operations worker against real Postgres and a real, private Redis that
 * the test stops and starts (the shared stack's Redis is never stopped): an operation recorded
 * while Redis is down is enqueued once Redis is back, exactly once, and then runs to the end,
 * retried with backoff when a step fails.
 */
import { randomUUID } from 'node:crypto';
import { eq } from 'drizzle-orm';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { QUEUE_PREFIX, QueueName } from '@palisade/contracts';
import { createDb, schema, withPlatform, type Db } from '@palisade/db';
import { loadStack, startEphemeralRedis, type EphemeralRedis } from '@palisade/testkit';
import { WorkflowEngine, type Workflow } from './engine';
import { OutboxRelay } from './outbox-relay';
import { operationsWorker } from './operations.service';

const stack = loadStack('test');

async function until<T>(
  what: string,
  probe: () => Promise<T | undefined | false>,
  ms = 30_000,
): Promise<T> {
  const end = Date.now() + ms;
  for (;;) {
    const v = await probe();
    if (v) return v;
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describe('outbox relay (real Postgres, real Redis that goes away)', () => {
  let db: Db;
  let redis: EphemeralRedis;
  let relay: OutboxRelay;
  let inspect: Redis;
  let queue: Queue;
  const kind = `test.relay-${randomUUID().slice(0, 8)}`;

  async function record(): Promise<string> {
    const [row] = await withPlatform(db, 'test fixture: operation', (tx) =>
      tx
        .insert(schema.operations)
        .values({
          kind,
          targetType: 'vm',
          targetId: randomUUID(),
          actor: 'test',
          deadline: new Date(Date.now() + 3_600_000),
        })
        .returning({ id: schema.operations.id }),
    );
    return row!.id;
  }
  const row = async (id: string) =>
    (
      await withPlatform(db, 'test: read operation', (tx) =>
        tx.select().from(schema.operations).where(eq(schema.operations.id, id)),
      )
    )[0]!;

  beforeAll(async () => {
    db = createDb(stack.postgres.appUrl, { max: 3 });
    redis = await startEphemeralRedis();
    relay = new OutboxRelay(db, {
      redisUrl: redis.url,
      kinds: [kind],
      pollMs: 50,
      attempts: 3,
      backoffMs: 50,
    });
    relay.start();
    inspect = new Redis(redis.url, { maxRetriesPerRequest: null });
    queue = new Queue(QueueName.operations, { connection: inspect, prefix: QUEUE_PREFIX });
  });
  afterAll(async () => {
    await relay?.stop();
    await queue?.close();
    inspect?.disconnect();
    await redis?.dispose();
    await db?.$client.end();
  });

  it('enqueues a recorded operation with the operation id as the job id', async () => {
    const id = await record();
    const job = await until('the job', () => queue.getJob(id));
    expect(job).toMatchObject({ id, name: 'run', data: { operationId: id } });
    expect((await row(id)).enqueuedAt).not.toBeNull();
  });

  it('leaves other kinds alone: they wait for a worker that runs them', async () => {
    const [other] = await withPlatform(db, 'test fixture: operation', (tx) =>
      tx
        .insert(schema.operations)
        .values({
          kind: `${kind}-unknown`,
          targetType: 'vm',
          targetId: randomUUID(),
          actor: 'test',
          deadline: new Date(Date.now() + 3_600_000),
        })
        .returning(),
    );
    await record().then((id) => until('a later job', () => queue.getJob(id)));
    expect((await row(other!.id)).enqueuedAt).toBeNull();
    expect(await queue.getJob(other!.id)).toBeUndefined();
  });

  it('an operation recorded while Redis is down is enqueued once Redis is back, exactly once', async () => {
    await redis.stop();
    const id = await record();
    // The relay keeps polling and failing while Redis is away; the row must stay claimable.
    await new Promise((r) => setTimeout(r, 500));
    expect((await row(id)).enqueuedAt).toBeNull();
    await redis.start();
    const job = await until('the job after the restart', () => queue.getJob(id), 60_000);
    expect(job.id).toBe(id);
    // A relay that died between add and commit adds it again: BullMQ keeps one job.
    await withPlatform(db, 'test: forget enqueue', (tx) =>
      tx.update(schema.operations).set({ enqueuedAt: null }).where(eq(schema.operations.id, id)),
    );
    await until('re-marked', async () => (await row(id)).enqueuedAt !== null);
    const jobs = await queue.getJobs(['waiting', 'delayed', 'active', 'completed', 'failed']);
    expect(jobs.filter((j) => j.id === id)).toHaveLength(1);
  });

  it('the operations worker runs the job to the end, retrying a failing step with backoff', async () => {
    let failuresLeft = 1;
    const runs: string[] = [];
    let target = '';
    // Jobs the earlier cases enqueued run too; only this case's operation is watched.
    const workflow: Workflow<{ id: string }> = {
      kind,
      context: async (op) => ({ id: op.id }),
      steps: [
        { name: 'first', run: async ({ id }) => void (id === target && runs.push('first')) },
        {
          name: 'flaky',
          run: async ({ id }) => {
            if (id !== target) return;
            runs.push('flaky');
            if (failuresLeft-- > 0) throw new Error('host busy');
          },
        },
      ],
    };
    const conn = new Redis(redis.url, { maxRetriesPerRequest: null });
    const engine = new WorkflowEngine(db, new Map([[kind, workflow as Workflow<unknown>]]));
    const worker = operationsWorker(conn, engine, 1);
    try {
      const id = await record();
      target = id;
      const done = await until('the operation to finish', async () => {
        const r = await row(id);
        return r.state === 'succeeded' || r.state === 'failed' ? r : undefined;
      });
      expect(done.state).toBe('succeeded');
      expect(runs).toEqual(['first', 'flaky', 'flaky']);
      // Two attempts: the failed one, then the one that finished.
      expect((await queue.getJob(id))?.attemptsMade).toBe(2);
    } finally {
      await worker.close();
      conn.disconnect();
    }
  });
});
