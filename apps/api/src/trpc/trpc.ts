/**
 * tRPC building blocks. Every procedure declares who may call it, in its meta: `publicProcedure`
 * (anyone, on purpose), `authedProcedure` (any verified principal) or `platformProcedure(p)`
 * (operators holding platform permission p from the policy table). A test walks the router and
 * fails on a procedure that declares nothing. AppErrors thrown below are translated here, through
 * the one error table.
 */
import { initTRPC, TRPCError } from '@trpc/server';
import type { OpenApiMeta } from 'trpc-to-openapi';
import { ZodError } from 'zod';
import { isPlatformPermission, roleAllows, type Permission, type TenantRole } from '@palisade/auth';
import { apiClientAccessOf, membershipsOf, type Db, type MembershipView } from '@palisade/db';
import {
  AppError,
  ErrorCode,
  isAppError,
  PLATFORM_ADMIN_ROLE,
  type Principal,
} from '@palisade/contracts';
import { errorBody, mappingFor } from '../errors/error-map';
import type { TrpcContext } from './context';

function withoutStack<T extends { stack?: unknown }>(data: T): Omit<T, 'stack'> {
  const { stack: _stack, ...rest } = data;
  return rest;
}

export type Access =
  { kind: 'public' } | { kind: 'authenticated' } | { kind: 'permission'; permission: Permission };

/** Who may call (checked by the test that walks the router) and, optionally, its REST route. */
// `access` is optional for the type only (so `.meta({ openapi })` can add to it); router.spec.ts
// fails on any procedure that ends up without one.
export type ProcedureMeta = OpenApiMeta<{ access?: Access }>;

const t = initTRPC
  .context<TrpcContext>()
  .meta<ProcedureMeta>()
  .create({
    errorFormatter({ shape, error, ctx }) {
      const cause = error.cause;
      if (cause instanceof ZodError) {
        const fields = cause.issues.map((i) => ({ path: i.path.join('.'), message: i.message }));
        return {
          ...shape,
          message: fields.map((f) => `${f.path || 'input'}: ${f.message}`).join('; '),
          data: {
            ...withoutStack(shape.data),
            code: ErrorCode.VALIDATION_FAILED,
            fields,
            requestId: ctx?.requestId,
          },
        };
      }
      if (isAppError(cause)) {
        const body = errorBody(cause, ctx?.requestId);
        return { ...shape, message: body.message, data: { ...withoutStack(shape.data), ...body } };
      }
      // Never leak internals of unexpected errors to the caller.
      if (error.code === 'INTERNAL_SERVER_ERROR') {
        return {
          ...shape,
          message: 'Internal error.',
          data: {
            ...withoutStack(shape.data),
            code: ErrorCode.INTERNAL,
            requestId: ctx?.requestId,
          },
        };
      }
      return { ...shape, data: { ...withoutStack(shape.data), requestId: ctx?.requestId } };
    },
  });

export function toTrpcError(error: AppError): TRPCError {
  return new TRPCError({ code: mappingFor(error).trpc, message: error.message, cause: error });
}

/** Translates AppErrors from anywhere below into the matching tRPC code (and so HTTP status). */
const translateErrors = t.middleware(async ({ next }) => {
  const result = await next();
  if (
    !result.ok &&
    isAppError(result.error.cause) &&
    result.error.code === 'INTERNAL_SERVER_ERROR'
  ) {
    throw toTrpcError(result.error.cause);
  }
  return result;
});

export const router = t.router;
export const createCallerFactory = t.createCallerFactory;

const base = t.procedure.use(translateErrors);

/** A procedure anyone may call, without a token. Mark it so on purpose. */
export const publicProcedure = base.meta({ access: { kind: 'public' } });

const requirePrincipal = base.use(({ ctx, next }) => {
  if (ctx.authError) throw toTrpcError(ctx.authError);
  if (!ctx.principal) {
    throw toTrpcError(new AppError(ErrorCode.AUTH_MISSING_TOKEN, 'no bearer token on the request'));
  }
  return next({ ctx: { ...ctx, principal: ctx.principal } });
});

/** Any caller with a valid token, whoever they are (for example `me`). */
export const authedProcedure = requirePrincipal.meta({ access: { kind: 'authenticated' } });

