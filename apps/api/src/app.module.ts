import { type DynamicModule, Module } from '@nestjs/common';
import { APP_FILTER } from '@nestjs/core';
import { LoggerModule } from 'nestjs-pino';
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { AgentGatewayService } from './agent-gateway/gateway.service';
import { AuthService } from './auth/auth.service';
import { DatabaseService } from './database/database.service';
import { API_CONFIG, type ApiConfig } from './config';
import { AppExceptionFilter } from './errors/app-exception.filter';
import { HealthController } from './health/health.controller';
import { identityAdminProvider } from './identity/identity.provider';
import { PkiService } from './pki/pki.service';
import { ReadinessService } from './health/readiness.service';
import { RestController } from './openapi/rest.controller';
import { ContextService } from './trpc/context.service';
import { TrpcController } from './trpc/trpc.controller';

const REQUEST_ID = /^[A-Za-z0-9._-]{8,128}$/;

/** Honour a well-formed incoming X-Request-Id (from a proxy or client), else make one. */
function requestId(req: IncomingMessage, res: ServerResponse): string {
  const incoming = req.headers['x-request-id'];
  const id = typeof incoming === 'string' && REQUEST_ID.test(incoming) ? incoming : randomUUID();
  res.setHeader('x-request-id', id);
  return id;
}

@Module({})
export class AppModule {
  static forRoot(config: ApiConfig): DynamicModule {
    return {
      module: AppModule,
      imports: [
        LoggerModule.forRoot({
          pinoHttp: {
            level: config.LOG_LEVEL,
            transport:
              config.LOG_FORMAT === 'pretty'
                ? { target: 'pino-pretty', options: { singleLine: true, ignore: 'pid,hostname' } }
                : undefined,
            genReqId: requestId,
            redact: [
              'req.headers.authorization',
              'req.headers.cookie',
              'res.headers["set-cookie"]',
            ],
            customLogLevel: (_req, res, err) =>
              err || res.statusCode >= 500 ? 'error' : res.statusCode >= 400 ? 'warn' : 'info',
            autoLogging: { ignore: (req) => req.url === '/healthz' },
          },
        }),
      ],
      controllers: [HealthController, TrpcController, RestController],
      providers: [
        { provide: API_CONFIG, useValue: config },
        { provide: APP_FILTER, useClass: AppExceptionFilter },
        AuthService,
        DatabaseService,
        ContextService,
        ReadinessService,
        identityAdminProvider,
        PkiService,
        AgentGatewayService,
      ],
    };
  }
}
