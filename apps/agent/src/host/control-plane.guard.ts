import {
  type CanActivate,
  type ExecutionContext,
  ForbiddenException,
  Injectable,
} from '@nestjs/common';
import type { Request } from 'express';
import type { TLSSocket } from 'node:tls';
import { CERT_OU } from '@palisade/contracts';

/**
 * TLS already refused anyone without a Palisade certificate. Hosts hold Palisade certificates too,
 * so this guard also refuses every certificate but the control plane's: one host must never drive
 * another. Over plain HTTP (no TLS at all) nothing passes.
 */
@Injectable()
export class ControlPlaneOnlyGuard implements CanActivate {
  canActivate(context: ExecutionContext): boolean {
    const socket = context.switchToHttp().getRequest<Request>().socket as Partial<TLSSocket>;
    const peer = socket.encrypted && socket.authorized ? socket.getPeerCertificate?.() : undefined;
    if (peer?.subject?.OU !== CERT_OU.controlPlane) {
      throw new ForbiddenException('only the Palisade control plane may call this agent');
    }
    return true;
  }
}
