import { type ArgumentsHost, Catch, type ExceptionFilter, HttpException } from '@nestjs/common';
import type { Request, Response } from 'express';
import { AppError, ErrorCode } from '@palisade/contracts';
import { errorBody, mappingFor } from './error-map';

/**
 * The REST edge: every error leaves as `{ code, message, requestId }`. Unknown errors are logged
 * with their cause and answered with a generic 500, never with internals.
 */
@Catch()
export class AppExceptionFilter implements ExceptionFilter {
  catch(exception: unknown, host: ArgumentsHost): void {
    const http = host.switchToHttp();
    const req = http.getRequest<Request>();
    const res = http.getResponse<Response>();
    const requestId = String(req.id ?? '');
    if (exception instanceof AppError) {
      res.status(mappingFor(exception).http).json(errorBody(exception, requestId));
      return;
    }
    // body-parser refuses a body before any route runs (too large, not JSON): the client's fault.
    const parser = bodyParserError(exception);
    if (parser) {
      const error = new AppError(
        parser.status === 413 ? ErrorCode.PAYLOAD_TOO_LARGE : ErrorCode.VALIDATION_FAILED,
        parser.message,
        {
          userMessage: parser.status === 413 ? undefined : `body: ${parser.message}`,
          cause: exception,
        },
      );
      res.status(mappingFor(error).http).json(errorBody(error, requestId));
      return;
    }
    if (exception instanceof HttpException) {
      const status = exception.getStatus();
      const code =
        status === 404
          ? ErrorCode.NOT_FOUND
          : status < 500
            ? ErrorCode.VALIDATION_FAILED
            : ErrorCode.INTERNAL;
      res.status(status).json({ code, message: exception.message, requestId });
      return;
    }
    req.log?.error({ err: exception }, 'unhandled error');
    res.status(500).json({ code: ErrorCode.INTERNAL, message: 'Internal error.', requestId });
  }
}

function bodyParserError(e: unknown): { status: number; message: string } | null {
  const err = e as { status?: unknown; type?: unknown; expose?: unknown; message?: unknown };
  if (
    typeof err?.status === 'number' &&
    err.status >= 400 &&
    err.status < 500 &&
    typeof err.type === 'string' &&
    err.expose === true
  ) {
    return { status: err.status, message: String(err.message) };
  }
  return null;
}
