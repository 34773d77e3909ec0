import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { INestApplicationContext } from '@nestjs/common';
import { Queue, QueueEvents } from 'bullmq';
import { Redis } from 'ioredis';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { heartbeatResultSchema, QUEUE_PREFIX, QueueName } from '@palisade/contracts';
import { loadStack } from '@palisade/testkit';
import { workerConfigSchema } from './config';
import { WorkerModule } from './worker.module';

// Against the real Redis of the test stack: the worker consumes what a producer enqueues.
describe('worker against real Redis', () => {
  const stack = loadStack('test');
  let app: INestApplicationContext;
  let connection: Redis;
  let queue: Queue;
  let events: QueueEvents;

  beforeAll(async () => {
    const config = workerConfigSchema.parse({
      REDIS_URL: stack.redis.url,
      DATABASE_URL: stack.postgres.appUrl,
      WORKER_ID: 'worker-under-test',
      LOG_LEVEL: 'silent',
    });
    app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
      logger: false,
    });
    await app.init();
    connection = new Redis(stack.redis.url, { maxRetriesPerRequest: null });
    queue = new Queue(QueueName.system, { connection, prefix: QUEUE_PREFIX });
    events = new QueueEvents(QueueName.system, {
      connection: new Redis(stack.redis.url, { maxRetriesPerRequest: null }),
      prefix: QUEUE_PREFIX,
    });
    await events.waitUntilReady();
  });

  afterAll(async () => {
    await events?.close();
    await queue?.close();
    connection?.disconnect();
    await app?.close();
  });

  it('processes a heartbeat job and reports its id and pickup lag', async () => {
    const requestedAt = new Date().toISOString();
    const job = await queue.add('heartbeat', { requestedAt });
    const result = heartbeatResultSchema.parse(await job.waitUntilFinished(events, 30_000));
    expect(result.workerId).toBe('worker-under-test');
    expect(result.requestedAt).toBe(requestedAt);
    expect(result.lagMs).toBeGreaterThanOrEqual(0);
  });

  it('fails a job whose payload does not parse, without retrying it', async () => {
    const job = await queue.add(
      'heartbeat',
      { requestedAt: 'yesterday' },
      { attempts: 5, backoff: { type: 'fixed', delay: 10 } },
    );
    await expect(job.waitUntilFinished(events, 30_000)).rejects.toThrow(/invalid payload/);
    const failed = await queue.getJob(job.id!);
    expect(failed?.attemptsMade).toBe(1);
  });

  it('registers the repeatable heartbeat schedule at boot', async () => {
    const schedulers = await queue.getJobSchedulers();
    expect(schedulers.map((s) => s.key)).toContain('heartbeat');
  });
});
