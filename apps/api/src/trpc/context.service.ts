import { Inject, Injectable } from '@nestjs/common';
import type { Request } from 'express';
import { AuthService } from '../auth/auth.service';
import { DatabaseService } from '../database/database.service';
import { IDENTITY_ADMIN, type IdentityAdmin } from '../identity/identity-admin';
import { PkiService } from '../pki/pki.service';
import type { TrpcContext } from './context';

/** Builds the per-request context, the same for tRPC (/trpc) and REST (/v1). */
@Injectable()
export class ContextService {
  constructor(
    private readonly auth: AuthService,
    private readonly database: DatabaseService,
    @Inject(IDENTITY_ADMIN) private readonly identity: IdentityAdmin,
    private readonly pki: PkiService,
  ) {}

  async create(req: Request): Promise<TrpcContext> {
    const { principal, error } = await this.auth.authenticate(req.headers.authorization);
    const tenant = req.headers['x-palisade-tenant'];
    const key = req.headers['idempotency-key'];
    const wait = new URL(req.originalUrl ?? req.url, 'http://localhost').searchParams.get('wait');
    return {
      requestId: String(req.id),
      sourceIp: req.ip,
      principal,
      authError: error,
      tenantHeader: typeof tenant === 'string' ? tenant : undefined,
      idempotencyKey: typeof key === 'string' ? key : undefined,
      waitQuery: wait === 'true' || wait === '1',
      response: {},
      db: this.database.db,
      identity: this.identity,
      pki: this.pki,
    };
  }
}