/** Operators only: the realm role `platform-admin`, holding `permission` in the policy table. */
export function platformProcedure(permission: Permission) {
  if (!isPlatformPermission(permission)) {
    throw new Error(`platformProcedure(${permission}): not a platform permission`);
  }
  return requirePrincipal
    .meta({ access: { kind: 'permission', permission } })
    .use(({ ctx, next }) => {
      if (
        !ctx.principal.roles.includes(PLATFORM_ADMIN_ROLE) ||
        !roleAllows('platform-admin', permission)
      ) {
        throw toTrpcError(
          new AppError(ErrorCode.AUTH_FORBIDDEN, `${ctx.principal.subject} lacks ${permission}`, {
            userMessage: `This needs the operator permission ${permission}.`,
          }),
        );
      }
      return next();
    });
}

export interface TenantScope {
  id: string;
  slug: string;
  role: TenantRole;
}

/**
 * The tenants a caller may act in, read on every request so that a removed member, a revoked API
 * client or a suspended tenant is refused at once, with a token that is still valid. A user's come
 * from memberships; an API client's single tenant from its row, which must be active and name the
 * same tenant as the token's `palisade_tenant` claim.
 */
export async function tenantsOf(db: Db, principal: Principal): Promise<MembershipView[]> {
  if (principal.kind !== 'service') return membershipsOf(db, principal.subject);
  const client =
    principal.clientId === undefined ? undefined : await apiClientAccessOf(db, principal.clientId);
  // Another service account of the realm, or a claim that does not match the row: no tenant.
  if (!client || client.tenantId !== principal.tenant) return [];
  if (client.clientStatus !== 'active')
    throw toTrpcError(
      new AppError(ErrorCode.AUTH_CLIENT_REVOKED, `API client ${principal.clientId} is revoked`),
    );
  return [client];
}

/**
 * Tenant members (users or API clients) holding `permission` in the active tenant. The active
 * tenant is the X-Palisade-Tenant header (a tenant id or slug), or the caller's only tenant. A
 * tenant the caller is not a member of is answered as not found, never as forbidden.
 */
export function tenantProcedure(permission: Permission) {
  if (isPlatformPermission(permission)) {
    throw new Error(`tenantProcedure(${permission}): a platform permission`);
  }
  return requirePrincipal
    .meta({ access: { kind: 'permission', permission } })
    .use(async ({ ctx, next }) => {
      const mine = await tenantsOf(ctx.db, ctx.principal);
      const wanted = ctx.tenantHeader?.trim();
      const membership = wanted
        ? mine.find((m) => m.tenantId === wanted || m.tenantSlug === wanted)
        : mine.length === 1
          ? mine[0]
          : undefined;
      if (!membership) {
        if (wanted)
          throw toTrpcError(
            new AppError(
              ErrorCode.NOT_FOUND,
              `no membership of ${ctx.principal.subject} in ${wanted}`,
              { userMessage: 'Tenant not found.' },
            ),
          );
        if (mine.length === 0) {
          throw toTrpcError(
            new AppError(ErrorCode.AUTH_FORBIDDEN, `${ctx.principal.subject} is in no tenant`, {
              userMessage: 'You are not a member of any tenant.',
            }),
          );
        }
        throw toTrpcError(
          new AppError(
            ErrorCode.TENANT_REQUIRED,
            `${mine.length} memberships, no X-Palisade-Tenant`,
            { details: { tenants: mine.map((m) => m.tenantSlug) } },
          ),
        );
      }
      if (membership.tenantStatus !== 'active') {
        throw toTrpcError(
          new AppError(
            ErrorCode.TENANT_SUSPENDED,
            `tenant ${membership.tenantSlug} is ${membership.tenantStatus}`,
          ),
        );
      }
      if (!roleAllows(membership.role, permission)) {
        throw toTrpcError(
          new AppError(ErrorCode.AUTH_FORBIDDEN, `${membership.role} lacks ${permission}`, {
            userMessage: `Your role in ${membership.tenantSlug} (${membership.role}) does not allow ${permission}.`,
          }),
        );
      }
      const tenant: TenantScope = {
        id: membership.tenantId,
        slug: membership.tenantSlug,
        role: membership.role,
      };
      return next({ ctx: { ...ctx, tenant } });
    });
}
