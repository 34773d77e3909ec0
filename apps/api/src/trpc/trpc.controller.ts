import { All, Controller, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http';
import { AuthService } from '../auth/auth.service';
import { DatabaseService } from '../database/database.service';
import { appRouter } from './router';
import type { TrpcContext } from './context';

/**
 * Serves tRPC at /trpc. It is a Nest route (not raw middleware) so that it runs after the request
 * logger has assigned the request ID, and inside Nest's lifecycle.
 */
@Controller('trpc')
export class TrpcController {
  constructor(
    private readonly auth: AuthService,
    private readonly database: DatabaseService,
  ) {}

  @All('*path')
  async handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    const path = new URL(req.originalUrl, 'http://localhost').pathname.replace(/^\/trpc\/?/, '');
    await nodeHTTPRequestHandler({
      req,
      res,
      path: decodeURIComponent(path),
      router: appRouter,
      createContext: async (): Promise<TrpcContext> => {
        const { principal, error } = await this.auth.authenticate(req.headers.authorization);
        const tenant = req.headers['x-palisade-tenant'];
        return {
          requestId: String(req.id),
          sourceIp: req.ip,
          principal,
          authError: error,
          tenantHeader: typeof tenant === 'string' ? tenant : undefined,
          db: this.database.db,
        };
      },
      onError: ({ error }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR')
          req.log.error({ err: error.cause ?? error }, 'trpc procedure failed');
      },
    });
  }
}
