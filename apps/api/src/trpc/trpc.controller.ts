import { All, Controller, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { nodeHTTPRequestHandler } from '@trpc/server/adapters/node-http';
import { ContextService } from './context.service';
import { appRouter } from './router';

/**
 * Serves tRPC at /trpc. It is a Nest route (not raw middleware) so that it runs after the request
 * logger has assigned the request ID, and inside Nest's lifecycle.
 */
@Controller('trpc')
export class TrpcController {
  constructor(private readonly context: ContextService) {}

  @All('*path')
  async handle(@Req() req: Request, @Res() res: Response): Promise<void> {
    const path = new URL(req.originalUrl, 'http://localhost').pathname.replace(/^\/trpc\/?/, '');
    await nodeHTTPRequestHandler({
      req,
      res,
      path: decodeURIComponent(path),
      router: appRouter,
      createContext: () => this.context.create(req),
      onError: ({ error }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR')
          req.log.error({ err: error.cause ?? error }, 'trpc procedure failed');
      },
    });
  }
}
