/**
 * The API side of the reconciler, against the real stack (Postgres, Keycloak tokens): a VM's
 * restart policy at create and update (validated, another tenant's VM is 404), and the operator
 * procedures that list reconciler reports and quarantined items (platform role only, over tRPC
 * and REST). The rows they list are written here as the worker's pass writes them (the pass
 * itself is tested in apps/worker/src/reconciler/reconcile.int.spec.ts).
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  type Operation,
  type QuarantinedItem,
  type ReconcileReport,
  type ReconcileSummary,
  type Vm,
} from '@palisade/contracts';
import { insertReconcileReport, recordQuarantine, schema, withPlatform } from '@palisade/db';
import { endOperation, quota, roomy, seedCatalog, type Catalog } from './testing/fixtures';
import { startTestApi, type TestApi } from './testing/harness';

type Accepted = { operation: Operation; vm: Vm };
type Page<T> = { items: T[]; nextCursor: string | null };

/** The fields a REST validation error names (its body's `data.fields`). */
const fieldsOf = (r: { data: unknown }) =>
  (r.data as { data?: { fields?: { path: string }[] } }).data?.fields?.map((f) => f.path);

describe('reconciler API (real Postgres, real Keycloak tokens)', () => {
  let api: TestApi;
  let cat: Catalog;
  let tenant: { id: string };
  let other: { id: string };
  let network: string;
  const hostName = `rc-api-${Math.random().toString(36).slice(2, 8)}`;
  let hostId = '';
  const reportIds: string[] = [];

  const mutate = (proc: string, input: unknown) =>
    api.call('alice', proc, { tenant: tenant.id, mutation: true, input });
  const vmInput = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    flavorId: cat.small,
    imageId: cat.image,
    networkId: network,
    ...extra,
  });

  beforeAll(async () => {
    api = await startTestApi();
    cat = await seedCatalog(api.db);
    [tenant, other] = (await api.tenants('rc', 'rc-other')) as unknown as [
      { id: string },
      { id: string },
    ];
    await api.member('alice', tenant.id, 'owner');
    await api.member('bob', other.id, 'owner');
    await quota(api.db, tenant.id, roomy);
    const created = await mutate('networks.create', { name: 'net', cidr: '10.40.0.0/24' });
    const accepted = created.data as { network: { id: string }; operation: Operation };
    network = accepted.network.id;
    await endOperation(api.db, accepted.operation.id);
  });

  afterAll(async () => {
    if (api) {
      await withPlatform(api.db, 'test cleanup: reconciler api', async (tx) => {
        for (const id of reportIds)
          await tx.delete(schema.reconcileReports).where(eq(schema.reconcileReports.id, id));
        if (hostId) await tx.delete(schema.hosts).where(eq(schema.hosts.id, hostId));
      });
      await api.close();
    }
  });

  describe('restart policy', () => {
    it('defaults to always, can be set at create and changed by update', async () => {
      const plain = await mutate('vms.create', vmInput('rp-default'));
      expect(plain.status).toBe(200);
      expect((plain.data as Accepted).vm.restartPolicy).toBe('always');

      const never = await mutate('vms.create', vmInput('rp-never', { restartPolicy: 'never' }));
      expect(never.status).toBe(200);
      const vm = (never.data as Accepted).vm;
      expect(vm.restartPolicy).toBe('never');

      const viaRest = await api.rest('alice', 'PATCH', `/vms/${vm.id}`, {
        tenant: tenant.id,
        body: { restartPolicy: 'always' },
      });
      expect(viaRest.status).toBe(200);
      expect((viaRest.data as Vm).restartPolicy).toBe('always');
      // Only the policy changed.
      expect(viaRest.data).toMatchObject({ name: 'rp-never', desiredState: 'running' });
      const audit = await withPlatform(api.db, 'test: audit', (tx) =>
        tx.select().from(schema.auditEvents).where(eq(schema.auditEvents.targetId, vm.id)),
      );
      expect(audit.find((a) => a.action === 'vm.update')?.details).toMatchObject({
        from: { restartPolicy: 'never' },
        to: { restartPolicy: 'always' },
      });
    });

    it('refuses an unknown policy naming the field, at create and at update, and creates nothing', async () => {
      const bad = await mutate('vms.create', vmInput('rp-bad', { restartPolicy: 'sometimes' }));
      expect(bad).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
      expect(bad.message).toContain('restartPolicy');
      const rows = await withPlatform(api.db, 'test: vms', (tx) =>
        tx.select().from(schema.vms).where(eq(schema.vms.name, 'rp-bad')),
      );
      expect(rows.filter((r) => r.tenantId === tenant.id)).toEqual([]);

      const made = await mutate('vms.create', vmInput('rp-upd'));
      const id = (made.data as Accepted).vm.id;
      const badUpdate = await api.rest('alice', 'PATCH', `/vms/${id}`, {
        tenant: tenant.id,
        body: { restartPolicy: 'ALWAYS' },
      });
      expect(badUpdate).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
      expect(fieldsOf(badUpdate)).toEqual(['restartPolicy']);
    });

    it("tenant B gets 404 for tenant A's VM and its policy stays as it was", async () => {
      const made = await mutate('vms.create', vmInput('rp-bola', { restartPolicy: 'never' }));
      const id = (made.data as Accepted).vm.id;
      const foreign = await api.call('bob', 'vms.update', {
        tenant: other.id,
        mutation: true,
        input: { id, restartPolicy: 'always' },
      });
      expect(foreign).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
      const row = await withPlatform(api.db, 'test: vm', (tx) =>
        tx.select().from(schema.vms).where(eq(schema.vms.id, id)),
      );
      expect(row[0]?.restartPolicy).toBe('never');
    });
  });

  describe('reports and quarantine (operators)', () => {
    const summary = (restarted: number): ReconcileSummary => ({
      hosts: { checked: 1, failed: [] },
      vms: {
        observedCorrected: restarted,
        restarted: Array.from({ length: restarted }, (_, i) => ({
          vmId: `00000000-0000-4000-8000-00000000000${i}`,
          tenantId: tenant.id,
          hostId,
          operationId: `00000000-0000-4000-8000-00000000010${i}`,
          was: 'shutoff',
        })),
        left: [],
        missing: [],
      },
      quarantine: { present: { domain: 1, volume: 0, segment: 0 }, new: 1, resolved: 0 },
      erasedVolumeFilesRemoved: [],
      deadlines: { overdueNow: 0, endedSinceLastReport: 0 },
      quota: { tenantsChecked: 2, corrected: [] },
    });

    beforeAll(async () => {
      await withPlatform(api.db, 'test fixture: a reconciler pass', async (tx) => {
        const [host] = await tx
          .insert(schema.hosts)
          .values({ name: hostName, state: 'up' })
          .returning();
        hostId = host!.id;
        await recordQuarantine(tx, {
          hostId,
          seen: [
            {
              kind: 'domain',
              ref: '11111111-2222-4333-8444-555555555555',
              name: 'hand-made',
              reason: 'foreign',
              vmId: null,
              tenantId: null,
              state: 'running',
            },
          ],
        });
      });
      // One pass, one transaction: finishedAt (the list's order) is each transaction's time.
      for (const n of [0, 1, 2]) {
        const r = await withPlatform(api.db, 'test fixture: a report', (tx) =>
          insertReconcileReport(tx, {
            startedAt: new Date(),
            worker: hostName,
            findings: n,
            summary: summary(n),
          }),
        );
        reportIds.push(r.id);
      }
    });

    it('operators page through reports, newest first, over tRPC and REST', async () => {
      const first = await api.call('olivia', 'admin.reconciler.reports', { input: { limit: 2 } });
      expect(first.status).toBe(200);
      const page = first.data as Page<ReconcileReport>;
      expect(page.items).toHaveLength(2);
      expect(page.nextCursor).not.toBeNull();
      const mine = page.items.filter((r) => r.worker === hostName);
      // Other suites may write reports too; ours are the newest only if nobody else wrote since.
      for (const r of mine) expect(r.summary.hosts.checked).toBe(1);

      const rest = await api.rest('olivia', 'GET', '/admin/reconciler/reports?limit=200');
      expect(rest.status).toBe(200);
      const all = (rest.data as Page<ReconcileReport>).items.filter((r) => r.worker === hostName);
      expect(all.map((r) => r.findings)).toEqual([2, 1, 0]);
      expect(all[0]!.summary.vms.restarted).toHaveLength(2);
    });

    it('operators list quarantined items of a host; a bad filter names its field', async () => {
      const r = await api.rest(
        'olivia',
        'GET',
        `/admin/reconciler/quarantine?hostId=${hostId}&state=present`,
      );
      expect(r.status).toBe(200);
      expect((r.data as Page<QuarantinedItem>).items).toEqual([
        expect.objectContaining({
          hostId,
          hostName,
          kind: 'domain',
          reason: 'foreign',
          name: 'hand-made',
          resolvedAt: null,
        }),
      ]);
      const resolved = await api.call('olivia', 'admin.reconciler.quarantine', {
        input: { hostId, state: 'resolved' },
      });
      expect((resolved.data as Page<QuarantinedItem>).items).toEqual([]);

      const bad = await api.rest('olivia', 'GET', '/admin/reconciler/quarantine?state=gone');
      expect(bad).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
      expect(fieldsOf(bad)).toEqual(['state']);
      const badCursor = await api.rest('olivia', 'GET', '/admin/reconciler/reports?cursor=nope');
      expect(badCursor).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
    });

    it('a tenant owner is refused both lists (403), over tRPC and REST', async () => {
      for (const proc of ['admin.reconciler.reports', 'admin.reconciler.quarantine']) {
        const r = await api.call('alice', proc, { input: {} });
        expect(r).toMatchObject({ status: 403, code: ErrorCode.AUTH_FORBIDDEN });
      }
      const rest = await api.rest('alice', 'GET', '/admin/reconciler/quarantine');
      expect(rest).toMatchObject({ status: 403, code: ErrorCode.AUTH_FORBIDDEN });
    });
  });
});
