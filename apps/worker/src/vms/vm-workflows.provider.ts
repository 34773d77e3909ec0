/** The WORKFLOWS provider: every workflow when the worker can reach agents (PKI_DIR and
 *  VOLUME_MASTER_KEY set), none otherwise (their operations then wait as `pending`). */
import type { FactoryProvider } from '@nestjs/common';
import { Logger } from '@nestjs/common';
import { createDb } from '@palisade/db';
import { WORKER_CONFIG, type WorkerConfig } from '../config';
import type { Workflow } from '../operations/engine';
import { WORKFLOWS } from '../operations/operations.service';
import { controlPlaneClientTls } from './agent-client';
import { allWorkflows } from '../workflows';

export const vmWorkflowsProvider: FactoryProvider<Workflow<unknown>[]> = {
  provide: WORKFLOWS,
  inject: [WORKER_CONFIG],
  async useFactory(c: WorkerConfig) {
    if (!c.PKI_DIR || !c.VOLUME_MASTER_KEY) {
      new Logger('workflows').warn('PKI_DIR or VOLUME_MASTER_KEY unset: VM workflows are off');
      return [];
    }
    return allWorkflows({
      db: createDb(c.DATABASE_URL, { max: 2 }),
      tls: await controlPlaneClientTls(c.PKI_DIR),
      masterKey: Buffer.from(c.VOLUME_MASTER_KEY, 'base64'),
    });
  },
};
