/**
 * vm.resize, vm.rebuild, network.create, network.delete and segment cleanup below the API: the
 * production engine and workflows, the real Postgres of the test stack, and real agent processes
 * (AGENT_HYPERVISOR=simulated) over real mTLS. Each test writes what the API would have accepted
 * (the change, the ledger, the operation) and runs the operation.
 *
 * Proven: a resize grows the root volume (never shrinks it) and the next start runs the new size;
 * a host that no longer fits refuses with the per-filter reason and compensation restores the
 * flavor and the quota (equal to the real resources) exactly once; a rebuild re-images the root
 * with a new key from the new image and keeps MAC, IP and MCS pair; every step run twice
 * converges; network create ends `active`, and its compensation frees the row and its quota once;
 * network delete removes the bridge from its hosts and the row; the bridge of a segment goes from
 * a host when the last VM there using it goes (delete, or a failed create).
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { lockUsage, schema, withPlatform, writeUsage } from '@palisade/db';
import { applyDelta, resourceDelta, vmFootprint } from '@palisade/domain';
import { AGENT_START_BOUND_MS } from '../testing/agent-process';
import { workflowFixture, type WorkflowFixture } from '../testing/workflow-fixture';
import { networkWorkflows } from '../networks/network-workflows';
import { vmChangeWorkflows } from './vm-change-workflows';
import { vmWorkflows } from './vm-workflows';
import { unwrapVolumeKey } from './volume-keys';
import type { VmContext } from './vm-host';
import type { Workflow } from '../operations/engine';

const attempt = { attemptsMade: 0, maxAttempts: 1 };
const GiB = 1024 ** 3;

describe('vm change and network workflows (real Postgres, simulated agents over mTLS)', () => {
  let f: WorkflowFixture;
  const masterKey = Buffer.alloc(32, 7);

  beforeAll(async () => {
    f = await workflowFixture({
      prefix: 'wfc',
      // wfc-0 enforces SELinux; wfc-1 has none (a strict flavor's create fails there).
      agents: [{ security: 'selinux' }, { security: 'none' }],
      flavors: {
        small: { vcpus: 1, ramMib: 256, diskGib: 1 },
        big: { vcpus: 2, ramMib: 512, diskGib: 2 },
        // More RAM than a host has (8192 MiB at the default 1:1 ratio).
        huge: { vcpus: 2, ramMib: 16384, diskGib: 1 },
        strict: { vcpus: 1, ramMib: 256, diskGib: 1, svirtRequired: true },
      },
      imageMiB: [32, 48],
      workflows: (deps) =>
        [
          ...vmWorkflows(deps),
          ...vmChangeWorkflows(deps),
          ...networkWorkflows(deps),
        ] as Workflow<unknown>[],
    });
  }, 3 * AGENT_START_BOUND_MS);

  afterAll(async () => {
    await f?.cleanup();
  });

  const readVm = (id: string) =>
    withPlatform(f.db, 'test: vm', (tx) =>
      tx.select().from(schema.vms).where(eq(schema.vms.id, id)),
    ).then((r) => r[0]);
  const readOp = (id: string) =>
    withPlatform(f.db, 'test: op', (tx) =>
      tx.select().from(schema.operations).where(eq(schema.operations.id, id)),
    ).then((r) => r[0]!);
  const rootOf = (vmId: string) =>
    withPlatform(f.db, 'test: root', (tx) =>
      tx.select().from(schema.volumes).where(eq(schema.volumes.vmId, vmId)),
    ).then((r) => r.find((v) => v.name === `root-${vmId}`));
  const bridges = async (agent: number) =>
    (await f.agents[agent]!.client.listSegments()).items.map((s) => s.bridge);
  const workflow = (kind: string) => f.workflows.find((w) => w.kind === kind)!;

  /** Runs every step twice, as a redelivery after a lost acknowledgement would. */
  async function everyStepTwice(kind: string, opId: string) {
    const wf = workflow(kind) as Workflow<VmContext>;
    const ctx = await wf.context(await readOp(opId));
    for (const step of wf.steps) {
      await step.run(ctx);
      await step.run(ctx);
    }
  }

  async function running(n: number, flavor = 'small', network = 0) {
    const { vm, op } = await f.acceptedCreate({ flavor, network, n });
    expect(await f.engine.run(op.id, attempt)).toBe('succeeded');
    return vm;
  }

  async function stopped(n: number, flavor = 'small') {
    const vm = await running(n, flavor);
    expect(await f.engine.run(await f.operation('vm.stop', vm.id), attempt)).toBe('succeeded');
    return vm;
  }

  /** What POST /v1/vms/{id}/resize writes (resize.ts): new flavor, the old one remembered, a new
   *  spec revision, the ledger moved by the difference, and the operation. */
  async function acceptedResize(vmId: string, to: string) {
    await withPlatform(f.db, 'test fixture: accepted vm.resize', async (tx) => {
      const [vm] = await tx.select().from(schema.vms).where(eq(schema.vms.id, vmId)).for('update');
      const flavors = await tx.select().from(schema.flavors);
      const fp = (id: string) => {
        const x = flavors.find((r) => r.id === id)!;
        return vmFootprint({ vcpus: x.vcpus, ramMiB: x.ramMib, diskGiB: x.diskGib });
      };
      const { usage } = await lockUsage(tx, { tenantId: f.tenantId });
      await writeUsage(tx, {
        tenantId: f.tenantId,
        usage: applyDelta(usage, resourceDelta(fp(vm!.flavorId), fp(f.flavors[to]!))),
      });
      await tx
        .update(schema.vms)
        .set({
          flavorId: f.flavors[to]!,
          resizeFromFlavorId: vm!.flavorId,
          specRevision: vm!.specRevision + 1,
        })
        .where(eq(schema.vms.id, vmId));
    });
    return f.operation('vm.resize', vmId);
  }

  it('resize grows the root volume, never shrinks it, and the next start runs the new size', async () => {
    const vm = await stopped(1);
    const before = await rootOf(vm.id);
    const opId = await acceptedResize(vm.id, 'big');
    await everyStepTwice('vm.resize', opId);
    expect(await f.engine.run(opId, attempt)).toBe('succeeded');
    expect(await f.engine.run(opId, attempt)).toBe('already-finished');

    const after = await readVm(vm.id);
    expect(after).toMatchObject({
      flavorId: f.flavors.big,
      resizeFromFlavorId: null,
      specRevision: vm.specRevision + 1,
      hostId: f.hosts[0],
    });
    const root = await rootOf(vm.id);
    expect(root).toMatchObject({ id: before!.id, sizeGib: 2 });
    const key = unwrapVolumeKey(masterKey, {
      tenantId: f.tenantId,
      volumeId: root!.id,
      wrapped: root!.wrappedKey!,
    });
    // The host's volume is 2 GiB now: a 1 GiB resize is refused as a shrink, naming that size.
    await expect(
      f.agents[0]!.client.resizeVolume({
        operationId: opId,
        volumeId: root!.id,
        sizeBytes: GiB,
        key,
      }),
    ).rejects.toMatchObject({ code: 'common.validation_failed', message: /2147483648/ });
    const { ledger, real } = await f.usage();
    expect(ledger).toEqual(real);

    expect(await f.engine.run(await f.operation('vm.start', vm.id), attempt)).toBe('succeeded');
    const xml = (await f.agents[0]!.client.get(vm.id))!.xml;
    expect(xml).toMatch(/<vcpu[^>]*>2<\/vcpu>/);
    expect(xml).toMatch(/<memory unit=["']KiB["']>524288<\/memory>/);
    expect(xml).toContain(`<palisade:specRevision>${vm.specRevision + 1}</palisade:specRevision>`);

    // Back to the small flavor: the disk keeps its 2 GiB (shrinking would cut the file system).
    expect(await f.engine.run(await f.operation('vm.stop', vm.id), attempt)).toBe('succeeded');
    const down = await acceptedResize(vm.id, 'small');
    expect(await f.engine.run(down, attempt)).toBe('succeeded');
    expect(await rootOf(vm.id)).toMatchObject({ sizeGib: 2 });
    expect(await readVm(vm.id)).toMatchObject({ flavorId: f.flavors.small });
  });

  it('a host that no longer fits refuses the resize with the per-filter reason; flavor and quota come back once', async () => {
    const vm = await stopped(2);
    const opId = await acceptedResize(vm.id, 'huge');
    // Mid-resize the ledger counts the huge flavor: it is the row that says so.
    expect((await f.usage()).ledger.ramMib).toBe((await f.usage()).real.ramMib);

    expect(await f.engine.run(opId, attempt)).toBe('failed');
    const op = await readOp(opId);
    expect(op.errorCode).toBe('placement.no_valid_host');
    expect(op.errorMessage).toMatch(/cannot hold flavor wfc-huge-.*RAM.*keeps its previous flavor/);
    expect(
      (op.steps as { name: string; state: string }[]).map((s) => `${s.name}:${s.state}`),
    ).toEqual(['claim:compensated', 'grow-root:skipped', 'commit:skipped']);
    const after = await readVm(vm.id);
    expect(after).toMatchObject({
      flavorId: f.flavors.small,
      resizeFromFlavorId: null,
      // Never an old revision again: the next start redefines the small size.
      specRevision: vm.specRevision + 2,
    });
    const once = await f.usage();
    expect(once.ledger).toEqual(once.real);

    // The undo again (an interrupted compensation resumed) gives nothing back twice.
    const wf = workflow('vm.resize') as Workflow<VmContext>;
    await wf.steps[0]!.undo!(await wf.context(op));
    expect(await f.usage()).toEqual(once);
    expect(await readVm(vm.id)).toMatchObject({ specRevision: vm.specRevision + 2 });
  });

  it('a resize whose host lost the root volume fails at grow-root and puts the flavor back', async () => {
    const vm = await stopped(3);
    const root = await rootOf(vm.id);
    await f.agents[0]!.client.deleteVolume('00000000-0000-4000-8000-000000000003', root!.id);
    const opId = await acceptedResize(vm.id, 'big');
    expect(await f.engine.run(opId, attempt)).toBe('failed');
    const op = await readOp(opId);
    expect(op.errorCode).toBe('common.not_found');
    expect(
      (op.steps as { name: string; state: string }[]).map((s) => `${s.name}:${s.state}`),
    ).toEqual(['claim:compensated', 'grow-root:compensated', 'commit:skipped']);
    expect(await readVm(vm.id)).toMatchObject({
      flavorId: f.flavors.small,
      resizeFromFlavorId: null,
    });
    expect(await rootOf(vm.id)).toMatchObject({ sizeGib: 1 });
    const { ledger, real } = await f.usage();
    expect(ledger).toEqual(real);
  });

  it('rebuild re-images the root with a new key from the new image, keeps MAC, IP and MCS pair, and runs again', async () => {
    const vm = await running(4);
    const [nicBefore] = await withPlatform(f.db, 'test: nic', (tx) =>
      tx.select().from(schema.nics).where(eq(schema.nics.vmId, vm.id)),
    );
    const before = await rootOf(vm.id);
    const oldKey = unwrapVolumeKey(masterKey, {
      tenantId: f.tenantId,
      volumeId: before!.id,
      wrapped: before!.wrappedKey!,
    });
    // What POST /v1/vms/{id}/rebuild writes (rebuild.ts): another image, a new spec revision.
    await withPlatform(f.db, 'test fixture: accepted vm.rebuild', (tx) =>
      tx
        .update(schema.vms)
        .set({ imageId: f.images[1]!.id, specRevision: vm.specRevision + 1 })
        .where(eq(schema.vms.id, vm.id)),
    );
    const opId = await f.operation('vm.rebuild', vm.id);
    await everyStepTwice('vm.rebuild', opId);
    expect(await f.engine.run(opId, attempt)).toBe('succeeded');

    const after = await readVm(vm.id);
    expect(after).toMatchObject({ observedState: 'running', mcsC1: vm.mcsC1, mcsC2: vm.mcsC2 });
    const root = await rootOf(vm.id);
    expect(root).toMatchObject({ id: before!.id, status: 'attached' });
    const newKey = unwrapVolumeKey(masterKey, {
      tenantId: f.tenantId,
      volumeId: root!.id,
      wrapped: root!.wrappedKey!,
    });
    expect(newKey).not.toBe(oldKey);
    // The host's volume was made again on the new image: one on the old image conflicts.
    const ensureOn = (image: number) =>
      f.agents[0]!.client.ensureVolume({
        operationId: opId,
        volumeId: root!.id,
        sizeBytes: GiB,
        base: { checksum: f.images[image]!.checksum, format: 'qcow2' },
        key: newKey,
      });
    await expect(ensureOn(0)).rejects.toMatchObject({ code: 'common.conflict' });
    expect(await ensureOn(1)).toMatchObject({ volumeId: root!.id, encrypted: true });

    const onHost = await f.agents[0]!.client.get(vm.id);
    expect(onHost?.state).toBe('running');
    expect(onHost?.xml).toContain(nicBefore!.mac);
    expect(onHost?.xml).toContain(`s0:c${vm.mcsC1},c${vm.mcsC2}`);
    const [nicAfter] = await withPlatform(f.db, 'test: nic', (tx) =>
      tx.select().from(schema.nics).where(eq(schema.nics.vmId, vm.id)),
    );
    expect(nicAfter).toMatchObject({ id: nicBefore!.id, mac: nicBefore!.mac, ip: nicBefore!.ip });
  });

  it('a stopped VM stays stopped after its rebuild', async () => {
    const vm = await stopped(5);
    await withPlatform(f.db, 'test fixture: accepted vm.rebuild', (tx) =>
      tx.update(schema.vms).set({ desiredState: 'stopped' }).where(eq(schema.vms.id, vm.id)),
    );
    expect(await f.engine.run(await f.operation('vm.rebuild', vm.id), attempt)).toBe('succeeded');
    expect(await readVm(vm.id)).toMatchObject({ observedState: 'stopped' });
    expect((await f.agents[0]!.client.get(vm.id))?.state).toBe('shutoff');
  });

  it('a rebuild of a VM with snapshots is refused before anything is erased, and the VM runs on', async () => {
    const vm = await running(10);
    const before = await rootOf(vm.id);
    await withPlatform(f.db, 'test fixture: a snapshot', (tx) =>
      tx
        .insert(schema.snapshots)
        .values({ tenantId: f.tenantId, vmId: vm.id, name: 'before', status: 'available' }),
    );
    const opId = await f.operation('vm.rebuild', vm.id);
    expect(await f.engine.run(opId, attempt)).toBe('failed');
    const op = await readOp(opId);
    expect(op.errorCode).toBe('resource.invalid_state');
    expect(op.errorMessage).toMatch(/has snapshots, which a rebuild would destroy/);
    // The disk and its key are untouched, and the VM's state is what its host says.
    expect(await rootOf(vm.id)).toMatchObject({
      id: before!.id,
      status: 'attached',
      wrappedKey: before!.wrappedKey,
    });
    expect(await readVm(vm.id)).toMatchObject({ observedState: 'running' });
    expect((await f.agents[0]!.client.get(vm.id))?.state).toBe('running');
    await withPlatform(f.db, 'test cleanup: the snapshot', (tx) =>
      tx.delete(schema.snapshots).where(eq(schema.snapshots.vmId, vm.id)),
    );
  });

  /** What DELETE /v1/vms/{id} writes: desired state deleted, the ledger released, the operation. */
  async function deleteVm(vmId: string) {
    await withPlatform(f.db, 'test fixture: accepted vm.delete', async (tx) => {
      const [row] = await tx
        .select({ vm: schema.vms, flavor: schema.flavors })
        .from(schema.vms)
        .innerJoin(schema.flavors, eq(schema.flavors.id, schema.vms.flavorId))
        .where(eq(schema.vms.id, vmId));
      const { usage } = await lockUsage(tx, { tenantId: f.tenantId });
      const fp = vmFootprint({
        vcpus: row!.flavor.vcpus,
        ramMiB: row!.flavor.ramMib,
        diskGiB: row!.flavor.diskGib,
      });
      await writeUsage(tx, {
        tenantId: f.tenantId,
        usage: applyDelta(usage, resourceDelta(fp, {})),
      });
      await tx.update(schema.vms).set({ desiredState: 'deleted' }).where(eq(schema.vms.id, vmId));
    });
    return f.engine.run(await f.operation('vm.delete', vmId), attempt);
  }

  it('the bridge of a segment leaves a host with the last VM there that uses it', async () => {
    // Every earlier VM on wfc-0 goes first; then two on network 0 share pbr-x100.
    const earlier = await withPlatform(f.db, 'test: vms', (tx) =>
      tx.select().from(schema.vms).where(eq(schema.vms.tenantId, f.tenantId)),
    );
    for (const v of earlier) expect(await deleteVm(v.id)).toBe('succeeded');
    const a = await running(6);
    const b = await running(7);
    expect(await bridges(0)).toEqual(['pbr-x100']);

    expect(await deleteVm(a.id)).toBe('succeeded');
    expect(await bridges(0)).toEqual(['pbr-x100']);
    expect((await f.agents[0]!.client.get(b.id))?.state).toBe('running');

    expect(await deleteVm(b.id)).toBe('succeeded');
    expect(await bridges(0)).toEqual([]);
    const { ledger, real } = await f.usage();
    expect(ledger).toEqual(real);
  });

  it('a failed create takes the bridge it made with it', async () => {
    expect(await bridges(1)).toEqual([]);
    const { vm, op } = await f.acceptedCreate({ flavor: 'strict', network: 1, n: 8 });
    expect(await f.engine.run(op.id, attempt)).toBe('failed');
    expect((await readOp(op.id)).errorCode).toBe('agent.isolation_unenforceable');
    expect(await readVm(vm.id)).toBeUndefined();
    expect(await bridges(1)).toEqual([]);
    const { ledger, real } = await f.usage();
    expect(ledger).toEqual(real);
  });

  /** What POST /v1/networks writes: a pending network with a segment ID, one network of quota. */
  async function acceptedNetwork(name: string, segmentId: number) {
    return withPlatform(f.db, 'test fixture: accepted network.create', async (tx) => {
      const [net] = await tx
        .insert(schema.networks)
        .values({
          tenantId: f.tenantId,
          fabricId: f.fabrics[0]!,
          name,
          segmentType: 'vxlan',
          segmentId,
          cidr: '10.30.0.0/24',
          gateway: '10.30.0.1',
        })
        .returning();
      const { usage } = await lockUsage(tx, { tenantId: f.tenantId });
      await writeUsage(tx, {
        tenantId: f.tenantId,
        usage: { ...usage, networks: usage.networks + 1 },
      });
      return net!;
    });
  }
  const readNetwork = (id: string) =>
    withPlatform(f.db, 'test: network', (tx) =>
      tx.select().from(schema.networks).where(eq(schema.networks.id, id)),
    ).then((r) => r[0]);

  it('network.create ends succeeded with the network active', async () => {
    const net = await acceptedNetwork('wfc-made', 150);
    const opId = await f.operation('network.create', net.id, 'network');
    await everyStepTwice('network.create', opId);
    expect(await f.engine.run(opId, attempt)).toBe('succeeded');
    expect(await f.engine.run(opId, attempt)).toBe('already-finished');
    expect(await readNetwork(net.id)).toMatchObject({ status: 'active', segmentId: 150 });
    const { ledger, real } = await f.usage();
    expect(ledger).toEqual(real);
  });

  it('a network whose segment left its fabric range fails, and its row and quota go back once', async () => {
    const before = await f.usage();
    // An operator shrank the fabric to 100-200 after this ID was handed out.
    const net = await acceptedNetwork('wfc-stray', 300);
    const opId = await f.operation('network.create', net.id, 'network');
    expect(await f.engine.run(opId, attempt)).toBe('failed');
    const op = await readOp(opId);
    expect(op.errorCode).toBe('resource.invalid_state');
    expect(op.errorMessage).toMatch(/segment 300 is outside fabric .* ranges 100-200/);
    expect(await readNetwork(net.id)).toBeUndefined();
    expect(await f.usage()).toEqual(before);
    const wf = workflow('network.create');
    await wf.steps[0]!.undo!(await wf.context(op));
    expect(await f.usage()).toEqual(before);
  });

  /** What DELETE /v1/networks/{id} writes: status deleting, the quota given back. */
  async function acceptedNetworkDelete(id: string) {
    await withPlatform(f.db, 'test fixture: accepted network.delete', async (tx) => {
      await tx
        .update(schema.networks)
        .set({ status: 'deleting' })
        .where(eq(schema.networks.id, id));
      const { usage } = await lockUsage(tx, { tenantId: f.tenantId });
      await writeUsage(tx, {
        tenantId: f.tenantId,
        usage: { ...usage, networks: usage.networks - 1 },
      });
    });
    return f.operation('network.delete', id, 'network');
  }

  it('network.delete removes the bridge from its hosts and the row, freeing the segment ID', async () => {
    const net = await acceptedNetwork('wfc-gone', 160);
    expect(
      await f.engine.run(await f.operation('network.create', net.id, 'network'), attempt),
    ).toBe('succeeded');
    // A bridge left on the host (as by a VM whose host was unreachable when it went).
    await f.agents[0]!.client.ensureSegment({
      operationId: '00000000-0000-4000-8000-000000000160',
      segment: { type: 'vxlan', id: 160 },
    });
    expect(await bridges(0)).toContain('pbr-x160');
    const opId = await acceptedNetworkDelete(net.id);
    await everyStepTwice('network.delete', opId);
    expect(await f.engine.run(opId, attempt)).toBe('succeeded');
    expect(await bridges(0)).not.toContain('pbr-x160');
    expect(await readNetwork(net.id)).toBeUndefined();
    const { ledger, real } = await f.usage();
    expect(ledger).toEqual(real);
  });

  it('network.delete that outlives a NIC of a VM being deleted fails and puts the network back, with its quota, once', async () => {
    const vm = await running(9);
    await withPlatform(f.db, 'test fixture: vm delete accepted, not run', (tx) =>
      tx.update(schema.vms).set({ desiredState: 'deleted' }).where(eq(schema.vms.id, vm.id)),
    );
    const net = f.networks[0]!;
    const opId = await acceptedNetworkDelete(net);
    expect(await f.engine.run(opId, attempt)).toBe('failed');
    const op = await readOp(opId);
    expect(op.errorMessage).toMatch(/Step nics failed/);
    expect(await readNetwork(net)).toMatchObject({ status: 'active' });
    expect(await bridges(0)).toEqual(['pbr-x100']);
    const once = await f.usage();
    // The VM is still counted (its delete was not run); the network counts again.
    expect(once.ledger.networks).toBe(once.real.networks);
    const wf = workflow('network.delete');
    await wf.steps[0]!.undo!(await wf.context(op));
    expect(await f.usage()).toEqual(once);
  });
});
