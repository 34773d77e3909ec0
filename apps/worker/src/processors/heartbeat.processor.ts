import { Inject, Injectable } from '@nestjs/common';
import { heartbeatResultSchema, jobRegistry, type HeartbeatResult } from '@palisade/contracts';
import { WORKER_CONFIG, type WorkerConfig } from '../config';

/**
 * The heartbeat job proves the whole path (scheduler → Redis → a worker) is alive, and measures
 * how late jobs are being picked up: lag is the first symptom of an overloaded worker pool.
 */
@Injectable()
export class HeartbeatProcessor {
  constructor(@Inject(WORKER_CONFIG) private readonly config: WorkerConfig) {}

  process(data: unknown, now: Date = new Date()): HeartbeatResult {
    const payload = jobRegistry.system.heartbeat.parse(data);
    return heartbeatResultSchema.parse({
      workerId: this.config.WORKER_ID,
      requestedAt: payload.requestedAt,
      processedAt: now.toISOString(),
      lagMs: Math.max(0, now.getTime() - Date.parse(payload.requestedAt)),
    });
  }
}
