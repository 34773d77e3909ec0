/**
 * The agent's one edge mapping from errors to HTTP. The control plane's worker reads `code` (a
 * stable ErrorCode) and the status class: 4xx means "retrying cannot help" (the step is refused),
 * 5xx means "the host failed, retry". Hypervisor details (libvirt's text, the failing XML) are
 * logged here, never key material (keys never enter an error).
 */
import {
  type ArgumentsHost,
  Catch,
  type ExceptionFilter,
  HttpException,
  Logger,
} from '@nestjs/common';
import type { Response } from 'express';
import { type AgentErrorBody, ErrorCode, isAppError } from '@palisade/contracts';

const STATUS: Partial<Record<string, number>> = {
  [ErrorCode.VALIDATION_FAILED]: 400,
  [ErrorCode.NOT_FOUND]: 404,
  [ErrorCode.CONFLICT]: 409,
  [ErrorCode.INVALID_STATE]: 409,
  [ErrorCode.AGENT_IMAGE_MISSING]: 409,
  [ErrorCode.AGENT_IMAGE_INVALID]: 409,
  [ErrorCode.AGENT_ISOLATION_UNENFORCEABLE]: 409,
  [ErrorCode.UNAVAILABLE]: 503,
};

@Catch()
export class AgentErrorsFilter implements ExceptionFilter {
  private readonly log = new Logger('agent-errors');

  catch(e: unknown, host: ArgumentsHost): void {
    const res = host.switchToHttp().getResponse<Response>();
    if (e instanceof HttpException) {
      const status = e.getStatus();
      const code =
        status === 403
          ? ErrorCode.AUTH_FORBIDDEN
          : status === 404
            ? ErrorCode.NOT_FOUND
            : status === 413
              ? ErrorCode.PAYLOAD_TOO_LARGE
              : ErrorCode.VALIDATION_FAILED;
      res.status(status).json({ code, message: e.message });
      return;
    }
    if (isAppError(e)) {
      const status = STATUS[e.code] ?? 502;
      if (status >= 500) this.log.error({ err: e, details: e.details }, e.message);
      const { xml: _xml, ...details } = e.details ?? {};
      const body: AgentErrorBody = {
        code: status === 502 ? ErrorCode.AGENT_HOST_FAILED : e.code,
        message: e.userMessage ?? e.message,
        details,
      };
      res.status(status).json(body);
      return;
    }
    this.log.error({ err: e }, 'unexpected error');
    res.status(500).json({ code: ErrorCode.INTERNAL, message: 'internal error' });
  }
}
