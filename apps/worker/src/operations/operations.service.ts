/**
 * Runs operations in this worker process: the outbox relay feeding the `operations` queue, and a
 * BullMQ worker consuming it through the workflow engine. Thin on purpose: parse the payload,
 * hand it to the engine. A payload that does not parse fails without retry.
 *
 * Workflows come from the WORKFLOWS provider; the relay only enqueues kinds that one of them
 * runs, so an operation no deployed worker can run waits instead of failing.
 */
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Queue, UnrecoverableError, Worker, type Job } from 'bullmq';
import { Redis } from 'ioredis';
import { jobRegistry, QUEUE_PREFIX, QueueName } from '@palisade/contracts';
import { createDb, type Db } from '@palisade/db';
import { WORKER_CONFIG, type WorkerConfig } from '../config';
import { WorkflowEngine, type Workflow } from './engine';
import { sweepOverdueOperations, type SweepReport } from './deadline-sweeper';
import { OutboxRelay } from './outbox-relay';

export const WORKFLOWS = Symbol('WORKFLOWS');

/** Consumes the operations queue with `engine` (and runs the scheduled deadline sweep); shared
 *  by the service and the tests. */
export function operationsWorker(
  connection: Redis,
  engine: WorkflowEngine,
  concurrency: number,
  sweep?: () => Promise<SweepReport>,
  locks: { lockMs?: number; stalledCheckMs?: number; maxStalls?: number } = {},
): Worker {
  return new Worker(
    QueueName.operations,
    async (job: Job) => {
      if (job.name === 'sweep' && sweep) return sweep();
      const parsed = jobRegistry.operations.run.safeParse(job.data);
      if (job.name !== 'run' || !parsed.success)
        throw new UnrecoverableError(`invalid operations job ${job.name}#${job.id}`);
      return engine.run(parsed.data.operationId, {
        attemptsMade: job.attemptsMade,
        maxAttempts: job.opts.attempts ?? 1,
      });
    },
    {
      connection,
      prefix: QUEUE_PREFIX,
      concurrency,
      ...(locks.lockMs ? { lockDuration: locks.lockMs } : {}),
      ...(locks.stalledCheckMs ? { stalledInterval: locks.stalledCheckMs } : {}),
      ...(locks.maxStalls ? { maxStalledCount: locks.maxStalls } : {}),
    },
  );
}

@Injectable()
export class OperationsService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(OperationsService.name);
  private readonly db: Db;
  private readonly connection: Redis;
  private readonly relay: OutboxRelay;
  private worker?: Worker;
  private queue?: Queue;
  private readonly engine: WorkflowEngine;
  private readonly kinds: string[];

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    @Inject(WORKFLOWS) workflows: Workflow<unknown>[],
  ) {
    this.db = createDb(config.DATABASE_URL, { max: config.WORKER_CONCURRENCY + 2 });
    this.connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
    const byKind = new Map(workflows.map((w) => [w.kind, w]));
    this.engine = new WorkflowEngine(this.db, byKind);
    this.kinds = [...byKind.keys()];
    this.relay = new OutboxRelay(this.db, {
      redisUrl: config.REDIS_URL,
      kinds: this.kinds,
      pollMs: config.OUTBOX_POLL_MS,
      attempts: config.OPERATION_ATTEMPTS,
      backoffMs: config.OPERATION_BACKOFF_MS,
    });
  }

  async onApplicationBootstrap(): Promise<void> {
    const queue = new Queue(QueueName.operations, {
      connection: this.connection,
      prefix: QUEUE_PREFIX,
    });
    this.queue = queue;
    await queue.upsertJobScheduler(
      'operations-sweep',
      { every: this.config.OPERATION_SWEEP_MS },
      { name: 'sweep', data: {}, opts: { removeOnComplete: 50, removeOnFail: 50 } },
    );
    this.worker = operationsWorker(
      this.connection,
      this.engine,
      this.config.WORKER_CONCURRENCY,
      () => sweepOverdueOperations({ db: this.db, queue, engine: this.engine, kinds: this.kinds }),
      {
        lockMs: this.config.WORKER_LOCK_MS,
        stalledCheckMs: this.config.WORKER_STALLED_CHECK_MS,
        maxStalls: this.config.OPERATION_MAX_STALLS,
      },
    );
    this.worker.on('failed', (job, err) =>
      this.logger.warn(`operation ${job?.id} attempt ${job?.attemptsMade} failed: ${err.message}`),
    );
    await this.worker.waitUntilReady();
    this.relay.start();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.relay.stop();
    await this.worker?.close();
    await this.queue?.close();
    this.connection.disconnect();
    await this.db.$client.end();
  }
}
