/**
 * Tenant-scoped procedures against the real stack, with real Keycloak tokens: memberships pick
 * the tenant, roles gate writes, another tenant's objects are not found, and every change
 * leaves its audit event. SSH keys are the first tenant resource; later resources follow the
 * same pattern (and should join the BOLA cases here).
 */
import 'reflect-metadata';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { INestApplication } from '@nestjs/common';
import { decodeJwt } from 'jose';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@palisade/contracts';
import { addMembership, createDb, schema, withPlatform, type Db } from '@palisade/db';
import { loadStack, loginWithPassword } from '@palisade/testkit';
import { createApiApp } from './app';
import { apiConfigSchema } from './config';

const stack = loadStack('test');

function newPublicKey(comment: string): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tenancy-key-'));
  execFileSync('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    '',
    '-C',
    comment,
    '-f',
    path.join(dir, 'k'),
  ]);
  return readFileSync(path.join(dir, 'k.pub'), 'utf8').trim();
}

describe('tenant procedures (real Postgres, real Keycloak tokens)', () => {
  let app: INestApplication;
  let base: string;
  let db: Db;
  const token: Record<string, string> = {};
  const sub: Record<string, string> = {};
  let tenantA: { id: string; slug: string };
  let tenantA2: { id: string; slug: string };
  let tenantB: { id: string; slug: string };

  async function call(
    user: string,
    proc: string,
    opts: { tenant?: string; input?: unknown; mutation?: boolean } = {},
  ) {
    const headers: Record<string, string> = { authorization: `Bearer ${token[user]}` };
    if (opts.tenant) headers['x-palisade-tenant'] = opts.tenant;
    const res = opts.mutation
      ? await fetch(`${base}/trpc/${proc}`, {
          method: 'POST',
          headers: { ...headers, 'content-type': 'application/json' },
          body: JSON.stringify(opts.input ?? {}),
        })
      : await fetch(`${base}/trpc/${proc}`, { headers });
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
  }

  beforeAll(async () => {
    const config = apiConfigSchema.parse({
      DATABASE_URL: stack.postgres.appUrl,
      REDIS_URL: stack.redis.url,
      KEYCLOAK_ISSUER: stack.keycloak.issuer,
      LOG_LEVEL: 'silent',
    });
    app = await createApiApp(config);
    await app.listen(0, '127.0.0.1');
    base = await app.getUrl();
    db = createDb(stack.postgres.appUrl, { max: 2 });
    for (const user of ['alice', 'bob', 'olivia']) {
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
    const suffix = Math.random().toString(36).slice(2, 8);
    [tenantA, tenantA2, tenantB] = (await withPlatform(db, 'test fixture: tenants', (tx) =>
      tx
        .insert(schema.tenants)
        .values([
          { slug: `acme-${suffix}`, name: 'Acme' },
          { slug: `acme2-${suffix}`, name: 'Acme two' },
          { slug: `globex-${suffix}`, name: 'Globex' },
        ])
        .returning({ id: schema.tenants.id, slug: schema.tenants.slug }),
    )) as [typeof tenantA, typeof tenantA, typeof tenantA];
    await addMembership(
      db,
      { tenantId: tenantA.id, subject: sub.alice!, role: 'owner' },
      'test fixture',
    );
    await addMembership(
      db,
      { tenantId: tenantA2.id, subject: sub.alice!, role: 'member' },
      'test fixture',
    );
    await addMembership(
      db,
      { tenantId: tenantB.id, subject: sub.bob!, role: 'member' },
      'test fixture',
    );
    await addMembership(
      db,
      { tenantId: tenantA.id, subject: sub.olivia!, role: 'viewer' },
      'test fixture',
    );
  });

  afterAll(async () => {
    await app?.close();
    await db?.$client.end();
  });

  it('a member creates a key in their tenant and sees it listed; the change is audited', async () => {
    const created = await call('alice', 'sshKeys.create', {
      tenant: tenantA.id,
      mutation: true,
      input: { name: 'laptop', publicKey: newPublicKey('alice@laptop') },
    });
    expect(created.status).toBe(200);
    const key = created.data as { id: string; fingerprint: string };
    expect(key.fingerprint).toMatch(/^SHA256:/);
    const listed = await call('alice', 'sshKeys.list', { tenant: tenantA.slug });
    expect((listed.data as { id: string }[]).map((k) => k.id)).toContain(key.id);
    const audit = await withPlatform(db, 'test: read audit', (tx) =>
      tx
        .select()
        .from(schema.auditEvents)
        .where(
          and(
            eq(schema.auditEvents.targetId, key.id),
            eq(schema.auditEvents.action, 'sshkey.create'),
          ),
        ),
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]).toMatchObject({
      tenantId: tenantA.id,
      actorId: sub.alice,
      actorType: 'user',
      outcome: 'success',
    });
  });

  it("tenant B gets 404 for tenant A's key, and the key is still there", async () => {
    const created = await call('alice', 'sshKeys.create', {
      tenant: tenantA.id,
      mutation: true,
      input: { name: 'desk', publicKey: newPublicKey('alice@desk') },
    });
    const id = (created.data as { id: string }).id;
    const bobList = await call('bob', 'sshKeys.list', { tenant: tenantB.id });
    expect((bobList.data as { id: string }[]).map((k) => k.id)).not.toContain(id);
    const del = await call('bob', 'sshKeys.delete', {
      tenant: tenantB.id,
      mutation: true,
      input: { id },
    });
    expect(del).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
    const still = await call('alice', 'sshKeys.list', { tenant: tenantA.id });
    expect((still.data as { id: string }[]).map((k) => k.id)).toContain(id);
  });

  it('a tenant the caller is not a member of is answered as not found, not forbidden', async () => {
    expect(await call('bob', 'sshKeys.list', { tenant: tenantA.id })).toMatchObject({
      status: 404,
      code: ErrorCode.NOT_FOUND,
    });
  });

  it('a viewer may list but not add keys', async () => {
    expect((await call('olivia', 'sshKeys.list', { tenant: tenantA.id })).status).toBe(200);
    const denied = await call('olivia', 'sshKeys.create', {
      tenant: tenantA.id,
      mutation: true,
      input: { name: 'nope', publicKey: newPublicKey('o') },
    });
    expect(denied).toMatchObject({ status: 403, code: ErrorCode.AUTH_FORBIDDEN });
  });

  it('a member of several tenants must say which one', async () => {
    expect(await call('alice', 'sshKeys.list')).toMatchObject({
      status: 400,
      code: ErrorCode.TENANT_REQUIRED,
    });
  });

  it('bad input is a 400 that names the field; a duplicate is a 409 that names it', async () => {
    const bad = await call('alice', 'sshKeys.create', {
      tenant: tenantA.id,
      mutation: true,
      input: { name: 'Bad Name!', publicKey: 'not a key' },
    });
    expect(bad).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
    expect(bad.message).toMatch(/^name: .*publicKey: /);
    const pub = newPublicKey('dup');
    await call('alice', 'sshKeys.create', {
      tenant: tenantA2.id,
      mutation: true,
      input: { name: 'dup', publicKey: pub },
    });
    const dup = await call('alice', 'sshKeys.create', {
      tenant: tenantA2.id,
      mutation: true,
      input: { name: 'dup', publicKey: newPublicKey('other') },
    });
    expect(dup).toMatchObject({ status: 409, code: ErrorCode.CONFLICT });
    expect(dup.message).toMatch(/^name: /);
  });

  it('a suspended tenant blocks its users at the API', async () => {
    await withPlatform(db, 'test: suspend', (tx) =>
      tx
        .update(schema.tenants)
        .set({ status: 'suspended' })
        .where(eq(schema.tenants.id, tenantB.id)),
    );
    expect(await call('bob', 'sshKeys.list', { tenant: tenantB.id })).toMatchObject({
      status: 403,
      code: ErrorCode.TENANT_SUSPENDED,
    });
  });
});
