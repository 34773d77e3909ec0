/**
 * Exhaustion end to end (issue 5, "allocator exhaustion gives a clear error, not a hang"):
 * through the real API process and, where the work reaches it, a real worker process, in the
 * crash lab's own database (the MCS case fills the whole cluster's pair space).
 *
 * Proven: a full subnet, a fabric whose only VNI another tenant holds, and an MCS pair space
 * held entirely by another tenant each answer 409 `allocation.exhausted` naming the field, at
 * once, with nothing written (no VM, no operation, quota unchanged); a VM no host has room for
 * is accepted, and its operation ends `failed` with the placement reason per host.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, schema, withPlatform } from '@palisade/db';
import { startCrashLab, violations, type CrashLab } from '../testing/crash-lab';

interface ErrorBody {
  code?: string;
  message?: string;
  data?: { code?: string };
}

describe('allocator and placement exhaustion end to end (API and worker processes)', () => {
  let lab: CrashLab;
  let otherTenant: string;

  beforeAll(async () => {
    lab = await startCrashLab({ prefix: 'exhaust' });
    const [other] = await withPlatform(lab.db, 'test fixture: another tenant', (tx) =>
      tx.insert(schema.tenants).values({ slug: 'exhaust-other', name: 'Other' }).returning(),
    );
    otherTenant = other!.id;
  }, 600_000);

  afterAll(async () => {
    await lab?.close();
  }, 120_000);

  const codeOf = (b: ErrorBody) => b.data?.code ?? b.code;

  /** What must not change when a request is refused: the tenant's rows and its ledger. */
  async function unchanged(run: () => Promise<void>) {
    const before = await lab.audit();
    await run();
    const after = await lab.audit();
    expect(after.vms).toEqual(before.vms);
    expect(after.operations).toEqual(before.operations);
    expect(after.usage).toEqual(before.usage);
  }

  it('a full subnet: the next VM is refused with allocation.exhausted naming networkId', async () => {
    // 10.99.0.0/29: 8 addresses minus network, broadcast and gateway = 5 for VMs.
    const [net] = await withPlatform(lab.db, 'test fixture: tiny network', async (tx) => {
      const [fabric] = await tx
        .select()
        .from(schema.hostFabrics)
        .where(eq(schema.hostFabrics.hostId, lab.ids.hosts[0]!));
      return tx
        .insert(schema.networks)
        .values({
          tenantId: lab.ids.tenant,
          fabricId: fabric!.fabricId,
          name: 'tiny',
          segmentType: 'vxlan',
          segmentId: 150,
          cidr: '10.99.0.0/29',
          gateway: '10.99.0.1',
          status: 'active',
        })
        .returning();
    });
    const input = (name: string) => ({
      name,
      flavorId: lab.ids.flavor,
      imageId: lab.ids.image,
      networkId: net!.id,
    });
    for (let i = 0; i < 5; i++)
      expect((await lab.rest('POST', '/vms', input(`tiny-${i}`))).status).toBe(202);
    await unchanged(async () => {
      const r = await lab.rest('POST', '/vms', input('tiny-5'));
      expect(r.status).toBe(409);
      expect(codeOf(r.data)).toBe('allocation.exhausted');
      expect((r.data as ErrorBody).message).toMatch(/networkId/);
      expect((r.data as ErrorBody).message).toMatch(/10\.99\.0\.0\/29/);
    });
  });

  it('a fabric whose only VNI another tenant holds: allocation.exhausted naming fabricId, not a 500', async () => {
    const fabricId = await withPlatform(lab.db, 'test fixture: one-VNI fabric', async (tx) => {
      const [fabric] = await tx
        .insert(schema.fabrics)
        .values({ name: 'one-vni', type: 'vxlan', device: 'ul0', segmentRanges: '300-300' })
        .returning();
      await tx.insert(schema.networks).values({
        tenantId: otherTenant,
        fabricId: fabric!.id,
        name: 'holder',
        segmentType: 'vxlan',
        segmentId: 300,
        cidr: '10.98.0.0/24',
        gateway: '10.98.0.1',
        status: 'active',
      });
      return fabric!.id;
    });
    const before = await lab.audit();
    const r = await lab.rest('POST', '/networks', {
      name: 'wants-vni',
      fabricId,
      cidr: '10.97.0.0/24',
      gateway: '10.97.0.1',
    });
    expect(r.status).toBe(409);
    expect(codeOf(r.data)).toBe('allocation.exhausted');
    expect((r.data as ErrorBody).message).toMatch(/fabricId: fabric one-vni has no free segment/);
    expect((await lab.audit()).operations).toEqual(before.operations);
    const networks = await withPlatform(lab.db, 'test: networks', (tx) =>
      tx.select().from(schema.networks).where(eq(schema.networks.fabricId, fabricId)),
    );
    expect(networks.map((n) => n.tenantId)).toEqual([otherTenant]);
  });

  it('no host has room: the operation ends failed with the reason per host, not a hang', async () => {
    const [huge] = await withPlatform(lab.db, 'test fixture: a flavor no host fits', (tx) =>
      tx
        .insert(schema.flavors)
        .values({ name: 'huge-ram', vcpus: 1, ramMib: 256 * 1024, diskGib: 1 })
        .returning(),
    );
    const r = await lab.rest('POST', '/vms', {
      name: 'too-big',
      flavorId: huge!.id,
      imageId: lab.ids.image,
      networkId: lab.ids.networks[0],
    });
    expect(r.status).toBe(202);
    const opId = (r.data as { operation: { id: string } }).operation.id;
    const worker = lab.startWorker();
    try {
      // The tiny-subnet VMs' operations run too: wait for every one of them.
      const all = (await lab.audit()).operations.map((o) => o.id);
      await lab.waitFinal(all, 180_000);
    } finally {
      await worker.stop();
    }
    // What the tenant reads on the operation: the code and the reason per host.
    const op = (await lab.rest('GET', `/operations/${opId}`)).data as {
      state: string;
      error: { code: string; message: string } | null;
    };
    expect(op.state).toBe('failed');
    expect(op.error?.code).toBe('placement.no_valid_host');
    expect(op.error?.message).toBe(
      'No host can run this VM: no host fits: 1 host cannot reach a required fabric, 1 lacks RAM.',
    );
    // The tiny-subnet VMs ran to the end too; nothing is doubled or leaked.
    expect(violations(await lab.audit())).toEqual([]);
  }, 300_000);

  // Last: it leaves the pair space full (the database is dropped afterwards).
  it('every MCS pair of the cluster held by another tenant: allocation.exhausted at once', async () => {
    // Every one of the C(1024, 2) = 523,776 pairs not already the lab tenant's, in one statement
    // as the owner role.
    const owner = createDb(lab.database.ownerUrl, { max: 1 });
    try {
      await owner.$client.query(
        `INSERT INTO vms (tenant_id, name, flavor_id, image_id, mcs_c_1, mcs_c_2, desired_state)
         SELECT $1, 'held-' || a || '-' || b, $2, $3, a, b, 'stopped'
         FROM generate_series(0, 1022) a, generate_series(1, 1023) b WHERE b > a
         ON CONFLICT DO NOTHING`,
        [otherTenant, lab.ids.flavor, lab.ids.image],
      );
    } finally {
      await owner.$client.end();
    }
    await unchanged(async () => {
      const r = await lab.rest('POST', '/vms', {
        name: 'no-pair',
        flavorId: lab.ids.flavor,
        imageId: lab.ids.image,
        networkId: lab.ids.networks[0],
      });
      expect(r.status).toBe(409);
      expect(codeOf(r.data)).toBe('allocation.exhausted');
      expect((r.data as ErrorBody).message).toMatch(/MCS category pair/);
    });
  }, 300_000);
});
