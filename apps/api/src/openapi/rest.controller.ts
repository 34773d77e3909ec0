import { All, Controller, Get, Header, Req, Res } from '@nestjs/common';
import type { Request, Response } from 'express';
import { createOpenApiNodeHttpHandler } from 'trpc-to-openapi';
import type { TrpcContext } from '../trpc/context';
import { ContextService } from '../trpc/context.service';
import { appRouter } from '../trpc/router';
import { buildOpenApiDocument, REST_BASE } from './openapi';

/**
 * REST at /v1, generated from the same procedures as tRPC (same validation, same permissions, same
 * errors), the OpenAPI 3.1 document at /openapi.json, and human docs at /docs.
 */
@Controller()
export class RestController {
  private readonly handler;
  private readonly document = buildOpenApiDocument();

  constructor(private readonly context: ContextService) {
    this.handler = createOpenApiNodeHttpHandler({
      router: appRouter,
      createContext: ({ req }: { req: Request }) => this.context.create(req),
      // Accepted changes answer 202 (their operation still runs); everything else keeps 200.
      responseMeta: ({ ctx, errors }: { ctx?: TrpcContext; errors: unknown[] }) =>
        errors.length === 0 && ctx?.response.status ? { status: ctx.response.status } : {},
      onError: ({ error, req }: { error: { code: string; cause?: unknown }; req: Request }) => {
        if (error.code === 'INTERNAL_SERVER_ERROR')
          req.log.error({ err: error.cause ?? error }, 'rest procedure failed');
      },
    } as never);
  }

  @Get('openapi.json')
  openapi() {
    return this.document;
  }

  @Get('docs')
  @Header('content-type', 'text/html; charset=utf-8')
  docs(): string {
    return DOCS_HTML;
  }

  @All(`${REST_BASE.slice(1)}/*path`)
  async rest(@Req() req: Request, @Res() res: Response): Promise<void> {
    // The handler resolves paths relative to the REST base.
    req.url = req.originalUrl.slice(REST_BASE.length) || '/';
    await this.handler(req, res);
  }
}

const DOCS_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8" />
  <title>Palisade API</title>
  <link rel="stylesheet" href="/docs/assets/swagger-ui.css" />
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/docs/assets/swagger-ui-bundle.js"></script>
  <script>
    window.ui = SwaggerUIBundle({ url: '/openapi.json', dom_id: '#swagger-ui', persistAuthorization: true });
  </script>
</body>
</html>`;
