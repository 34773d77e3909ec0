/**
 * The outbox relay: moves operations the API wrote (state `pending`, not yet enqueued) into the
 * BullMQ `operations` queue, with the operation id as the job id.
 *
 * The API never talks to Redis when it records a change, so a request succeeds while Redis is
 * down; the relay keeps the row until Redis takes the job, then marks it enqueued in the same
 * transaction that claimed it. If the process dies between the add and the commit, the next pass
 * adds the job again and BullMQ ignores it (same job id), so an operation is enqueued once.
 *
 * Its Redis connection fails fast (`enableOfflineQueue: false`) instead of queueing commands
 * while disconnected: a relay stuck in an await would hold its row locks for as long as Redis is
 * away.
 */
import { Logger } from '@nestjs/common';
import { Queue } from 'bullmq';
import { Redis } from 'ioredis';
import { QUEUE_PREFIX, QueueName } from '@palisade/contracts';
import {
  claimUnenqueuedOperations,
  markOperationsEnqueued,
  withPlatform,
  type Db,
} from '@palisade/db';

export interface RelayOptions {
  redisUrl: string;
  /** The operation kinds this deployment's workers can run. Others stay pending, unenqueued,
   *  until a worker that runs them is deployed: nothing is failed for lack of code. */
  kinds: readonly string[];
  pollMs: number;
  attempts: number;
  backoffMs: number;
  batch?: number;
}

export class OutboxRelay {
  private readonly logger = new Logger(OutboxRelay.name);
  private readonly connection: Redis;
  private readonly queue: Queue;
  private timer?: NodeJS.Timeout;
  private running?: Promise<void>;
  private stopped = false;
  private lastError?: string;

  constructor(
    private readonly db: Db,
    private readonly options: RelayOptions,
  ) {
    this.connection = new Redis(options.redisUrl, {
      enableOfflineQueue: false,
      maxRetriesPerRequest: 1,
      // Keep trying to reconnect for as long as Redis is away; the relay just waits.
      retryStrategy: (times) => Math.min(times * 200, 2_000),
    });
    this.connection.on('error', () => undefined); // reported per pass, below
    this.queue = new Queue(QueueName.operations, {
      connection: this.connection,
      prefix: QUEUE_PREFIX,
    });
    this.queue.on('error', () => undefined);
  }

  start(): void {
    const tick = () => {
      if (this.stopped) return;
      this.running = this.pass()
        .then((n) => {
          if (this.lastError) this.logger.log(`outbox relay recovered; enqueued ${n}`);
          this.lastError = undefined;
          return n;
        })
        .catch((e: unknown) => {
          const msg = e instanceof Error ? e.message : String(e);
          if (msg !== this.lastError) this.logger.warn(`outbox relay: ${msg}; will retry`);
          this.lastError = msg;
          return 0;
        })
        .then((n) => {
          // A full batch means more may be waiting: go again at once.
          if (!this.stopped)
            this.timer = setTimeout(tick, n === this.batch ? 0 : this.options.pollMs);
        });
    };
    tick();
  }

  private get batch(): number {
    return this.options.batch ?? 100;
  }

  /** One pass: claim a batch, enqueue it, mark it. Returns how many were enqueued. */
  async pass(): Promise<number> {
    if (this.connection.status !== 'ready') throw new Error(`redis is ${this.connection.status}`);
    return withPlatform(this.db, 'outbox relay: enqueue operations', async (tx) => {
      const rows = await claimUnenqueuedOperations(tx, {
        kinds: this.options.kinds,
        limit: this.batch,
      });
      if (rows.length === 0) return 0;
      await this.queue.addBulk(
        rows.map((r) => ({
          name: 'run',
          data: { operationId: r.id },
          opts: {
            jobId: r.id,
            attempts: this.options.attempts,
            backoff: { type: 'exponential', delay: this.options.backoffMs },
            // Kept long enough that a repeated add after a crash is still deduplicated.
            removeOnComplete: { age: 7 * 24 * 3600 },
            removeOnFail: { age: 30 * 24 * 3600 },
          },
        })),
      );
      await markOperationsEnqueued(
        tx,
        rows.map((r) => r.id),
      );
      return rows.length;
    });
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    await this.running;
    await this.queue.close().catch(() => undefined);
    this.connection.disconnect();
  }
}
