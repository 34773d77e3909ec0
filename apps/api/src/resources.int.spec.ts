/**
 * The tenant resource API against the real stack (Postgres, Keycloak tokens): the quota ledger
 * under concurrency, Idempotency-Key, waiting on and following operations, cursor pages, the VM
 * lifecycle rules, networks, and bad input that names its field. BOLA has its own file.
 */
import { and, eq, sql } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode, type Operation, type Vm } from '@palisade/contracts';
import { schema, withPlatform } from '@palisade/db';
import { endOperation, observe, quota, roomy, seedCatalog, type Catalog } from './testing/fixtures';
import { startTestApi, type TestApi } from './testing/harness';

type Accepted = { operation: Operation; vm: Vm };

describe('tenant resources (real Postgres, real Keycloak tokens)', () => {
  let api: TestApi;
  let cat: Catalog;
  let tenant: { id: string; slug: string };
  let network: string;

  const vmInput = (name: string, extra: Record<string, unknown> = {}) => ({
    name,
    flavorId: cat.small,
    imageId: cat.image,
    networkId: network,
    ...extra,
  });
  const mutate = (proc: string, input: unknown, headers?: Record<string, string>) =>
    api.call('alice', proc, { tenant: tenant.id, mutation: true, input, headers });
  const query = (proc: string, input?: unknown) =>
    api.call('alice', proc, { tenant: tenant.id, input });

  /** Creates a VM and plays the worker: the create succeeds and the host reports it stopped. */
  async function stoppedVm(name: string): Promise<Vm> {
    const r = await mutate('vms.create', vmInput(name));
    expect(r.status).toBe(200);
    const { operation, vm } = r.data as Accepted;
    await endOperation(api.db, operation.id);
    await observe(api.db, vm.id, 'stopped');
    return vm;
  }

  beforeAll(async () => {
    api = await startTestApi();
    cat = await seedCatalog(api.db);
    [tenant] = (await api.tenants('res')) as [typeof tenant];
    await api.member('alice', tenant.id, 'owner');
    await quota(api.db, tenant.id, roomy);
    const created = await mutate('networks.create', { name: 'net', cidr: '10.20.0.0/24' });
    expect(created.status).toBe(200);
    const accepted = created.data as { network: { id: string }; operation: Operation };
    network = accepted.network.id;
    await endOperation(api.db, accepted.operation.id);
  });
  afterAll(() => api?.close());

  describe('quota ledger', () => {
    it('50 concurrent creates at the edge of the quota never overshoot', async () => {
      const [t] = await api.tenants('race');
      await api.member('alice', t!.id, 'owner');
      await quota(api.db, t!.id, { ...roomy, vcpus: 7, networks: 1 });
      const net = await api.call('alice', 'networks.create', {
        tenant: t!.id,
        mutation: true,
        input: { name: 'n', cidr: '10.9.0.0/24' },
      });
      const networkId = (net.data as { network: { id: string } }).network.id;
      const results = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          api.call('alice', 'vms.create', {
            tenant: t!.id,
            mutation: true,
            input: { ...vmInput(`race-${i}`), networkId },
          }),
        ),
      );
      const ok = results.filter((r) => r.status === 200);
      const refused = results.filter((r) => r.status !== 200);
      expect(ok).toHaveLength(7);
      for (const r of refused) {
        expect(r).toMatchObject({ status: 409, code: ErrorCode.QUOTA_EXCEEDED });
        expect(r.message).toBe('Quota exceeded: needs 1 vCPU, 0 of 7 left.');
      }
      const [real] = await withPlatform(api.db, 'test: sum real rows', (tx) =>
        tx
          .select({
            vms: sql<number>`count(*)::int`,
            vcpus: sql<number>`coalesce(sum(${schema.flavors.vcpus}), 0)::int`,
            ips: sql<number>`count(distinct ${schema.nics.ip})::int`,
          })
          .from(schema.vms)
          .innerJoin(schema.flavors, eq(schema.flavors.id, schema.vms.flavorId))
          .innerJoin(schema.nics, eq(schema.nics.vmId, schema.vms.id))
          .where(eq(schema.vms.tenantId, t!.id)),
      );
      const usage = (await api.call('alice', 'quota.get', { tenant: t!.id })).data as {
        usage: { vcpus: number; vms: number; ramMiB: number };
      };
      expect(real).toEqual({ vms: 7, vcpus: 7, ips: 7 });
      expect(usage.usage).toMatchObject({ vcpus: real!.vcpus, vms: real!.vms, ramMiB: 7 * 256 });
    });

    it('a refusal names every resource that is short; check answers the same without changing anything', async () => {
      const [t] = await api.tenants('short');
      await api.member('alice', t!.id, 'owner');
      await quota(api.db, t!.id, { vcpus: 2, ramMiB: 512, diskGiB: 100, vms: 5 });
      const input = { action: 'create', flavorId: cat.large };
      const dry = await api.call('alice', 'vms.check', { tenant: t!.id, mutation: true, input });
      expect(dry.data).toEqual({
        allowed: false,
        reasons: [
          { code: ErrorCode.QUOTA_EXCEEDED, message: 'needs 4 vCPUs, 2 of 2 left' },
          { code: ErrorCode.QUOTA_EXCEEDED, message: 'needs 1024 MiB of RAM, 512 of 512 MiB left' },
        ],
      });
      const fits = await api.call('alice', 'vms.check', {
        tenant: t!.id,
        mutation: true,
        input: { action: 'create', flavorId: cat.small },
      });
      expect(fits.data).toEqual({ allowed: true, reasons: [] });
      const usage = (await api.call('alice', 'quota.get', { tenant: t!.id })).data as {
        usage: Record<string, number>;
      };
      expect(Object.values(usage.usage).every((v) => v === 0)).toBe(true);
    });

    it('resize moves the ledger by the difference and is refused, with the reason, when growth does not fit', async () => {
      const vm = await stoppedVm('resizable');
      const before = (await query('quota.get')).data as { usage: { vcpus: number } };
      const grown = await mutate('vms.resize', { id: vm.id, flavorId: cat.large });
      expect(grown.status).toBe(200);
      const after = (await query('quota.get')).data as { usage: { vcpus: number } };
      expect(after.usage.vcpus).toBe(before.usage.vcpus + 3);
      // The old flavor is remembered for the worker: a failed resize puts it back (and the quota).
      const [row] = await withPlatform(api.db, 'test: resized vm', (tx) =>
        tx.select().from(schema.vms).where(eq(schema.vms.id, vm.id)),
      );
      expect(row).toMatchObject({ flavorId: cat.large, resizeFromFlavorId: cat.small });
      await endOperation(api.db, (grown.data as Accepted).operation.id);
      const [t] = await api.tenants('tight');
      await api.member('alice', t!.id, 'owner');
      await quota(api.db, t!.id, { ...roomy, vcpus: 2 });
      const dry = await api.call('alice', 'vms.check', {
        tenant: t!.id,
        mutation: true,
        input: { action: 'resize', id: vm.id, flavorId: cat.small },
      });
      // Another tenant's VM is not found, even in a dry run.
      expect(dry).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
    });
  });

  describe('Idempotency-Key', () => {
    it('a repeat returns the first result and creates one row; another body with the key is 422', async () => {
      const headers = { 'idempotency-key': `k-${Math.random()}` };
      const first = await mutate('vms.create', vmInput('idem-one'), headers);
      const again = await mutate('vms.create', vmInput('idem-one'), headers);
      expect(first.status).toBe(200);
      expect(again.status).toBe(200);
      const a = first.data as Accepted;
      expect((again.data as Accepted).operation.id).toBe(a.operation.id);
      expect((again.data as Accepted).vm.id).toBe(a.vm.id);
      const other = await mutate('vms.create', vmInput('idem-two'), headers);
      expect(other).toMatchObject({ status: 422, code: ErrorCode.IDEMPOTENCY_KEY_REUSED });
      expect(other.message).toMatch(/^Idempotency-Key: /);
      const rows = await withPlatform(api.db, 'test: count', (tx) =>
        tx
          .select({ id: schema.vms.id })
          .from(schema.vms)
          .where(and(eq(schema.vms.tenantId, tenant.id), sql`${schema.vms.name} like 'idem-%'`)),
      );
      expect(rows).toEqual([{ id: a.vm.id }]);
    });

    it('concurrent first requests with one key over REST create one VM and all answer it', async () => {
      const headers = { 'idempotency-key': `c-${Math.random()}` };
      const results = await Promise.all(
        Array.from({ length: 6 }, () =>
          api.rest('alice', 'POST', '/vms', {
            tenant: tenant.id,
            body: vmInput('idem-race'),
            headers,
          }),
        ),
      );
      expect(results.map((r) => r.status)).toEqual(Array(6).fill(202));
      expect(new Set(results.map((r) => (r.data as Accepted).vm.id)).size).toBe(1);
      const ops = await withPlatform(api.db, 'test: count', (tx) =>
        tx
          .select()
          .from(schema.operations)
          .where(eq(schema.operations.idempotencyKey, headers['idempotency-key'])),
      );
      expect(ops).toHaveLength(1);
    });

    it('a malformed key is a validation error naming the header', async () => {
      const r = await mutate('vms.create', vmInput('idem-bad'), { 'idempotency-key': 'a b' });
      expect(r).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
      expect(r.message).toMatch(/^Idempotency-Key: /);
    });
  });

  describe('operations', () => {
    it('?wait=true returns the operation as it stands when the wait runs out (202 while pending)', async () => {
      const r = await api.rest('alice', 'POST', '/vms?wait=true', {
        tenant: tenant.id,
        body: { ...vmInput('waiter'), waitSeconds: 1 },
      });
      expect(r.status).toBe(202);
      expect((r.data as Accepted).operation.state).toBe('pending');
    });

    it('wait returns as soon as a worker ends the operation, with 200 and the final state', async () => {
      const vm = await stoppedVm('wait-end');
      const pending = api.rest('alice', 'POST', `/vms/${vm.id}/start`, {
        tenant: tenant.id,
        body: { wait: true, waitSeconds: 60 },
      });
      // Play the worker once the operation exists.
      let op: { id: string } | undefined;
      while (!op) {
        [op] = await withPlatform(api.db, 'test: find op', (tx) =>
          tx
            .select({ id: schema.operations.id })
            .from(schema.operations)
            .where(
              and(eq(schema.operations.targetId, vm.id), eq(schema.operations.kind, 'vm.start')),
            ),
        );
      }
      await endOperation(api.db, op.id, 'failed');
      const r = await pending;
      expect(r.status).toBe(200);
      expect((r.data as Accepted).operation).toMatchObject({
        id: op.id,
        state: 'failed',
        error: { code: 'host.unreachable', message: 'host down' },
      });
    });

    it('follow answers the next change after `since`; get and list show the operation', async () => {
      const vm = await stoppedVm('follow');
      const started = (await mutate('vms.start', { id: vm.id })).data as Accepted;
      const since = started.operation.updatedAt;
      const following = query('operations.follow', { id: started.operation.id, since });
      await endOperation(api.db, started.operation.id, 'running');
      const next = (await following).data as Operation;
      expect(next).toMatchObject({ id: started.operation.id, state: 'running', progress: 50 });
      expect(next.updatedAt).not.toBe(since);
      const got = await api.rest('alice', 'GET', `/operations/${started.operation.id}`, {
        tenant: tenant.id,
      });
      expect(got.data).toMatchObject({ state: 'running', kind: 'vm.start', targetId: vm.id });
      const listed = (await query('operations.list', { targetId: vm.id })).data as {
        items: Operation[];
      };
      expect(listed.items.map((o) => o.kind)).toEqual(['vm.start', 'vm.create']);
    });
  });

  describe('VM lifecycle', () => {
    it('one unfinished operation per VM: a second action is a 409 that says which runs', async () => {
      const vm = await stoppedVm('busy');
      expect((await mutate('vms.start', { id: vm.id })).status).toBe(200);
      const second = await mutate('vms.forceOff', { id: vm.id });
      expect(second).toMatchObject({ status: 409, code: ErrorCode.OPERATION_IN_PROGRESS });
      expect(second.message).toMatch(/vm\.start operation in progress/);
    });

    it('ten concurrent actions on one VM: exactly one is accepted, the rest are 409', async () => {
      const vm = await stoppedVm('contended');
      const results = await Promise.all(
        Array.from({ length: 10 }, (_, i) =>
          mutate(i % 2 ? 'vms.start' : 'vms.rebuild', { id: vm.id }),
        ),
      );
      expect(results.filter((r) => r.status === 200)).toHaveLength(1);
      for (const r of results.filter((r) => r.status !== 200))
        expect(r).toMatchObject({ status: 409, code: ErrorCode.OPERATION_IN_PROGRESS });
      const active = await withPlatform(api.db, 'test: active ops', (tx) =>
        tx
          .select()
          .from(schema.operations)
          .where(
            and(eq(schema.operations.targetId, vm.id), eq(schema.operations.state, 'pending')),
          ),
      );
      expect(active).toHaveLength(1);
    });

    it('the state machine refuses actions the observed state forbids, saying why', async () => {
      const vm = await stoppedVm('statey');
      const r = await mutate('vms.stop', { id: vm.id });
      expect(r).toMatchObject({ status: 409, code: ErrorCode.INVALID_STATE });
      expect(r.message).toBe('Cannot stop: VM is stopped.');
    });

    it('create allocates a cluster-unique MCS pair, a MAC and the next IPv4; update renames and retags', async () => {
      const r = (await mutate('vms.create', vmInput('alloc', { tags: ['web'] }))).data as Accepted;
      expect(r.vm.mcs).toMatch(/^c\d+,c\d+$/);
      expect(r.vm.nics).toEqual([
        {
          networkId: network,
          mac: expect.stringMatching(/^02:50:4c(:[0-9a-f]{2}){3}$/),
          ip: expect.stringMatching(/^10\.20\.0\.\d+$/),
        },
      ]);
      expect(r.operation).toMatchObject({ kind: 'vm.create', state: 'pending', targetId: r.vm.id });
      const renamed = await mutate('vms.update', { id: r.vm.id, name: 'alloc-2', tags: ['db'] });
      expect(renamed.data).toMatchObject({ name: 'alloc-2', tags: ['db'] });
      const clash = await mutate('vms.update', { id: r.vm.id, name: 'busy' });
      expect(clash).toMatchObject({ status: 409, code: ErrorCode.CONFLICT });
      expect(clash.message).toBe('name: a VM named busy already exists');
    });

    it('the isolation report of a VM that never ran is unknown, and says why', async () => {
      const vm = await stoppedVm('unmeasured');
      const r = await api.rest('alice', 'GET', `/vms/${vm.id}/isolation`, { tenant: tenant.id });
      expect(r.status).toBe(200);
      expect(r.data).toEqual({
        vmId: vm.id,
        measuredAt: null,
        verdict: 'unknown',
        checks: [],
        weakenings: [],
        error: 'not measured yet: the VM has not started since it was created',
        report: null,
      });
    });

    it('a VM shows what its host weakened, over tRPC and REST; none before it starts', async () => {
      const vm = await stoppedVm('weakened');
      expect(vm.weakenings).toEqual([]);
      // What the worker records from the host's ensure-running answer.
      const weakenings = [
        { mechanism: 'bandwidth', reason: 'bandwidth limit not enforced: kernel lacks sfq' },
      ];
      await withPlatform(api.db, 'test fixture: host weakened the VM', (tx) =>
        tx.update(schema.vms).set({ weakenings }).where(eq(schema.vms.id, vm.id)),
      );
      expect(((await query('vms.get', { id: vm.id })).data as Vm).weakenings).toEqual(weakenings);
      const rest = await api.rest('alice', 'GET', `/vms/${vm.id}`, { tenant: tenant.id });
      expect((rest.data as Vm).weakenings).toEqual(weakenings);
    });

    it('delete releases the quota at once and the VM leaves the lists', async () => {
      const vm = await stoppedVm('doomed');
      const before = (await query('quota.get')).data as { usage: { vcpus: number; vms: number } };
      const r = await api.rest('alice', 'DELETE', `/vms/${vm.id}`, { tenant: tenant.id });
      expect(r.status).toBe(202);
      expect((r.data as Accepted).vm.desiredState).toBe('deleted');
      const after = (await query('quota.get')).data as { usage: { vcpus: number; vms: number } };
      expect(after.usage).toMatchObject({
        vcpus: before.usage.vcpus - 1,
        vms: before.usage.vms - 1,
      });
      expect((await query('vms.get', { id: vm.id })).status).toBe(404);
    });

    it('lists page with an opaque cursor in a stable order, and filter by tag and name', async () => {
      for (const n of ['pg-a', 'pg-b', 'pg-c'])
        await mutate('vms.create', vmInput(n, { tags: ['paged'] }));
      const seen: string[] = [];
      let cursor: string | undefined;
      do {
        const page = (await query('vms.list', { tag: 'paged', limit: 2, cursor })).data as {
          items: Vm[];
          nextCursor: string | null;
        };
        seen.push(...page.items.map((v) => v.name));
        cursor = page.nextCursor ?? undefined;
      } while (cursor);
      expect(seen).toEqual(['pg-c', 'pg-b', 'pg-a']);
      const byName = await api.rest('alice', 'GET', '/vms?name=pg-b&limit=5', {
        tenant: tenant.id,
      });
      expect((byName.data as { items: Vm[] }).items.map((v) => v.name)).toEqual(['pg-b']);
      const bad = await query('vms.list', { cursor: 'not-a-cursor' });
      expect(bad).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
      expect(bad.message).toMatch(/^cursor: /);
      const tooMany = await api.rest('alice', 'GET', '/vms?limit=1000', { tenant: tenant.id });
      expect(tooMany).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
    });
  });

  describe('bad input names the field', () => {
    it.each([
      ['vms.create', { name: 'Bad Name!' }, /name: must be lowercase/],
      [
        'vms.create',
        { userData: 'x'.repeat(32 * 1024 + 1) },
        /userData: must be at most 32768 bytes/,
      ],
      ['vms.create', { flavorId: 'nope' }, /flavorId: must be a UUID/],
      [
        'networks.create',
        { name: 'n2', cidr: '10.0.0.5/24' },
        /cidr: 10.0.0.5\/24 has host bits set/,
      ],
      [
        'networks.create',
        { name: 'n3', cidr: '10.0.0.0/24', gateway: '10.0.1.1' },
        /gateway: 10.0.1.1 is not a host address/,
      ],
    ])('%s names the field (%#)', async (proc, patch, pattern) => {
      const input = proc === 'vms.create' ? { ...vmInput('fine'), ...patch } : patch;
      const r = await mutate(proc, input);
      expect(r).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
      expect(r.message).toMatch(pattern);
    });

    it('a reference to something missing is 404 naming the field', async () => {
      const r = await mutate('vms.create', vmInput('ghost', { sshKeyIds: [crypto.randomUUID()] }));
      expect(r).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
      expect(r.message).toMatch(/^sshKeyIds\.0: no SSH key /);
    });
  });

  describe('networks', () => {
    it('a network with NICs cannot be deleted; an empty one can, and frees its quota', async () => {
      const inUse = await mutate('networks.delete', { id: network });
      expect(inUse).toMatchObject({ status: 409, code: ErrorCode.RESOURCE_IN_USE });
      const spare = (
        await mutate('networks.create', { name: 'spare', cidr: '10.30.0.0/28', gateway: null })
      ).data as { network: { id: string; segmentId: number; gateway: null }; operation: Operation };
      expect(spare.network).toMatchObject({ gateway: null, segmentType: 'vxlan' });
      expect(spare.network.segmentId).toBeGreaterThanOrEqual(5000);
      await endOperation(api.db, spare.operation.id);
      const gone = await mutate('networks.delete', { id: spare.network.id });
      expect(gone.status).toBe(200);
      expect((await query('networks.get', { id: spare.network.id })).status).toBe(404);
    });
  });

  describe('networks under concurrency', () => {
    it('deleting a network while VMs are being created on it never deadlocks or strands a NIC', async () => {
      const made = (await mutate('networks.create', { name: 'contested', cidr: '10.40.0.0/24' }))
        .data as { network: { id: string }; operation: Operation };
      await endOperation(api.db, made.operation.id);
      const networkId = made.network.id;
      const [del, ...creates] = await Promise.all([
        mutate('networks.delete', { id: networkId }),
        ...Array.from({ length: 8 }, (_, i) =>
          mutate('vms.create', vmInput(`ct-${i}`, { networkId })),
        ),
      ]);
      for (const r of [del!, ...creates]) expect([200, 404, 409]).toContain(r.status);
      const [nics] = await withPlatform(api.db, 'test: nics on network', (tx) =>
        tx
          .select({ n: sql<number>`count(*)::int` })
          .from(schema.nics)
          .where(eq(schema.nics.networkId, networkId)),
      );
      const created = creates.filter((r) => r.status === 200).length;
      expect(nics!.n).toBe(created);
      // Either the delete won (and no VM got a NIC on it) or VMs did (and the delete was refused).
      expect(del!.status === 200 ? created : del!.code).toBe(
        del!.status === 200 ? 0 : ErrorCode.RESOURCE_IN_USE,
      );
    });
  });

  describe('volumes and snapshots', () => {
    const setVolume = (id: string, status: 'available') =>
      withPlatform(api.db, 'test fixture: worker made the volume', (tx) =>
        tx.update(schema.volumes).set({ status }).where(eq(schema.volumes.id, id)),
      );

    it('a volume takes quota, extends only upward, attaches to a VM, and is deleted only detached', async () => {
      const before = (await query('quota.get')).data as {
        usage: { diskGiB: number; volumes: number };
      };
      const created = (await mutate('volumes.create', { name: 'data', sizeGiB: 5 })).data as {
        volume: { id: string; status: string };
        operation: Operation;
      };
      expect(created.volume.status).toBe('pending');
      const usage = (await query('quota.get')).data as {
        usage: { diskGiB: number; volumes: number };
      };
      expect(usage.usage).toMatchObject({
        diskGiB: before.usage.diskGiB + 5,
        volumes: before.usage.volumes + 1,
      });
      const id = created.volume.id;
      expect(await mutate('volumes.extend', { id, sizeGiB: 8 })).toMatchObject({
        status: 409,
        code: ErrorCode.OPERATION_IN_PROGRESS,
      });
      await endOperation(api.db, created.operation.id);
      const shrink = await mutate('volumes.extend', { id, sizeGiB: 3 });
      expect(shrink).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
      expect(shrink.message).toBe(
        'sizeGiB: must be more than the current 5 GiB (volumes only grow)',
      );
      const vm = await stoppedVm('with-disk');
      const early = await mutate('volumes.attach', { id, vmId: vm.id });
      expect(early).toMatchObject({ status: 409, code: ErrorCode.INVALID_STATE });
      await setVolume(id, 'available');
      // No hot-plug: a running VM is refused at once, and nothing changed.
      await observe(api.db, vm.id, 'running');
      const live = await mutate('volumes.attach', { id, vmId: vm.id });
      expect(live).toMatchObject({ status: 409, code: ErrorCode.INVALID_STATE });
      expect(live.message).toBe(
        "VM with-disk is running; stop it to attach a volume (no hot-plug: a VM's volumes change only while it is stopped).",
      );
      expect((await query('volumes.get', { id })).data).toMatchObject({ vmId: null });
      await observe(api.db, vm.id, 'stopped');
      const attached = (await mutate('volumes.attach', { id, vmId: vm.id })).data as {
        volume: { vmId: string };
        operation: Operation;
      };
      expect(attached.volume.vmId).toBe(vm.id);
      await endOperation(api.db, attached.operation.id);
      // Extending a volume of a running VM is refused the same way, and takes no quota.
      await observe(api.db, vm.id, 'running');
      const quotaBefore = (await query('quota.get')).data;
      const grow = await mutate('volumes.extend', { id, sizeGiB: 9 });
      expect(grow).toMatchObject({ status: 409, code: ErrorCode.INVALID_STATE });
      expect(grow.message).toMatch(/^VM with-disk is running; stop it to extend a volume/);
      expect((await query('quota.get')).data).toEqual(quotaBefore);
      await observe(api.db, vm.id, 'stopped');
      const listed = (await query('volumes.list', { vmId: vm.id })).data as {
        items: { id: string }[];
      };
      expect(listed.items.map((v) => v.id)).toEqual([id]);
      expect(await mutate('volumes.delete', { id })).toMatchObject({
        status: 409,
        code: ErrorCode.RESOURCE_IN_USE,
      });
      const detached = (await mutate('volumes.detach', { id })).data as { operation: Operation };
      await endOperation(api.db, detached.operation.id);
      expect((await mutate('volumes.delete', { id })).status).toBe(200);
      const after = (await query('quota.get')).data as {
        usage: { diskGiB: number; volumes: number };
      };
      // Only the VM made meanwhile (2 GiB root disk) is still counted.
      expect(after.usage).toMatchObject({
        volumes: before.usage.volumes,
        diskGiB: before.usage.diskGiB + 2,
      });
    });

    it('snapshots lock the VM like its lifecycle actions, and revert needs an available snapshot', async () => {
      const vm = await stoppedVm('snappy');
      const snap = (await mutate('snapshots.create', { vmId: vm.id, name: 's1' })).data as {
        snapshot: { id: string; status: string };
        operation: Operation;
      };
      expect(snap.operation).toMatchObject({ kind: 'snapshot.create', targetId: vm.id });
      const during = await mutate('vms.start', { id: vm.id });
      expect(during).toMatchObject({ status: 409, code: ErrorCode.OPERATION_IN_PROGRESS });
      await endOperation(api.db, snap.operation.id);
      const revert = await mutate('snapshots.revert', { id: snap.snapshot.id });
      expect(revert).toMatchObject({ status: 409, code: ErrorCode.INVALID_STATE });
      expect(revert.message).toBe('Snapshot s1 is pending, not available.');
      const dup = await mutate('snapshots.create', { vmId: vm.id, name: 's1' });
      expect(dup).toMatchObject({ status: 409, code: ErrorCode.CONFLICT });
      const gone = await mutate('snapshots.delete', { id: snap.snapshot.id });
      expect(gone.status).toBe(200);
      expect((await query('snapshots.get', { id: snap.snapshot.id })).status).toBe(404);
    });
  });

  describe('quota and roles', () => {
    it('an operator sets a quota (audited, no tenant); tenant owners cannot; an unknown tenant is 404', async () => {
      const [t] = await api.tenants('quota-set');
      const set = await api.rest('olivia', 'PUT', `/admin/tenants/${t!.id}/quota`, {
        body: { limits: { vcpus: 3, vms: 2 } },
      });
      expect(set.status).toBe(200);
      expect(set.data).toMatchObject({
        limits: { vcpus: 3, vms: 2, ramMiB: 0 },
        usage: { vcpus: 0 },
      });
      const again = await api.call('olivia', 'admin.quotas.set', {
        mutation: true,
        input: { tenantId: t!.id, limits: { ramMiB: 1024 } },
      });
      expect(again.data).toMatchObject({ limits: { vcpus: 3, vms: 2, ramMiB: 1024 } });
      const audit = await withPlatform(api.db, 'test: read audit', (tx) =>
        tx
          .select()
          .from(schema.auditEvents)
          .where(
            and(eq(schema.auditEvents.targetId, t!.id), eq(schema.auditEvents.action, 'quota.set')),
          ),
      );
      expect(audit).toHaveLength(2);
      expect(audit.every((e) => e.tenantId === null && e.actorId === api.sub.olivia)).toBe(true);
      const denied = await mutate('admin.quotas.set', {
        tenantId: tenant.id,
        limits: { vcpus: 999 },
      });
      expect(denied).toMatchObject({ status: 403, code: ErrorCode.AUTH_FORBIDDEN });
      const missing = await api.call('olivia', 'admin.quotas.set', {
        mutation: true,
        input: { tenantId: crypto.randomUUID(), limits: {} },
      });
      expect(missing).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
      expect(missing.message).toMatch(/^tenantId: /);
      const negative = await api.call('olivia', 'admin.quotas.set', {
        mutation: true,
        input: { tenantId: t!.id, limits: { vcpus: -1 } },
      });
      expect(negative).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
      expect(negative.message).toMatch(/limits\.vcpus: must not be negative/);
    });

    it('a viewer reads VMs, operations and quota but cannot change anything', async () => {
      const [t] = await api.tenants('viewer');
      await api.member('bob', t!.id, 'viewer');
      await quota(api.db, t!.id, roomy);
      const as = (proc: string, input?: unknown, mutation = false) =>
        api.call('bob', proc, { tenant: t!.id, input, mutation });
      expect((await as('vms.list', {})).status).toBe(200);
      expect((await as('operations.list', {})).status).toBe(200);
      expect((await as('quota.get')).status).toBe(200);
      const write = await as('networks.create', { name: 'nope', cidr: '10.0.0.0/24' }, true);
      expect(write).toMatchObject({ status: 403, code: ErrorCode.AUTH_FORBIDDEN });
      expect((await as('audit.list', {})).data).toMatchObject({ items: [] });
    });
  });

  describe('audit', () => {
    it('tenants read their own audit log; operators read everyone’s through admin', async () => {
      const mine = (await query('audit.list', { action: 'vm.create', limit: 5 })).data as {
        items: { tenantId: string; details: { operationId: string } }[];
      };
      expect(mine.items.length).toBeGreaterThan(0);
      expect(mine.items.every((e) => e.tenantId === tenant.id && e.details.operationId)).toBe(true);
      const all = await api.call('olivia', 'admin.audit.list', {
        input: { tenantId: tenant.id, limit: 1 },
      });
      expect((all.data as { items: { tenantId: string }[] }).items[0]?.tenantId).toBe(tenant.id);
      expect((await query('admin.audit.list', {})).status).toBe(403);
    });
  });
});
