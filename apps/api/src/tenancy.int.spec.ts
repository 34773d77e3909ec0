/**
 * Tenant-scoped procedures against the real stack, with real Keycloak tokens: memberships pick
 * the tenant, roles gate writes, another tenant's objects are not found, and every change
 * leaves its audit event. SSH keys are the first tenant resource; the BOLA and role matrices
 * (bola.int.spec.ts, role-matrix.int.spec.ts) cover every procedure.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@palisade/contracts';
import { schema, withPlatform } from '@palisade/db';
import { startTestApi, type TestApi } from './testing/harness';

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
  let api: TestApi;
  let tenantA: { id: string; slug: string };
  let tenantA2: { id: string; slug: string };
  let tenantB: { id: string; slug: string };
  const call: TestApi['call'] = (...args) => api.call(...args);

  beforeAll(async () => {
    api = await startTestApi();
    [tenantA, tenantA2, tenantB] = (await api.tenants('acme', 'acme2', 'globex')) as [
      typeof tenantA,
      typeof tenantA,
      typeof tenantA,
    ];
    await api.member('alice', tenantA.id, 'owner');
    await api.member('alice', tenantA2.id, 'member');
    await api.member('bob', tenantB.id, 'member');
    await api.member('olivia', tenantA.id, 'viewer');
  });

  afterAll(() => api?.close());

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
    const audit = await withPlatform(api.db, 'test: read audit', (tx) =>
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
      actorId: api.sub.alice,
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
    await withPlatform(api.db, 'test: suspend', (tx) =>
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
