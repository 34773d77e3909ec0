/**
 * The dev seed against the real test stack (Postgres, Keycloak's admin API as the API uses it):
 * it creates each item once, a second run changes nothing, a rebuilt image only moves the
 * checksum, and the seeded tenant's owner sees the catalogue and quota through the real API.
 * Names carry a run suffix so the shared test database never meets the real dev names.
 */
import { randomBytes } from 'node:crypto';
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { schema, withPlatform } from '@palisade/db';
import { adminToken, devRealmClientSecret } from '@palisade/testkit';
import { apiConfigSchema } from '../../config';
import { createIdentityAdmin } from '../../identity/identity.provider';
import { startTestApi, type TestApi } from '../../testing/harness';
import { parseSeedArgs, seedDevDatabase, type DevSeed } from './seed';

const run = randomBytes(3).toString('hex');
const hex64 = () => randomBytes(32).toString('hex');

describe('dev seed (real Postgres + Keycloak)', () => {
  let api: TestApi;
  let seed: DevSeed;
  let hostId: string;
  const seedWith = (s: DevSeed) =>
    seedDevDatabase(
      api.db,
      createIdentityAdmin(
        apiConfigSchema.parse({
          DATABASE_URL: api.stack.postgres.appUrl,
          REDIS_URL: api.stack.redis.url,
          KEYCLOAK_ISSUER: api.stack.keycloak.issuer,
          KEYCLOAK_ADMIN_CLIENT_SECRET: devRealmClientSecret('palisade-identity-admin'),
        }),
      ),
      s,
    );
  const seedAudit = () =>
    withPlatform(api.db, 'test: seed audit', async (tx) => {
      const [row] = await tx
        .select({ n: sql<number>`count(*)::int` })
        .from(schema.auditEvents)
        .where(eq(schema.auditEvents.actorId, 'cli:dev-seed'));
      return row!.n;
    });

  beforeAll(async () => {
    api = await startTestApi();
    hostId = await withPlatform(api.db, 'test fixture: seed host', async (tx) => {
      const [h] = await tx
        .insert(schema.hosts)
        .values({ name: `seed-host-${run}` })
        .returning();
      return h!.id;
    });
    seed = {
      hostName: `seed-host-${run}`,
      fabric: { name: `dev-vxlan-${run}`, device: 'ul0', segmentRanges: '1000-1999' },
      image: { name: `palisade-tiny-${run}`, checksum: hex64(), sizeBytes: 64 << 20 },
      flavor: { name: `dev.tiny-${run}`, vcpus: 1, ramMib: 192, diskGib: 1, cpuQuotaUs: 50_000 },
      tenants: [
        {
          slug: `seed-${run}`,
          name: `Seed ${run}`,
          ownerEmail: 'alice@acme.test',
          quota: { vcpus: 4, ramMiB: 2048, diskGiB: 20, vms: 4, networks: 4 },
        },
      ],
    };
  });

  afterAll(async () => {
    if (api) {
      const tenant = await withPlatform(api.db, 'test cleanup: seed', async (tx) => {
        await tx.delete(schema.hostFabrics).where(eq(schema.hostFabrics.hostId, hostId));
        await tx.delete(schema.hosts).where(eq(schema.hosts.id, hostId));
        await tx.delete(schema.fabrics).where(eq(schema.fabrics.name, seed.fabric.name));
        await tx.delete(schema.images).where(eq(schema.images.name, seed.image.name));
        await tx.delete(schema.flavors).where(eq(schema.flavors.name, seed.flavor.name));
        const [t] = await tx
          .select()
          .from(schema.tenants)
          .where(eq(schema.tenants.slug, seed.tenants[0]!.slug));
        return t;
      });
      // The tenant row stays, as onboarding tests leave theirs (its audit rows are append-only);
      // its Keycloak group goes.
      if (tenant?.keycloakGroupId) {
        const token = await adminToken(api.stack.keycloak);
        await fetch(
          `${api.stack.keycloak.url}/admin/realms/${api.stack.keycloak.realm}/groups/${tenant.keycloakGroupId}`,
          { method: 'DELETE', headers: { authorization: `Bearer ${token}` } },
        );
      }
    }
    await api?.close();
  });

  it('creates the image, flavor, fabric, host wiring and the tenant with its owner and quota', async () => {
    const before = await seedAudit();
    const lines = await seedWith(seed);
    expect(lines).toEqual([
      `image ${seed.image.name}: created`,
      `flavor ${seed.flavor.name}: created`,
      `fabric ${seed.fabric.name}: created`,
      `host ${seed.hostName} on ${seed.fabric.name}: wired`,
      `tenant seed-${run}: created, owner alice@acme.test`,
    ]);
    const rows = await withPlatform(api.db, 'test: seeded rows', async (tx) => {
      const [image] = await tx
        .select()
        .from(schema.images)
        .where(eq(schema.images.name, seed.image.name));
      const [flavor] = await tx
        .select()
        .from(schema.flavors)
        .where(eq(schema.flavors.name, seed.flavor.name));
      const [fabric] = await tx
        .select()
        .from(schema.fabrics)
        .where(eq(schema.fabrics.name, seed.fabric.name));
      const wired = await tx
        .select()
        .from(schema.hostFabrics)
        .where(
          and(eq(schema.hostFabrics.hostId, hostId), eq(schema.hostFabrics.fabricId, fabric!.id)),
        );
      const [tenant] = await tx
        .select()
        .from(schema.tenants)
        .where(eq(schema.tenants.slug, `seed-${run}`));
      const members = await tx
        .select()
        .from(schema.memberships)
        .where(eq(schema.memberships.tenantId, tenant!.id));
      return { image, flavor, fabric, wired, tenant, members };
    });
    expect(rows.image).toMatchObject({
      tenantId: null,
      visibility: 'public',
      status: 'active',
      format: 'qcow2',
      checksum: seed.image.checksum,
      sizeBytes: seed.image.sizeBytes,
    });
    // No SELinux on these hosts: a flavor that required sVirt would never be placed.
    expect(rows.flavor).toMatchObject({ vcpus: 1, ramMib: 192, svirtRequired: false });
    expect(rows.fabric).toMatchObject({ type: 'vxlan', device: 'ul0' });
    expect(rows.wired).toHaveLength(1);
    expect(rows.tenant?.keycloakGroupId).toBeTruthy();
    expect(rows.members.map((m) => [m.subject, m.role])).toEqual([[api.sub.alice, 'owner']]);
    // One audit row per item created: image, flavor, fabric, wiring, tenant, member, quota.
    expect((await seedAudit()) - before).toBe(7);
  });

  it('a second run creates nothing and writes no audit row', async () => {
    const before = await seedAudit();
    expect(await seedWith(seed)).toEqual([
      `image ${seed.image.name}: kept`,
      `flavor ${seed.flavor.name}: kept`,
      `fabric ${seed.fabric.name}: kept`,
      `host ${seed.hostName} on ${seed.fabric.name}: kept`,
      `tenant seed-${run}: kept`,
    ]);
    expect(await seedAudit()).toBe(before);
  });

  it('a rebuilt image moves the checksum of the same image row', async () => {
    const [old] = await withPlatform(api.db, 'test: image', (tx) =>
      tx.select().from(schema.images).where(eq(schema.images.name, seed.image.name)),
    );
    seed.image = { ...seed.image, checksum: hex64(), sizeBytes: 65 << 20 };
    expect((await seedWith(seed))[0]).toBe(`image ${seed.image.name}: checksum updated`);
    const [now] = await withPlatform(api.db, 'test: image', (tx) =>
      tx.select().from(schema.images).where(eq(schema.images.name, seed.image.name)),
    );
    expect(now).toMatchObject({ id: old!.id, checksum: seed.image.checksum, sizeBytes: 65 << 20 });
  });

  it('the owner sees the seeded image, flavor and quota through the API', async () => {
    const tenant = `seed-${run}`;
    const images = await api.rest('alice', 'GET', '/images', { tenant });
    expect(images.status).toBe(200);
    expect(JSON.stringify(images.data)).toContain(seed.image.name);
    const flavors = await api.rest('alice', 'GET', '/flavors', { tenant });
    expect(JSON.stringify(flavors.data)).toContain(seed.flavor.name);
    const quota = await api.rest('alice', 'GET', '/quota', { tenant });
    expect(quota.status).toBe(200);
    expect(quota.data).toMatchObject({ limits: { vcpus: 4, vms: 4, networks: 4 } });
  });

  it('the CLI names the bad argument', () => {
    const ok = ['--host', 'h', '--underlay', 'ul0', '--image-size', '1'];
    expect(() => parseSeedArgs([...ok, '--image-checksum', 'xyz'])).toThrow(/--image-checksum/);
    expect(() =>
      parseSeedArgs(['--host', 'h', '--underlay', 'ul0', '--image-checksum', hex64()]),
    ).toThrow(/--image-size is required/);
    expect(() =>
      parseSeedArgs([...ok.slice(0, 4), '--image-size', '-3', '--image-checksum', hex64()]),
    ).toThrow(/--image-size: must be a positive/);
    expect(parseSeedArgs([...ok, '--image-checksum', 'a'.repeat(64)])).toEqual({
      hostName: 'h',
      underlayDev: 'ul0',
      imageChecksum: 'a'.repeat(64),
      imageSizeBytes: 1,
    });
  });
});
