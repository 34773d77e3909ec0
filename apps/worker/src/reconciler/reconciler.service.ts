/**
 * Runs the reconciler on a BullMQ job scheduler (every RECONCILE_EVERY_MS), so that with several
 * workers one pass runs at a time, on whichever worker takes the job. Off without PKI_DIR (the
 * pass must call agents, and the worker's control-plane certificate comes from that CA), without
 * VOLUME_MASTER_KEY (then no worker runs the restarts it would accept), or with
 * RECONCILE_EVERY_MS=0.
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
import { controlPlaneClientTls } from '../vms/agent-client';
import { reconcile } from './reconcile';

@Injectable()
export class ReconcilerService implements OnApplicationBootstrap, OnApplicationShutdown {
  private readonly logger = new Logger(ReconcilerService.name);
  private db?: Db;
  private connection?: Redis;
  private queue?: Queue;
  private worker?: Worker;

  constructor(@Inject(WORKER_CONFIG) private readonly config: WorkerConfig) {}

  async onApplicationBootstrap(): Promise<void> {
    const c = this.config;
    // Without VOLUME_MASTER_KEY no worker runs vm.restart (vm-workflows.provider.ts): a restart
    // the pass accepted would stay pending and hold the VM, so the pass does not run either.
    const off = !c.PKI_DIR
      ? 'PKI_DIR unset'
      : !c.VOLUME_MASTER_KEY
        ? 'VOLUME_MASTER_KEY unset'
        : c.RECONCILE_EVERY_MS === 0
          ? 'RECONCILE_EVERY_MS is 0'
          : null;
    if (off) {
      this.logger.warn(`${off}: the reconciler is off`);
      return;
    }
    const tls = await controlPlaneClientTls(c.PKI_DIR!);
    this.db = createDb(c.DATABASE_URL, { max: 2 });
    this.connection = new Redis(c.REDIS_URL, { maxRetriesPerRequest: null });
    this.queue = new Queue(QueueName.reconciler, {
      connection: this.connection,
      prefix: QUEUE_PREFIX,
    });
    await this.queue.upsertJobScheduler(
      'reconciler-run',
      { every: c.RECONCILE_EVERY_MS },
      { name: 'run', data: {}, opts: { removeOnComplete: 20, removeOnFail: 50 } },
    );
    const db = this.db;
    this.worker = new Worker(
      QueueName.reconciler,
      async (job) => {
        if (job.name !== 'run' || !jobRegistry.reconciler.run.safeParse(job.data).success)
          throw new UnrecoverableError(`invalid reconciler job ${job.name}#${job.id}`);
        const report = await reconcile({ db, tls, worker: c.WORKER_ID });
        return { reportId: report.id, findings: report.findings };
      },
      // One pass at a time: a second concurrent pass would only repeat the first one's work.
      { connection: this.connection, prefix: QUEUE_PREFIX, concurrency: 1 },
    );
    this.worker.on('failed', (job, err) =>
      this.logger.warn(`reconciler pass ${job?.id} failed: ${err.message}`),
    );
    await this.worker.waitUntilReady();
  }

  async onApplicationShutdown(): Promise<void> {
    await this.worker?.close();
    await this.queue?.close();
    this.connection?.disconnect();
    await this.db?.$client.end();
  }
}
