import 'reflect-metadata';
import { type INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import type { NestExpressApplication } from '@nestjs/platform-express';
import { getAbsoluteFSPath } from 'swagger-ui-dist';
import { Logger } from 'nestjs-pino';
import { AppModule } from './app.module';
import type { ApiConfig } from './config';

/** Builds the API application without listening, for main.ts and for integration tests. */
export async function createApiApp(config: ApiConfig): Promise<INestApplication> {
  const app = await NestFactory.create<NestExpressApplication>(AppModule.forRoot(config), {
    bufferLogs: true,
  });
  app.useLogger(app.get(Logger));
  app.enableCors({
    origin: config.CORS_ORIGINS,
    allowedHeaders: [
      'authorization',
      'content-type',
      'x-request-id',
      'idempotency-key',
      'x-palisade-tenant',
    ],
    exposedHeaders: ['x-request-id'],
    maxAge: 600,
  });
  // Swagger UI's static files for /docs, from the swagger-ui-dist package (no CDN).
  app.useStaticAssets(getAbsoluteFSPath(), { prefix: '/docs/assets/', index: false });
  app.enableShutdownHooks();
  return app;
}
