/**
 * Runs the host monitor on a BullMQ job scheduler (every HOST_MONITOR_EVERY_MS), so that with
 * several workers one pass runs at a time, on whichever worker takes the job.
 */
import {
  Inject,
  Injectable,
  Logger,
  type OnApplicationBootstrap,
  type OnApplicationShutdown,
} from '@nestjs/common';
import { Queue, UnrecoverableError, Worker } from 'bullmq';
import { Redis } from 'ioredis';
import { jobRegistry, QUEUE_PREFIX, QueueName } from '@palisade/contracts';
import { createDb, type Db } from '@palisade/db';
import { WORKER_CONFIG, type WorkerConfig } from '../config';
import { monitorHosts } from './host-monitor';

@Injectable()
export class HostMonitorService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(HostMonitorService.name);
  private readonly db: Db;
  private readonly connection: Redis;
  private queue?: Queue;
  private worker?: Worker;

  constructor(@Inject(WORKER_CONFIG) private readonly config: WorkerConfig) {
    this.db = createDb(config.DATABASE_URL, { max: 2 });
    this.connection = new Redis(config.REDIS_URL, { maxRetriesPerRequest: null });
  }

  async onApplicationBootstrap(): Promise<void> {
    this.queue = new Queue(QueueName.hosts, { connection: this.connection, prefix: QUEUE_PREFIX });
    await this.queue.upsertJobScheduler(
      'hosts-monitor',
      { every: this.config.HOST_MONITOR_EVERY_MS },
      { name: 'monitor', data: {}, opts: { removeOnComplete: 20, removeOnFail: 50 } },
    );
    this.worker = new Worker(
      QueueName.hosts,
      async (job) => {
        if (job.name !== 'monitor' || !jobRegistry.hosts.monitor.safeParse(job.data).success)
          throw new UnrecoverableError(`invalid hosts job ${job.name}#${job.id}`);
        return monitorHosts(this.db, this.config.HOST_HEARTBEAT_TIMEOUT_MS);
      },
      { connection: this.connection, prefix: QUEUE_PREFIX, concurrency: 1 },
    );
    this.worker.on('failed', (job, err) =>
      this.logger.warn(`host monitor ${job?.id} failed: ${err.message}`),
    );
    await this.worker.waitUntilReady();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    await this.queue?.close();
    this.connection.disconnect();
    await this.db.$client.end();
  }
}
