/**
 * The API under test against the real test stack: a Nest app on a random loopback port, a
 * direct database handle for fixtures and after-the-fact checks, real Keycloak tokens for the
 * demo users, and a tRPC caller that returns status, data and error code without throwing.
 */
import 'reflect-metadata';
import type { INestApplication } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { addMembership, createDb, schema, withPlatform, type Db } from '@palisade/db';
import { devRealmClientSecret, loadStack, loginWithPassword } from '@palisade/testkit';
import { createApiApp } from '../app';
import { apiConfigSchema } from '../config';

export type DemoUser = 'alice' | 'bob' | 'olivia';
export type TenantRole = 'owner' | 'admin' | 'member' | 'viewer';

export interface CallResult {
  status: number;
  data: never;
  code: string | undefined;
  message: string | undefined;
}

export interface TestApi {
  base: string;
  app: INestApplication;
  db: Db;
  stack: ReturnType<typeof loadStack>;
  token: Record<DemoUser, string>;
  sub: Record<DemoUser, string>;
  /** A tRPC call as `user`; a query unless `mutation` is set. */
  call(
    user: DemoUser | { bearer: string },
    proc: string,
    opts?: {
      tenant?: string;
      input?: unknown;
      mutation?: boolean;
      headers?: Record<string, string>;
    },
  ): Promise<CallResult>;
  /** A REST call under /v1 as `user`; `code` and `message` come from the error body. */
  rest(
    user: DemoUser,
    method: string,
    path: string,
    opts?: { tenant?: string; body?: unknown; headers?: Record<string, string> },
  ): Promise<CallResult>;
  /** Fresh tenants with a random slug suffix, so runs never collide. */
  tenants(...names: string[]): Promise<{ id: string; slug: string }[]>;
  member(user: DemoUser, tenantId: string, role: TenantRole): Promise<void>;
  close(): Promise<void>;
}

/** `env` adds or overrides API config variables, e.g. PKI_DIR for host enrolment. */
export async function startTestApi(env: Record<string, string> = {}): Promise<TestApi> {
  const stack = loadStack('test');
  const config = apiConfigSchema.parse({
    DATABASE_URL: stack.postgres.appUrl,
    REDIS_URL: stack.redis.url,
    KEYCLOAK_ISSUER: stack.keycloak.issuer,
    KEYCLOAK_ADMIN_CLIENT_SECRET: devRealmClientSecret('palisade-identity-admin'),
    LOG_LEVEL: 'silent',
    ...env,
  });
  const app: INestApplication = await createApiApp(config);
  await app.listen(0, '127.0.0.1');
  const base = await app.getUrl();
  const db = createDb(stack.postgres.appUrl, { max: 2 });
  const token = {} as Record<DemoUser, string>;
  const sub = {} as Record<DemoUser, string>;
  for (const user of ['alice', 'bob', 'olivia'] as const) {
    const t = await loginWithPassword({
      keycloakUrl: stack.keycloak.url,
      realm: stack.keycloak.realm,
      clientId: 'palisade-portal',
      redirectUri: 'http://localhost:15173/',
      username: user,
      password: `${user}-dev-password`,
    });
    token[user] = t.accessToken;
    sub[user] = String(decodeJwt(t.accessToken).sub);
  }

  return {
    base,
    app,
    db,
    stack,
    token,
    sub,
    async call(user, proc, opts = {}) {
      const bearer = typeof user === 'string' ? token[user] : user.bearer;
      const headers: Record<string, string> = {
        authorization: `Bearer ${bearer}`,
        ...opts.headers,
      };
      if (opts.tenant) headers['x-palisade-tenant'] = opts.tenant;
      const res = opts.mutation
        ? await fetch(`${base}/trpc/${proc}`, {
            method: 'POST',
            headers: { ...headers, 'content-type': 'application/json' },
            body: JSON.stringify(opts.input ?? {}),
          })
        : await fetch(
            `${base}/trpc/${proc}${opts.input === undefined ? '' : `?input=${encodeURIComponent(JSON.stringify(opts.input))}`}`,
            { headers },
          );
      const body = (await res.json()) as {
        result?: { data: unknown };
        error?: { message: string; data: { code: string } };
      };
      return {
        status: res.status,
        data: body.result?.data as never,
        code: body.error?.data.code,
        message: body.error?.message,
      };
    },
    async rest(user, method, path, opts = {}) {
      const headers: Record<string, string> = {
        authorization: `Bearer ${token[user]}`,
        ...opts.headers,
      };
      if (opts.tenant) headers['x-palisade-tenant'] = opts.tenant;
      if (opts.body !== undefined) headers['content-type'] = 'application/json';
      const res = await fetch(`${base}/v1${path}`, {
        method,
        headers,
        body: opts.body === undefined ? undefined : JSON.stringify(opts.body),
      });
      const body = (await res.json()) as { code?: string; message?: string };
      const error = res.status >= 400 ? (body as { data?: { code?: string } }) : undefined;
      return {
        status: res.status,
        data: body as never,
        code: error?.data?.code,
        message: error ? body.message : undefined,
      };
    },
    async tenants(...names) {
      const suffix = Math.random().toString(36).slice(2, 8);
      return withPlatform(db, 'test fixture: tenants', (tx) =>
        tx
          .insert(schema.tenants)
          .values(names.map((n) => ({ slug: `${n}-${suffix}`, name: n })))
          .returning({ id: schema.tenants.id, slug: schema.tenants.slug }),
      );
    },
    async member(user, tenantId, role) {
      await addMembership(db, { tenantId, subject: sub[user], role }, 'test fixture');
    },
    async close() {
      await app.close();
      await db.$client.end();
    },
  };
}
