import { describe, expect, it } from 'vitest';
import { AppError, ErrorCode, type Principal } from '@palisade/contracts';
import type { Db } from '@palisade/db';
import type { IdentityAdmin } from '../identity/identity-admin';
import type { TrpcContext } from './context';
import {
  authedProcedure,
  createCallerFactory,
  platformProcedure,
  publicProcedure,
  router,
} from './trpc';

const testRouter = router({
  open: publicProcedure.query(() => 'open'),
  mine: authedProcedure.query(({ ctx }) => ctx.principal.subject),
  hosts: platformProcedure('platform.host.read').query(() => 'hosts'),
});
const caller = createCallerFactory(testRouter);

const principal = (roles: string[]): Principal => ({
  subject: `s-${roles.join('+') || 'none'}`,
  kind: 'user',
  roles,
});
const ctx = (p: Principal | null, authError: AppError | null = null): TrpcContext => ({
  requestId: 'r1',
  sourceIp: '127.0.0.1',
  principal: p,
  authError,
  tenantHeader: undefined,
  idempotencyKey: undefined,
  waitQuery: false,
  response: {},
  // These procedures never reach the database or the CA.
  db: {} as Db,
  identity: {} as IdentityAdmin,
  pki: {} as TrpcContext['pki'],
});

describe('procedure access', () => {
  it('public procedures answer anyone, even with a bad token', async () => {
    expect(await caller(ctx(null, new AppError(ErrorCode.AUTH_TOKEN_EXPIRED, 'x'))).open()).toBe(
      'open',
    );
  });

  it('authenticated procedures need a principal and report the token problem precisely', async () => {
    await expect(caller(ctx(null)).mine()).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: ErrorCode.AUTH_MISSING_TOKEN },
    });
    await expect(
      caller(ctx(null, new AppError(ErrorCode.AUTH_TOKEN_EXPIRED, 'x'))).mine(),
    ).rejects.toMatchObject({
      code: 'UNAUTHORIZED',
      cause: { code: ErrorCode.AUTH_TOKEN_EXPIRED },
    });
    expect(await caller(ctx(principal([]))).mine()).toBe('s-none');
  });

  it('platform procedures admit operators and refuse tenant users with 403', async () => {
    expect(await caller(ctx(principal(['platform-admin']))).hosts()).toBe('hosts');
    await expect(caller(ctx(principal(['offline_access']))).hosts()).rejects.toMatchObject({
      code: 'FORBIDDEN',
      cause: { code: ErrorCode.AUTH_FORBIDDEN },
    });
  });

  it('refuses to build a platform procedure from a tenant permission', () => {
    expect(() => platformProcedure('vm.read')).toThrow(/not a platform permission/);
  });
});
