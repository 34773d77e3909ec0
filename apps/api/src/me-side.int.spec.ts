/**
 * The caller's own view that the portal builds on, against the real stack: which tenants a user
 * may act in (tenants.mine, the tenant switcher's source) and which images a tenant may boot
 * (images.list, the VM form's source). Another tenant's objects never appear.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type Image, type MyTenant } from '@palisade/contracts';
import { schema, withPlatform } from '@palisade/db';
import { seedCatalog, type Catalog } from './testing/fixtures';
import { startTestApi, type TestApi } from './testing/harness';

describe('tenants.mine and images.list (real Postgres, real Keycloak tokens)', () => {
  let api: TestApi;
  let a: { id: string; slug: string };
  let b: { id: string; slug: string };
  let catalog: Catalog;
  let privateImageB: string;

  beforeAll(async () => {
    api = await startTestApi();
    [a, b] = (await api.tenants('mine-a', 'mine-b')) as [typeof a, typeof b];
    await api.member('alice', a.id, 'viewer');
    await api.member('bob', b.id, 'owner');
    catalog = await seedCatalog(api.db);
    privateImageB = await withPlatform(api.db, 'test fixture: private image', async (tx) => {
      const [row] = await tx
        .insert(schema.images)
        .values({
          tenantId: b.id,
          name: `own-${b.slug}`,
          os: 'linux',
          format: 'qcow2',
          sizeBytes: 4096,
          checksum: 'b'.repeat(64),
          visibility: 'tenant',
          status: 'active',
        })
        .returning({ id: schema.images.id });
      return row!.id;
    });
  });
  afterAll(() => api?.close());

  it("lists a user's tenants with their role, and never another user's tenant", async () => {
    const alice = await api.call('alice', 'tenants.mine');
    expect(alice.status).toBe(200);
    const mine = alice.data as MyTenant[];
    expect(mine.find((t) => t.id === a.id)).toEqual({
      id: a.id,
      slug: a.slug,
      name: 'mine-a',
      status: 'active',
      role: 'viewer',
    });
    expect(mine.some((t) => t.id === b.id)).toBe(false);
    const bob = (await api.call('bob', 'tenants.mine')).data as MyTenant[];
    expect(bob.find((t) => t.id === b.id)?.role).toBe('owner');
    expect(bob.some((t) => t.id === a.id)).toBe(false);
  });

  it('lists a suspended tenant with its status, so the portal can say why it is refused', async () => {
    const [c] = (await api.tenants('mine-c')) as [{ id: string; slug: string }];
    await api.member('alice', c.id, 'member');
    await withPlatform(api.db, 'test fixture: suspend', (tx) =>
      tx.update(schema.tenants).set({ status: 'suspended' }).where(eq(schema.tenants.id, c.id)),
    );
    const mine = (await api.call('alice', 'tenants.mine')).data as MyTenant[];
    expect(mine.find((t) => t.id === c.id)?.status).toBe('suspended');
    // The list informs; the tenant procedures still refuse.
    const refused = await api.call('alice', 'sshKeys.list', { tenant: c.id });
    expect(refused.code).toBe(ErrorCode.TENANT_SUSPENDED);
  });

  it('is refused without a token, like every authenticated procedure', async () => {
    const res = await fetch(`${api.base}/trpc/tenants.mine`);
    expect(res.status).toBe(401);
  });

  it("a tenant sees public images and its own, never another tenant's", async () => {
    const forB = (await api.call('bob', 'images.list', { tenant: b.id })).data as Image[];
    expect(forB.map((i) => i.id)).toEqual(expect.arrayContaining([catalog.image, privateImageB]));
    expect(forB.find((i) => i.id === privateImageB)).toMatchObject({
      visibility: 'tenant',
      status: 'active',
      format: 'qcow2',
    });
    const forA = await api.call('alice', 'images.list', { tenant: a.id });
    expect(forA.status).toBe(200);
    const ids = (forA.data as Image[]).map((i) => i.id);
    expect(ids).toContain(catalog.image);
    expect(ids).not.toContain(privateImageB);
  });

  it('images.list in a tenant the caller is not in is 404, not 403', async () => {
    const res = await api.call('alice', 'images.list', { tenant: b.id });
    expect(res.status).toBe(404);
    expect(res.code).toBe(ErrorCode.NOT_FOUND);
  });
});
