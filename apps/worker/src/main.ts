/** Palisade worker entry point: a Nest application context (no HTTP) running BullMQ workers. */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { loadWorkerConfig } from './config';
import { armFault } from './operations/fault-injection';
import { WorkerModule } from './worker.module';

async function main(): Promise<void> {
  const config = loadWorkerConfig();
  // Test only: the config refuses it unless NODE_ENV=test.
  if (config.WORKER_FAULT_KILL_AT) armFault(config.WORKER_FAULT_KILL_AT);
  const app = await NestFactory.createApplicationContext(WorkerModule.forRoot(config), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.init();
}

main().catch((e: unknown) => {
  process.stderr.write(
    `palisade-worker: failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
