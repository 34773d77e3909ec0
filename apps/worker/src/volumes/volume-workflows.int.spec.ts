/**
 * Volume and snapshot workflows below the API: the production engine and workflows, the real
 * Postgres of the test stack and two real agent processes (AGENT_HYPERVISOR=simulated) over real
 * mTLS. Each accepted request is written as the API writes it (rows, quota ledger, operation and
 * its audit event in one transaction); VMs are made by the real vm.create and vm.stop workflows.
 *
 * Proven: a volume's key is made and stored only wrapped, and its file is made on the host of
 * the first VM it is attached to; attach, detach, extend, snapshots and delete reach the host and
 * the rows follow its answers; a host that refuses (VM running, volume on another host) ends the
 * operation failed with a tenant-readable message and gives rows and quota back, so the ledger
 * equals the real resources; a start racing an attach never gives the guest the volume; every
 * step run twice gives the same result.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq, notInArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, schema, withPlatform, type Db } from '@palisade/db';
import { loadStack } from '@palisade/testkit';
import { WorkflowEngine, type Workflow } from '../operations/engine';
import {
  AGENT_START_BOUND_MS,
  startAgentProcess,
  type AgentProcess,
} from '../testing/agent-process';
import { insertHostsWithNetworks, removeTenantWorkloads } from '../testing/host-fixture';
import { controlPlaneClientTls, type ClientTls } from '../vms/agent-client';
import { unwrapVolumeKey } from '../vms/volume-keys';
import { allWorkflows } from '../workflows';

const stack = loadStack('test');
const attempt = { attemptsMade: 0, maxAttempts: 1 };
const GiB = 1024 ** 3;

describe('volume and snapshot workflows (real Postgres, simulated agents over mTLS)', () => {
  let db: Db;
  let dir: string;
  let tls: ClientTls;
  let engine: WorkflowEngine;
  let workflows: Map<string, Workflow<unknown>>;
  const masterKey = Buffer.alloc(32, 5);
  const suffix = randomUUID().slice(0, 8);
  // MCS pairs are unique cluster-wide and other suites share this database.
  const mcsBase = 100 + (parseInt(suffix.slice(0, 3), 16) % 800);
  const agents: AgentProcess[] = [];
  const ids = {
    tenant: '',
    flavor: '',
    image: '',
    hosts: [] as string[],
    fabrics: [] as string[],
    networks: [] as string[],
  };
  let vmCount = 0;

  beforeAll(async () => {
    db = createDb(stack.postgres.appUrl, { max: 4 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-volwf-'));
    const file = path.join(dir, 'base.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '32M']);
    const checksum = createHash('sha256').update(readFileSync(file)).digest('hex');
    tls = await controlPlaneClientTls(path.join(dir, 'pki'), 1);
    for (const name of [`vol-a-${suffix}`, `vol-b-${suffix}`]) {
      const agent = await startAgentProcess({
        dir,
        name,
        tls,
        env: { AGENT_SIMULATED_SECURITY: 'selinux' },
      });
      writeFileSync(path.join(agent.stateDir, 'images', `${checksum}.qcow2`), readFileSync(file));
      agents.push(agent);
    }
    await withPlatform(db, 'test fixture: volume workflows', async (tx) => {
      const [tenant] = await tx
        .insert(schema.tenants)
        .values({ slug: `volwf-${suffix}`, name: 'Volume workflows' })
        .returning();
      ids.tenant = tenant!.id;
      await tx
        .insert(schema.quotas)
        .values({ tenantId: ids.tenant, volumes: 20, diskGib: 200, snapshots: 20 });
      const [flavor] = await tx
        .insert(schema.flavors)
        .values({ name: `volwf-${suffix}`, vcpus: 1, ramMib: 256, diskGib: 1 })
        .returning();
      ids.flavor = flavor!.id;
      const [img] = await tx
        .insert(schema.images)
        .values({
          name: `volwf-${suffix}`,
          os: 'test',
          format: 'qcow2',
          sizeBytes: 32 * 1024 * 1024,
          checksum,
          visibility: 'public',
          status: 'active',
        })
        .returning();
      ids.image = img!.id;
    });
    // One fabric per host, so the network decides which host a VM lands on.
    Object.assign(
      ids,
      await insertHostsWithNetworks(db, {
        tenantId: ids.tenant,
        agents,
        prefix: `volwf-${suffix}`,
        cidr: '10.30.0.0/24',
        gateway: '10.30.0.1',
      }),
    );
    workflows = new Map(allWorkflows({ db, tls, masterKey }).map((w) => [w.kind, w]));
    engine = new WorkflowEngine(db, workflows);
  }, 3 * AGENT_START_BOUND_MS);

  afterAll(async () => {
    for (const a of agents) if (a.proc.exitCode === null) a.proc.kill('SIGTERM');
    // The tenant, its ledger and its audit events stay: audit events are append-only.
    if (ids.tenant) await removeTenantWorkloads(db, ids.tenant, ids);
    if (ids.tenant)
      await withPlatform(db, 'test cleanup: volume workflows', async (tx) => {
        await tx.delete(schema.images).where(eq(schema.images.id, ids.image));
        await tx.delete(schema.flavors).where(eq(schema.flavors.id, ids.flavor));
      });
    await db?.$client.end();
    rmSync(dir, { recursive: true, force: true });
  });

  type Tx = Parameters<Parameters<typeof withPlatform>[2]>[0];

  /** What the API's `accept` writes: the change (with its quota), the operation and the audit
   *  event that records the request, in one transaction. */
  async function accept(
    kind: string,
    targetType: 'vm' | 'volume',
    change: (tx: Tx) => Promise<{ targetId: string; details?: Record<string, unknown> }>,
  ): Promise<string> {
    return withPlatform(db, `test fixture: accepted ${kind}`, async (tx) => {
      const { targetId, details } = await change(tx);
      const [op] = await tx
        .insert(schema.operations)
        .values({
          tenantId: ids.tenant,
          kind,
          targetType,
          targetId,
          actor: 'test',
          deadline: new Date(Date.now() + 3_600_000),
        })
        .returning();
      await tx.insert(schema.auditEvents).values({
        tenantId: ids.tenant,
        actorType: 'user',
        actorId: 'test',
        action: kind,
        targetType,
        targetId,
        outcome: 'success',
        details: { ...details, operationId: op!.id },
      });
      return op!.id;
    });
  }

  /** Moves the ledger as the API's consume/release do. */
  async function ledger(tx: Tx, d: { volumes?: number; diskGib?: number; snapshots?: number }) {
    await tx.insert(schema.tenantUsage).values({ tenantId: ids.tenant }).onConflictDoNothing();
    const [u] = await tx
      .select()
      .from(schema.tenantUsage)
      .where(eq(schema.tenantUsage.tenantId, ids.tenant))
      .for('update');
    await tx
      .update(schema.tenantUsage)
      .set({
        volumes: u!.volumes + (d.volumes ?? 0),
        diskGib: u!.diskGib + (d.diskGib ?? 0),
        snapshots: u!.snapshots + (d.snapshots ?? 0),
      })
      .where(eq(schema.tenantUsage.tenantId, ids.tenant));
  }

  /** The ledger next to what really exists (this tenant's VMs take no quota in these tests). */
  async function quotaAndReal() {
    return withPlatform(db, 'test: quota', async (tx) => {
      const [u] = await tx
        .select()
        .from(schema.tenantUsage)
        .where(eq(schema.tenantUsage.tenantId, ids.tenant));
      const vols = (
        await tx
          .select()
          .from(schema.volumes)
          .where(
            and(
              eq(schema.volumes.tenantId, ids.tenant),
              notInArray(schema.volumes.status, ['deleting', 'deleted']),
            ),
          )
      ).filter((v) => !v.name.startsWith('root-'));
      const snaps = await tx
        .select()
        .from(schema.snapshots)
        .where(
          and(
            eq(schema.snapshots.tenantId, ids.tenant),
            notInArray(schema.snapshots.status, ['deleting']),
          ),
        );
      return {
        ledger: {
          volumes: u?.volumes ?? 0,
          diskGib: u?.diskGib ?? 0,
          snapshots: u?.snapshots ?? 0,
        },
        real: {
          volumes: vols.length,
          diskGib: vols.reduce((s, v) => s + v.sizeGib, 0),
          snapshots: snaps.length,
        },
      };
    });
  }
  const expectLedgerEqualsReal = async () => {
    const q = await quotaAndReal();
    expect(q.ledger).toEqual(q.real);
  };

  const readOp = (id: string) =>
    withPlatform(db, 'test: op', (tx) =>
      tx.select().from(schema.operations).where(eq(schema.operations.id, id)),
    ).then((r) => r[0]!);
  const readVolume = (id: string) =>
    withPlatform(db, 'test: volume', (tx) =>
      tx.select().from(schema.volumes).where(eq(schema.volumes.id, id)),
    ).then((r) => r[0]);
  const readSnapshot = (id: string) =>
    withPlatform(db, 'test: snapshot', (tx) =>
      tx.select().from(schema.snapshots).where(eq(schema.snapshots.id, id)),
    ).then((r) => r[0]);

  async function run(opId: string, expected: 'succeeded' | 'failed') {
    const outcome = await engine.run(opId, attempt);
    const op = await readOp(opId);
    expect(outcome, `${op.kind}: ${op.errorCode} ${op.errorMessage}`).toBe(expected);
    return op;
  }

  /** A VM made by the real vm.create workflow on host `h`, then stopped by vm.stop. */
  async function stoppedVm(h: number) {
    const n = ++vmCount;
    const vm = await withPlatform(db, 'test fixture: vm', async (tx) => {
      const [row] = await tx
        .insert(schema.vms)
        .values({
          tenantId: ids.tenant,
          name: `volwf-vm-${n}`,
          flavorId: ids.flavor,
          imageId: ids.image,
          mcsC1: mcsBase + n * 2,
          mcsC2: mcsBase + 1 + n * 2,
        })
        .returning();
      await tx.insert(schema.nics).values({
        tenantId: ids.tenant,
        vmId: row!.id,
        networkId: ids.networks[h]!,
        mac: `52:54:00:6d:${suffix.slice(0, 2)}:${(10 + n).toString(16).padStart(2, '0')}`,
        ip: `10.30.0.${10 + n}`,
      });
      return row!;
    });
    await run(await accept('vm.create', 'vm', async () => ({ targetId: vm.id })), 'succeeded');
    await run(await accept('vm.stop', 'vm', async () => ({ targetId: vm.id })), 'succeeded');
    return vm;
  }

  async function createVolume(name: string, sizeGib: number) {
    let volumeId = '';
    const opId = await accept('volume.create', 'volume', async (tx) => {
      await ledger(tx, { volumes: 1, diskGib: sizeGib });
      const [v] = await tx
        .insert(schema.volumes)
        .values({ tenantId: ids.tenant, name: `${name}-${suffix}`, sizeGib })
        .returning();
      volumeId = v!.id;
      return { targetId: v!.id };
    });
    await run(opId, 'succeeded');
    return volumeId;
  }

  const attach = (volumeId: string, vmId: string) =>
    accept('volume.attach', 'volume', async (tx) => {
      await tx.update(schema.volumes).set({ vmId }).where(eq(schema.volumes.id, volumeId));
      return { targetId: volumeId, details: { vmId } };
    });
  const detach = (volumeId: string, vmId: string) =>
    accept('volume.detach', 'volume', async (tx) => {
      await tx.update(schema.volumes).set({ vmId: null }).where(eq(schema.volumes.id, volumeId));
      return { targetId: volumeId, details: { vmId } };
    });
  const extend = (volumeId: string, from: number, to: number) =>
    accept('volume.extend', 'volume', async (tx) => {
      await ledger(tx, { diskGib: to - from });
      await tx.update(schema.volumes).set({ sizeGib: to }).where(eq(schema.volumes.id, volumeId));
      return { targetId: volumeId, details: { from, to } };
    });
  const snapshotOp = async (kind: string, vmId: string, snapshotId: string) =>
    accept(kind, 'vm', async (tx) => {
      if (kind === 'snapshot.delete') {
        await tx
          .update(schema.snapshots)
          .set({ status: 'deleting' })
          .where(eq(schema.snapshots.id, snapshotId));
        await ledger(tx, { snapshots: -1 });
      }
      return { targetId: vmId, details: { snapshotId } };
    });
  async function createSnapshot(vmId: string, name: string) {
    let snapshotId = '';
    const opId = await accept('snapshot.create', 'vm', async (tx) => {
      await ledger(tx, { snapshots: 1 });
      const [s] = await tx
        .insert(schema.snapshots)
        .values({ tenantId: ids.tenant, vmId, name })
        .returning();
      snapshotId = s!.id;
      return { targetId: vmId, details: { snapshotId } };
    });
    return { opId, snapshotId };
  }

  /** The volume IDs among the disks of the VM's definition on its host. */
  async function disksOnHost(h: number, vmId: string) {
    const d = await agents[h]!.client.get(vmId);
    return [...(d?.xml ?? '').matchAll(/volumes\/([0-9a-f-]{36})\.qcow2/g)].map((m) => m[1]);
  }

  it('creates a volume: a key stored only wrapped, no file until it is attached', async () => {
    const id = await createVolume('plain', 2);
    const v = await readVolume(id);
    expect(v).toMatchObject({ status: 'available', hostId: null, vmId: null });
    const key = unwrapVolumeKey(masterKey, {
      tenantId: ids.tenant,
      volumeId: id,
      wrapped: v!.wrappedKey!,
    });
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(v!.wrappedKey!.includes(Buffer.from(key))).toBe(false);
    await expectLedgerEqualsReal();
  });

  it('attach, snapshot, revert, detach, extend and delete reach the host; the rows follow its answers', async () => {
    const vm = await stoppedVm(0);
    const id = await createVolume('data', 1);

    await run(await attach(id, vm.id), 'succeeded');
    expect(await readVolume(id)).toMatchObject({
      status: 'attached',
      vmId: vm.id,
      hostId: ids.hosts[0],
    });
    const disks = await disksOnHost(0, vm.id);
    expect(disks).toHaveLength(2);
    expect(disks[1]).toBe(id);

    // A start defines the VM with both disks and their keys (the host needs every secret).
    await run(await accept('vm.start', 'vm', async () => ({ targetId: vm.id })), 'succeeded');
    expect((await agents[0]!.client.get(vm.id))?.state).toBe('running');
    expect(await disksOnHost(0, vm.id)).toEqual(disks);
    await run(await accept('vm.stop', 'vm', async () => ({ targetId: vm.id })), 'succeeded');

    // A snapshot of both disks, named by its ID on the host.
    const snap = await createSnapshot(vm.id, 's1');
    await run(snap.opId, 'succeeded');
    expect(await readSnapshot(snap.snapshotId)).toMatchObject({ status: 'available' });
    expect((await agents[0]!.client.listSnapshots(vm.id)).items).toEqual([snap.snapshotId]);
    await run(await snapshotOp('snapshot.revert', vm.id, snap.snapshotId), 'succeeded');
    await run(await snapshotOp('snapshot.delete', vm.id, snap.snapshotId), 'succeeded');
    expect(await readSnapshot(snap.snapshotId)).toBeUndefined();
    expect((await agents[0]!.client.listSnapshots(vm.id)).items).toEqual([]);
    await expectLedgerEqualsReal();

    await run(await detach(id, vm.id), 'succeeded');
    expect(await readVolume(id)).toMatchObject({ status: 'available', vmId: null });
    expect(await disksOnHost(0, vm.id)).toEqual([disks[0]]);

    // Extend grows the file on the host where the volume lives.
    await run(await extend(id, 1, 3), 'succeeded');
    const v = (await readVolume(id))!;
    const key = unwrapVolumeKey(masterKey, {
      tenantId: ids.tenant,
      volumeId: id,
      wrapped: v.wrappedKey!,
    });
    const onHost = await agents[0]!.client.resizeVolume({
      operationId: randomUUID(),
      volumeId: id,
      sizeBytes: 3 * GiB,
      key,
    });
    expect(onHost.virtualSizeBytes).toBe(3 * GiB);
    await expectLedgerEqualsReal();

    // Delete: as the API accepts it (quota released at once), then crypto-erase, file, row.
    const del = await accept('volume.delete', 'volume', async (tx) => {
      await ledger(tx, { volumes: -1, diskGib: -3 });
      await tx.update(schema.volumes).set({ status: 'deleting' }).where(eq(schema.volumes.id, id));
      return { targetId: id };
    });
    await run(del, 'succeeded');
    expect(await readVolume(id)).toBeUndefined();
    await expect(
      agents[0]!.client.resizeVolume({ operationId: del, volumeId: id, sizeBytes: 4 * GiB, key }),
    ).rejects.toMatchObject({ code: 'common.not_found' });
    await expectLedgerEqualsReal();
  });

  it('every step of attach and snapshot create run twice gives the same result (idempotent)', async () => {
    const vm = await stoppedVm(0);
    const id = await createVolume('twice', 1);
    const twice = async (opId: string) => {
      const op = await readOp(opId);
      const wf = workflows.get(op.kind)!;
      const ctx = await wf.context(op);
      for (const step of wf.steps) {
        await step.run(ctx);
        await step.run(ctx);
      }
    };
    await twice(await attach(id, vm.id));
    expect(await disksOnHost(0, vm.id)).toHaveLength(2);
    expect(await readVolume(id)).toMatchObject({ status: 'attached', hostId: ids.hosts[0] });
    const snap = await createSnapshot(vm.id, 'twice');
    await twice(snap.opId);
    expect((await agents[0]!.client.listSnapshots(vm.id)).items).toEqual([snap.snapshotId]);
    expect(await readSnapshot(snap.snapshotId)).toMatchObject({ status: 'available' });
    await expectLedgerEqualsReal();
  });

  it('a VM running on its host refuses snapshots (create, revert, delete), extend and detach; each is given back and the ledger equals the real resources', async () => {
    const vm = await stoppedVm(0);
    const id = await createVolume('busy', 1);
    await run(await attach(id, vm.id), 'succeeded');
    const kept = await createSnapshot(vm.id, 'kept');
    await run(kept.opId, 'succeeded');
    // The host runs the VM: a start reached it after the API accepted these requests.
    await run(await accept('vm.start', 'vm', async () => ({ targetId: vm.id })), 'succeeded');

    const rev = await run(await snapshotOp('snapshot.revert', vm.id, kept.snapshotId), 'failed');
    expect(rev.errorMessage).toBe(
      `VM ${vm.name} is running on its host; stop it to revert to a snapshot.`,
    );
    // A refused delete gives the snapshot back: the row is available and counted again.
    const del = await run(await snapshotOp('snapshot.delete', vm.id, kept.snapshotId), 'failed');
    expect(del.errorMessage).toBe(
      `VM ${vm.name} is running on its host; stop it to delete a snapshot.`,
    );
    expect(await readSnapshot(kept.snapshotId)).toMatchObject({ status: 'available' });
    expect((await agents[0]!.client.listSnapshots(vm.id)).items).toEqual([kept.snapshotId]);
    await expectLedgerEqualsReal();

    const snap = await createSnapshot(vm.id, 'live');
    const failed = await run(snap.opId, 'failed');
    expect(failed.errorCode).toBe('resource.invalid_state');
    expect(failed.errorMessage).toBe(
      `VM ${vm.name} is running on its host; stop it to take a snapshot.`,
    );
    expect(await readSnapshot(snap.snapshotId)).toBeUndefined();
    expect((await agents[0]!.client.listSnapshots(vm.id)).items).toEqual([kept.snapshotId]);
    await expectLedgerEqualsReal();

    const ext = await run(await extend(id, 1, 5), 'failed');
    expect(ext.errorMessage).toBe(
      'The volume is attached to a running VM; stop the VM to resize it.',
    );
    expect(await readVolume(id)).toMatchObject({ sizeGib: 1 });
    await expectLedgerEqualsReal();
    // The undo run again (a worker died while undoing) gives nothing back twice.
    const wf = workflows.get('volume.extend')!;
    await wf.steps[0]!.undo!(await wf.context(ext));
    expect(await readVolume(id)).toMatchObject({ sizeGib: 1 });
    await expectLedgerEqualsReal();

    const det = await run(await detach(id, vm.id), 'failed');
    expect(det.errorMessage).toBe('The VM is running on its host; stop it to change its disks.');
    expect(await readVolume(id)).toMatchObject({ status: 'attached', vmId: vm.id });
    expect(await disksOnHost(0, vm.id)).toContain(id);
    await expectLedgerEqualsReal();
  });

  it('a start that reaches the host during an attach leaves the volume out of the guest; the attach is given back', async () => {
    const vm = await stoppedVm(0);
    const id = await createVolume('raced', 1);
    const opId = await attach(id, vm.id);
    // The attach's worker made the file, then a start reached the host before its define.
    const wf = workflows.get('volume.attach')!;
    const ctx = await wf.context(await readOp(opId));
    await wf.steps[0]!.run(ctx);
    await wf.steps[1]!.run(ctx);
    await run(await accept('vm.start', 'vm', async () => ({ targetId: vm.id })), 'succeeded');
    expect((await agents[0]!.client.get(vm.id))?.state).toBe('running');
    expect(await disksOnHost(0, vm.id)).not.toContain(id);

    const op = await run(opId, 'failed');
    expect(op.errorMessage).toBe(
      `VM ${vm.name} is not stopped on its host; stop it to attach a volume (no hot-plug).`,
    );
    expect(await readVolume(id)).toMatchObject({ status: 'available', vmId: null });
    expect(await disksOnHost(0, vm.id)).not.toContain(id);
    await expectLedgerEqualsReal();
  });

  it('a volume made on one host is refused by a VM on another, and stays available where it lives', async () => {
    const onA = await stoppedVm(0);
    const onB = await stoppedVm(1);
    const id = await createVolume('local', 1);
    await run(await attach(id, onA.id), 'succeeded');
    await run(await detach(id, onA.id), 'succeeded');

    const op = await run(await attach(id, onB.id), 'failed');
    expect(op.errorCode).toBe('resource.invalid_state');
    expect(op.errorMessage).toBe(
      `Volume local-${suffix} lives on host ${agents[0]!.name} and VM ${onB.name} runs on host ${agents[1]!.name}; volumes do not move between hosts, so attach it to a VM on ${agents[0]!.name}.`,
    );
    expect(await readVolume(id)).toMatchObject({
      status: 'available',
      vmId: null,
      hostId: ids.hosts[0],
    });
    expect(await disksOnHost(1, onB.id)).toHaveLength(1);
    await expectLedgerEqualsReal();
  });

  it('deleting a VM hands its data volume back as available; its root volume is gone', async () => {
    const vm = await stoppedVm(0);
    const id = await createVolume('survivor', 1);
    await run(await attach(id, vm.id), 'succeeded');
    const del = await accept('vm.delete', 'vm', async (tx) => {
      await tx.update(schema.vms).set({ desiredState: 'deleted' }).where(eq(schema.vms.id, vm.id));
      return { targetId: vm.id };
    });
    await run(del, 'succeeded');
    expect(await agents[0]!.client.get(vm.id)).toBeNull();
    expect(await readVolume(id)).toMatchObject({ status: 'available', vmId: null });
    await expectLedgerEqualsReal();
  });

  it('deleting a VM with snapshots removes their rows and gives their quota back (they lived in its disk)', async () => {
    const vm = await stoppedVm(0);
    const snap = await createSnapshot(vm.id, 'before-delete');
    await run(snap.opId, 'succeeded');
    const del = await accept('vm.delete', 'vm', async (tx) => {
      await tx.update(schema.vms).set({ desiredState: 'deleted' }).where(eq(schema.vms.id, vm.id));
      return { targetId: vm.id };
    });
    await run(del, 'succeeded');
    expect(await agents[0]!.client.get(vm.id)).toBeNull();
    const left = await withPlatform(db, 'test: snapshots of a deleted VM', (tx) =>
      tx.select().from(schema.snapshots).where(eq(schema.snapshots.vmId, vm.id)),
    );
    expect(left).toEqual([]);
    await expectLedgerEqualsReal();
  });
});
