/**
 * Placement claims under concurrency, against the real Postgres: 8 placers racing for the same
 * few hosts never overcommit one, every VM that fits gets a host, and the ones that do not get
 * the per-filter reason. Hosts here are the test's own (placement is restricted to them, because
 * other suites create hosts in the same database).
 */
import { randomUUID } from 'node:crypto';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { PlacementRequest } from '@palisade/domain';
import { loadStack } from '@palisade/testkit';
import { createDb, type Db } from './client';
import { claimPlacement, releasePlacement } from './repositories';
import { withPlatform } from './scope';
import { flavors, hosts, images, tenants, vms } from './schema';

const request: PlacementRequest = {
  vcpus: 1,
  ramMiB: 1024,
  diskGiB: 10,
  svirt: 'preferred',
  fabrics: [],
};
const options = { weigher: 'spread' as const };

describe('placement claims (real Postgres, 8 concurrent placers)', () => {
  const stack = loadStack('test');
  let db: Db;
  const suffix = randomUUID().slice(0, 8);
  let tenantId: string;
  let flavorId: string;
  let imageId: string;
  let hostIds: string[];

  beforeAll(async () => {
    db = createDb(stack.postgres.appUrl, { max: 10 });
    await withPlatform(db, 'test fixture: placement', async (tx) => {
      [{ id: tenantId }] = (await tx
        .insert(tenants)
        .values({ slug: `place-${suffix}`, name: 'Placement' })
        .returning({ id: tenants.id })) as [{ id: string }];
      [{ id: flavorId }] = (await tx
        .insert(flavors)
        .values({ name: `place-${suffix}`, vcpus: 1, ramMib: 1024, diskGib: 10 })
        .returning({ id: flavors.id })) as [{ id: string }];
      [{ id: imageId }] = (await tx
        .insert(images)
        .values({
          name: `place-${suffix}`,
          os: 'palisade-tiny',
          format: 'qcow2',
          sizeBytes: 1,
          checksum: '0'.repeat(64),
          visibility: 'public',
          status: 'active',
        })
        .returning({ id: images.id })) as [{ id: string }];
      // Three hosts, each with RAM for exactly two such VMs; a fourth that is draining.
      const rows = await tx
        .insert(hosts)
        .values(
          ['a', 'b', 'c', 'd'].map((n) => ({
            name: `place-${suffix}-${n}`,
            state: n === 'd' ? ('draining' as const) : ('up' as const),
            cpus: 4,
            ramMib: 2048,
            diskGib: 100,
            securityModels: ['none', 'dac'],
            acceleration: 'tcg' as const,
            compliance: { status: 'compliant' },
          })),
        )
        .returning({ id: hosts.id });
      hostIds = rows.map((r) => r.id);
    });
  });

  afterAll(async () => {
    await withPlatform(db, 'test cleanup: placement', async (tx) => {
      await tx.delete(vms).where(eq(vms.tenantId, tenantId));
      await tx.delete(hosts).where(inArray(hosts.id, hostIds));
    });
    await db?.$client.end();
  });

  async function newVms(n: number): Promise<string[]> {
    const rows = await withPlatform(db, 'test fixture: vms', (tx) =>
      tx
        .insert(vms)
        .values(
          Array.from({ length: n }, (_, i) => ({
            tenantId,
            name: `vm-${randomUUID().slice(0, 8)}-${i}`,
            flavorId,
            imageId,
          })),
        )
        .returning({ id: vms.id }),
    );
    return rows.map((r) => r.id);
  }

  it('8 placers racing for 3 hosts with room for 6: six placed, none overcommitted, two told why', async () => {
    const ids = await newVms(8);
    const results = await Promise.all(
      ids.map((vmId) => claimPlacement(db, { vmId, request, options, onlyHostIds: hostIds })),
    );
    const placed = results.filter((r) => r.ok);
    expect(placed).toHaveLength(6);
    const perHost = await withPlatform(db, 'test: count', (tx) =>
      tx.select({ hostId: vms.hostId }).from(vms).where(inArray(vms.id, ids)),
    );
    const counts = new Map<string, number>();
    for (const { hostId } of perHost) if (hostId) counts.set(hostId, (counts.get(hostId) ?? 0) + 1);
    expect([...counts.values()].sort()).toEqual([2, 2, 2]);
    expect(counts.has(hostIds[3]!)).toBe(false);
    for (const r of results.filter((x) => !x.ok))
      expect(r).toMatchObject({
        ok: false,
        reason: 'no_valid_host',
        detail: 'no host fits: 3 hosts lack RAM, 1 is draining',
      });
  });

  it('a claim is idempotent (a step run twice keeps its host), and a release frees the room', async () => {
    const [vmId] = await newVms(1);
    const full = await claimPlacement(db, { vmId: vmId!, request, options, onlyHostIds: hostIds });
    expect(full.ok).toBe(false);
    const [someone] = await withPlatform(db, 'test: pick a placed vm', (tx) =>
      tx
        .select({ id: vms.id, hostId: vms.hostId })
        .from(vms)
        .where(eq(vms.hostId, hostIds[0]!))
        .limit(1),
    );
    await withPlatform(db, 'test: release', (tx) => releasePlacement(tx, someone!.id));
    const first = await claimPlacement(db, { vmId: vmId!, request, options, onlyHostIds: hostIds });
    expect(first).toMatchObject({ ok: true, hostId: hostIds[0] });
    expect(
      await claimPlacement(db, { vmId: vmId!, request, options, onlyHostIds: hostIds }),
    ).toMatchObject({
      ok: true,
      hostId: hostIds[0],
    });
  });

  it('a VM that does not exist is a clear result, not a throw', async () => {
    expect(
      await claimPlacement(db, { vmId: randomUUID(), request, options, onlyHostIds: hostIds }),
    ).toMatchObject({
      ok: false,
      reason: 'vm_not_found',
    });
  });
});
