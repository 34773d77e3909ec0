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
