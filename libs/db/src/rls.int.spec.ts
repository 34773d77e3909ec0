/**
 * Row-level security is the second lock behind the repositories' tenant filter. These tests run as
 * the runtime role against the real test database and deliberately "forget" the filter.
 */
import { randomUUID } from 'node:crypto';
import { eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadStack } from '@palisade/testkit';
import { createDb, type Db } from './client';
import { runMigrations } from './migrate';
import { withPlatform, withTenant } from './scope';
import { auditEvents, sshKeys, tenants } from './schema';

describe('row-level security (runtime role, real Postgres)', () => {
  const stack = loadStack('test');
  let db: Db;
  let a: string;
  let b: string;

  beforeAll(async () => {
    await runMigrations(stack.postgres.ownerUrl);
    db = createDb(stack.postgres.appUrl);
    const suffix = randomUUID().slice(0, 8);
    [a, b] = await withPlatform(db, 'test fixture', async (tx) => {
      const rows = await tx
        .insert(tenants)
        .values([
          { slug: `rls-a-${suffix}`, name: 'RLS A' },
          { slug: `rls-b-${suffix}`, name: 'RLS B' },
        ])
        .returning({ id: tenants.id });
      return rows.map((r) => r.id) as [string, string];
    });
    for (const [tenantId, name] of [
      [a, 'key-a'],
      [b, 'key-b'],
    ] as const) {
      await withTenant(db, tenantId, (tx) =>
        tx.insert(sshKeys).values({
          tenantId,
          name,
          publicKey: `ssh-ed25519 AAAA${name}`,
          fingerprint: `SHA256:${name}-${tenantId}`,
        }),
      );
    }
  });

  afterAll(() => db?.$client.end());

  it('a query that forgets its tenant filter still sees only its own tenant', async () => {
    const rows = await withTenant(db, a, (tx) => tx.select().from(sshKeys));
    expect(rows.map((r) => r.tenantId)).toEqual([a]);
  });

  it("tenant A cannot read tenant B's row even by its id", async () => {
    const [bKey] = await withTenant(db, b, (tx) => tx.select({ id: sshKeys.id }).from(sshKeys));
    const seen = await withTenant(db, a, (tx) =>
      tx.select().from(sshKeys).where(eq(sshKeys.id, bKey!.id)),
    );
    expect(seen).toEqual([]);
  });

  it("tenant A cannot write a row into tenant B, and B's rows are unchanged", async () => {
    await expect(
      withTenant(db, a, (tx) =>
        tx
          .insert(sshKeys)
          .values({ tenantId: b, name: 'smuggled', publicKey: 'x', fingerprint: 'y' }),
      ),
    ).rejects.toMatchObject({ cause: { message: expect.stringMatching(/row-level security/) } });
    const updated = await withTenant(db, a, (tx) =>
      tx.update(sshKeys).set({ name: 'renamed' }).where(eq(sshKeys.tenantId, b)).returning(),
    );
    expect(updated).toEqual([]);
    const bRows = await withTenant(db, b, (tx) => tx.select().from(sshKeys));
    expect(bRows.map((r) => r.name)).toEqual(['key-b']);
  });

  it('outside any scope, the runtime role sees no tenant rows at all', async () => {
    const rows = await db.select().from(sshKeys);
    expect(rows).toEqual([]);
  });

  it('the platform scope sees every tenant', async () => {
    const rows = await withPlatform(db, 'test: list all keys', (tx) =>
      tx
        .select()
        .from(sshKeys)
        .where(sql`${sshKeys.tenantId} IN (${a}, ${b})`),
    );
    expect(new Set(rows.map((r) => r.tenantId))).toEqual(new Set([a, b]));
  });

  it('audit events are append-only for the runtime role', async () => {
    const [event] = await withTenant(db, a, (tx) =>
      tx
        .insert(auditEvents)
        .values({
          tenantId: a,
          actorType: 'user',
          actorId: 'u1',
          action: 'test',
          outcome: 'success',
        })
        .returning(),
    );
    await expect(
      withPlatform(db, 'test: tamper', (tx) =>
        tx.update(auditEvents).set({ action: 'forged' }).where(eq(auditEvents.id, event!.id)),
      ),
    ).rejects.toMatchObject({ cause: { message: expect.stringMatching(/permission denied/) } });
    await expect(
      withPlatform(db, 'test: tamper', (tx) =>
        tx.delete(auditEvents).where(eq(auditEvents.id, event!.id)),
      ),
    ).rejects.toMatchObject({ cause: { message: expect.stringMatching(/permission denied/) } });
  });

  it('withTenant refuses a malformed tenant id', async () => {
    await expect(withTenant(db, "' OR 1=1 --", async () => 1)).rejects.toThrow(TypeError);
  });
});
