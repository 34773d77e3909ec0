/**
 * Palisade API entry point: validated config, then the Nest app on the configured address.
 */
import { redactConfig } from '@palisade/contracts';
import { Logger } from 'nestjs-pino';
import { createApiApp } from './app';
import { loadApiConfig } from './config';

async function main(): Promise<void> {
  const config = loadApiConfig();
  const app = await createApiApp(config);
  await app.listen(config.PALISADE_API_PORT, config.PALISADE_API_HOST);
  app
    .get(Logger)
    .log(
      { config: redactConfig(config) },
      `palisade-api listening on http://${config.PALISADE_API_HOST}:${config.PALISADE_API_PORT}`,
    );
}

main().catch((e: unknown) => {
  process.stderr.write(
    `palisade-api: failed to start: ${e instanceof Error ? (e.stack ?? e.message) : String(e)}\n`,
  );
  process.exit(1);
});
