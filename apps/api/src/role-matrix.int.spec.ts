/**
 * The role matrix, walked over the real router: every tenant-scoped procedure, called by a real
 * user holding each tenant role, is refused (403 auth.forbidden) exactly when policy.ts says the
 * role lacks its permission; and every platform procedure refuses a tenant owner and admits an
 * operator. Procedures added later are covered without touching this file.
 *
 * Mutations are sent an input no schema accepts (an array), so an allowed call stops at input
 * validation and changes nothing, while a refused call must be 403 — which also proves that the
 * permission check runs before input validation. Queries are sent no input, so allowed list calls
 * really run.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { isPlatformPermission, roleAllows, TENANT_ROLES, type Permission } from '@palisade/auth';
import { ErrorCode } from '@palisade/contracts';
import { appRouter } from './trpc/router';
import type { ProcedureMeta } from './trpc/trpc';
import { startTestApi, type TestApi } from './testing/harness';

interface Walked {
  path: string;
  permission: Permission;
  mutation: boolean;
}

const walked: Walked[] = Object.entries(
  appRouter._def.procedures as unknown as Record<
    string,
    { _def: { meta?: ProcedureMeta; type: 'query' | 'mutation' | 'subscription' } }
  >,
).flatMap(([path, p]) => {
  const access = p._def.meta?.access;
  return access?.kind === 'permission'
    ? [{ path, permission: access.permission, mutation: p._def.type === 'mutation' }]
    : [];
});
const tenantScoped = walked.filter((p) => !isPlatformPermission(p.permission));
const platformScoped = walked.filter((p) => isPlatformPermission(p.permission));
// An array: the JSON body parser takes it (it refuses bare strings itself, before tRPC), and no
// procedure's input schema does.
const PROBE = ['role-matrix-probe: not a valid input for any procedure'];

describe('role matrix over the router (real Keycloak tokens, real Postgres)', () => {
  let api: TestApi;
  /** The tenant in which alice holds each role. */
  const tenantOf = {} as Record<(typeof TENANT_ROLES)[number], string>;

  const probe = (user: 'alice' | 'olivia', p: Walked, tenant?: string) =>
    api.call(user, p.path, p.mutation ? { tenant, mutation: true, input: PROBE } : { tenant });

  beforeAll(async () => {
    console.log(
      `role matrix: ${tenantScoped.length} tenant-scoped procedures × ${TENANT_ROLES.length} roles, ` +
        `${platformScoped.length} platform procedures`,
    );
    api = await startTestApi();
    const tenants = await api.tenants(...TENANT_ROLES.map((r) => `matrix-${r}`));
    for (const [i, role] of TENANT_ROLES.entries()) {
      tenantOf[role] = tenants[i]!.id;
      await api.member('alice', tenants[i]!.id, role);
    }
  });
  afterAll(() => api?.close());

  it('has procedures of both scopes to walk', () => {
    expect(tenantScoped.length).toBeGreaterThan(0);
    expect(platformScoped.length).toBeGreaterThan(0);
  });

  it.each(tenantScoped.map((p) => [p.path, p] as const))(
    '%s: each tenant role is allowed or refused as policy.ts says',
    async (_path, p) => {
      const outcomes: Record<string, string> = {};
      const expected: Record<string, string> = {};
      for (const role of TENANT_ROLES) {
        const res = await probe('alice', p, tenantOf[role]);
        outcomes[role] =
          res.status === 403
            ? `refused (${res.code})`
            : res.status >= 500
              ? `broken (${res.status})`
              : 'allowed';
        expected[role] = roleAllows(role, p.permission)
          ? 'allowed'
          : `refused (${ErrorCode.AUTH_FORBIDDEN})`;
      }
      expect(outcomes, `${p.path} needs ${p.permission}`).toEqual(expected);
    },
  );

  it.each(platformScoped.map((p) => [p.path, p] as const))(
    '%s: refused to a tenant owner, allowed to an operator',
    async (_path, p) => {
      const owner = await probe('alice', p, tenantOf.owner);
      expect(owner).toMatchObject({ status: 403, code: ErrorCode.AUTH_FORBIDDEN });
      const operator = await probe('olivia', p);
      expect(operator.status, `${p.path}: ${operator.code}`).not.toBe(403);
      expect(operator.status).toBeLessThan(500);
    },
  );
});
