/**
 * The flavor catalogue against the real stack: operators write it on the platform scope,
 * tenants read only the enabled flavors, and bad or duplicate input names the field.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type Flavor } from '@palisade/contracts';
import { schema, withPlatform } from '@palisade/db';
import { startTestApi, type TestApi } from './testing/harness';

describe('flavors (real Postgres, real Keycloak tokens)', () => {
  let api: TestApi;
  let tenant: { id: string; slug: string };
  const name = `t${Math.random().toString(36).slice(2, 8)}.small`;

  beforeAll(async () => {
    api = await startTestApi();
    [tenant] = (await api.tenants('catalog')) as [typeof tenant];
    await api.member('alice', tenant.id, 'owner');
  });
  afterAll(() => api?.close());

  it('an operator creates a flavor, tenants list it, and the change is audited with no tenant', async () => {
    const created = await api.call('olivia', 'admin.flavors.create', {
      mutation: true,
      input: { name, vcpus: 2, ramMiB: 512, diskGiB: 4, cpuQuotaUs: 50_000, diskIops: 500 },
    });
    expect(created.status).toBe(200);
    const flavor = created.data as Flavor;
    expect(flavor).toMatchObject({
      name,
      vcpus: 2,
      cpuPeriodUs: 100_000,
      svirtRequired: true,
      disabled: false,
    });
    const listed = await api.call('alice', 'flavors.list', { tenant: tenant.id });
    expect((listed.data as Flavor[]).map((f) => f.name)).toContain(name);
    const audit = await withPlatform(api.db, 'test: read audit', (tx) =>
      tx.select().from(schema.auditEvents).where(eq(schema.auditEvents.targetId, flavor.id)),
    );
    expect(audit).toEqual([
      expect.objectContaining({ action: 'flavor.create', tenantId: null, actorId: api.sub.olivia }),
    ]);
  });

  it('a tenant owner may not write the catalogue', async () => {
    const denied = await api.call('alice', 'admin.flavors.create', {
      mutation: true,
      input: { name: 'sneaky', vcpus: 1, ramMiB: 128, diskGiB: 1 },
    });
    expect(denied).toMatchObject({ status: 403, code: ErrorCode.AUTH_FORBIDDEN });
  });

  it('bad input names the field; a duplicate name is a 409 that names it', async () => {
    const bad = await api.call('olivia', 'admin.flavors.create', {
      mutation: true,
      input: {
        name: 'Big One',
        vcpus: 0,
        ramMiB: 512,
        diskGiB: 4,
        netAverageKbps: 100,
        netPeakKbps: 50,
      },
    });
    expect(bad).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
    expect(bad.message).toMatch(/name: /);
    expect(bad.message).toMatch(/vcpus: must be at least 1 vCPU/);
    expect(bad.message).toMatch(/netPeakKbps: must be at least netAverageKbps/);
    const dup = await api.call('olivia', 'admin.flavors.create', {
      mutation: true,
      input: { name, vcpus: 1, ramMiB: 128, diskGiB: 1 },
    });
    expect(dup).toMatchObject({ status: 409, code: ErrorCode.CONFLICT });
    expect(dup.message).toMatch(/^name: /);
  });

  it('a disabled flavor disappears for tenants but operators still see it', async () => {
    const all = (await api.call('olivia', 'admin.flavors.list')).data as Flavor[];
    const flavor = all.find((f) => f.name === name)!;
    const off = await api.call('olivia', 'admin.flavors.setDisabled', {
      mutation: true,
      input: { id: flavor.id, disabled: true },
    });
    expect(off.data).toMatchObject({ disabled: true });
    const tenantView = (await api.call('alice', 'flavors.list', { tenant: tenant.id }))
      .data as Flavor[];
    expect(tenantView.map((f) => f.id)).not.toContain(flavor.id);
    const opView = (await api.call('olivia', 'admin.flavors.list')).data as Flavor[];
    expect(opView.find((f) => f.id === flavor.id)).toMatchObject({ disabled: true });
    const missing = await api.call('olivia', 'admin.flavors.setDisabled', {
      mutation: true,
      input: { id: '00000000-0000-4000-8000-000000000000', disabled: true },
    });
    expect(missing).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
  });
});
