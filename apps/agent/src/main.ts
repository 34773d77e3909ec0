/**
 * Palisade host agent entry point. It must never reach the control plane's database: it knows the
 * control plane only through @palisade/contracts.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import { Logger } from 'nestjs-pino';
import { AgentModule } from './agent.module';
import { loadAgentConfig } from './config';

async function main(): Promise<void> {
  const config = loadAgentConfig();
  const app = await NestFactory.create(AgentModule.forRoot(config), { bufferLogs: true });
  app.useLogger(app.get(Logger));
  app.enableShutdownHooks();
  await app.listen(config.AGENT_PORT, config.AGENT_HOST);
  app
    .get(Logger)
    .log(
      `palisade-agent ${config.AGENT_HOSTNAME} listening on ${config.AGENT_HOST}:${config.AGENT_PORT}`,
    );
}

main().catch((e: unknown) => {
  process.stderr.write(
    `palisade-agent: failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
