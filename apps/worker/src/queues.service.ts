/**
 * Owns the BullMQ workers of this process. Kept thin on purpose: parse the payload, hand it to a
 * processor, and let BullMQ's retry policy deal with failures. A payload that does not parse is
 * failed as Unrecoverable: retrying cannot make it valid.
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
import { ZodError } from 'zod';
import { QUEUE_PREFIX, QueueName } from '@palisade/contracts';
import { WORKER_CONFIG, type WorkerConfig } from './config';
import { HeartbeatProcessor } from './processors/heartbeat.processor';

@Injectable()
export class QueuesService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(QueuesService.name);
  private readonly connection: Redis;
  private systemQueue?: Queue;
  private systemWorker?: Worker;

  constructor(
    @Inject(WORKER_CONFIG) private readonly config: WorkerConfig,
    private readonly heartbeat: HeartbeatProcessor,
  ) {
    // BullMQ workers block on Redis; they require maxRetriesPerRequest null.
    this.connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.systemQueue = new Queue(QueueName.system, {
      connection: this.connection,
      prefix: QUEUE_PREFIX,
    });
    await this.systemQueue.upsertJobScheduler(
      'heartbeat',
      { every: this.config.HEARTBEAT_EVERY_MS },
      {
        name: 'heartbeat',
        data: { requestedAt: new Date().toISOString() },
        opts: { removeOnComplete: 100, removeOnFail: 100 },
      },
    );
    this.systemWorker = new Worker(QueueName.system, (job) => this.dispatch(job), {
      connection: this.connection,
      prefix: QUEUE_PREFIX,
      concurrency: this.config.WORKER_CONCURRENCY,
    });
    this.systemWorker.on('failed', (job, err) =>
      this.logger.warn(`job ${job?.name}#${job?.id} failed: ${err.message}`),
    );
    await this.systemWorker.waitUntilReady();
    this.logger.log(
      `worker ${this.config.WORKER_ID} consuming queue ${QUEUE_PREFIX}:${QueueName.system}`,
    );
  }

  private async dispatch(job: Job): Promise<unknown> {
    try {
      switch (job.name) {
        case 'heartbeat':
          // A scheduled heartbeat carries the time it was scheduled for, not the time it was created.
          return this.heartbeat.process(
            job.repeatJobKey
              ? { requestedAt: new Date(job.timestamp + (job.delay ?? 0)).toISOString() }
              : job.data,
          );
        default:
          throw new UnrecoverableError(`unknown job ${job.name} on queue ${QueueName.system}`);
      }
    } catch (e) {
      if (e instanceof ZodError)
        throw new UnrecoverableError(`invalid payload for ${job.name}: ${e.message}`);
      throw e;
    }
  }

  async onApplicationShutdown(): Promise<void> {
    await this.systemWorker?.close();
    await this.systemQueue?.close();
    this.connection.disconnect();
  }
}
