/**
 * host.drain with cold migration below the API: the production engine and workflows (vm.create
 * to put VMs on the host, host.drain and the vm.migrate operations it runs), the real Postgres
 * of the test stack, and three real agent processes (AGENT_HYPERVISOR=simulated) over real mTLS.
 * Volumes move through the agents' real export and import routes (streamed, SHA-256 verified).
 *
 * Proven: a drain moves every VM (running ones run on their new host, stopped ones stay stopped),
 * one vm.migrate operation per VM in its tenant's timeline; the source keeps no domain and no
 * volume, the claims are on the targets only, the quota ledger is unchanged and the host ends in
 * maintenance. With no room anywhere the drain fails with placement's per-filter reason and
 * changes nothing. A migration that fails mid-way (the target cannot verify the base image)
 * leaves the VM on its source, running as before, with nothing left on the target. A drain
 * whose worker died after a migration had finished resumes from its recorded steps: it cleans
 * the source and does not migrate the VM again. Bad import headers are refused naming them.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { request } from 'node:https';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@palisade/contracts';
import {
  createDb,
  loadPlacementHosts,
  lockUsage,
  readUsage,
  schema,
  withPlatform,
  writeUsage,
  type Db,
} from '@palisade/db';
import { loadStack } from '@palisade/testkit';
import { WorkflowEngine, type Workflow } from '../operations/engine';
import {
  AGENT_START_BOUND_MS,
  startAgentProcess,
  type AgentProcess,
} from '../testing/agent-process';
import { controlPlaneClientTls, type ClientTls } from '../vms/agent-client';
import { vmWorkflows } from '../vms/vm-workflows';
import { drainWorkflows } from './drain-workflow';
import { migrateWorkflow } from './migrate-workflow';

const stack = loadStack('test');
const attempt = { attemptsMade: 0, maxAttempts: 1 };

describe('host.drain: cold migration (real Postgres, simulated agents over mTLS)', () => {
  let db: Db;
  let dir: string;
  let tls: ClientTls;
  let engine: WorkflowEngine;
  const masterKey = Buffer.alloc(32, 9);
  const suffix = randomUUID().slice(0, 8);
  const mcsBase = parseInt(suffix.slice(0, 3), 16) % 900;
  const agents: AgentProcess[] = [];
  let image: { checksum: string; file: string };
  const ids = { tenant: '', flavor: '', image: '', fabric: '', network: '', hosts: [] as string[] };
  let n = 0;
  /** After the first test: the running VM's new host, and the other target (by index). */
  const moved = { vmId: '', host: 0, other: 0 };

  beforeAll(async () => {
    db = createDb(stack.postgres.appUrl, { max: 4 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-drain-'));
    image = { file: path.join(dir, 'base.qcow2'), checksum: '' };
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', image.file, '32M']);
    image.checksum = createHash('sha256').update(readFileSync(image.file)).digest('hex');
    tls = await controlPlaneClientTls(path.join(dir, 'pki'), 1);
    for (const i of [0, 1, 2]) {
      const agent = await startAgentProcess({
        dir,
        name: `dr${i}-${suffix}`,
        tls,
        env: { AGENT_SIMULATED_SECURITY: 'selinux' },
      });
      writeFileSync(
        path.join(agent.stateDir, 'images', `${image.checksum}.qcow2`),
        readFileSync(image.file),
      );
      agents.push(agent);
    }
    await withPlatform(db, 'test fixture: drain', async (tx) => {
      const [tenant] = await tx
        .insert(schema.tenants)
        .values({ slug: `dr-${suffix}`, name: 'Drain' })
        .returning();
      ids.tenant = tenant!.id;
      const [flavor] = await tx
        .insert(schema.flavors)
        .values({ name: `dr-${suffix}`, vcpus: 1, ramMib: 256, diskGib: 1, svirtRequired: true })
        .returning();
      ids.flavor = flavor!.id;
      const [img] = await tx
        .insert(schema.images)
        .values({
          name: `dr-${suffix}`,
          os: 'test',
          format: 'qcow2',
          sizeBytes: 32 * 1024 * 1024,
          checksum: image.checksum,
          visibility: 'public',
          status: 'active',
        })
        .returning();
      ids.image = img!.id;
      const [fabric] = await tx
        .insert(schema.fabrics)
        .values({ name: `dr-${suffix}`, type: 'vxlan', device: 'ul0', segmentRanges: '100-200' })
        .returning();
      ids.fabric = fabric!.id;
      const [network] = await tx
        .insert(schema.networks)
        .values({
          tenantId: ids.tenant,
          fabricId: fabric!.id,
          name: 'dr-net',
          segmentType: 'vxlan',
          segmentId: 150,
          cidr: '10.30.0.0/24',
          gateway: '10.30.0.1',
          status: 'active',
        })
        .returning();
      ids.network = network!.id;
      // Only host 0 is up while the VMs are created, so they all land there.
      for (const [i, agent] of agents.entries()) {
        const [host] = await tx
          .insert(schema.hosts)
          .values({
            name: agent.name,
            state: i === 0 ? 'up' : 'maintenance',
            agentUrl: agent.url,
            cpus: 8,
            ramMib: 8192,
            diskGib: 100,
            securityModels: ['selinux', 'dac'],
            acceleration: 'kvm',
            compliance: { status: 'compliant' },
          })
          .returning();
        await tx.insert(schema.hostFabrics).values({ hostId: host!.id, fabricId: fabric!.id });
        ids.hosts.push(host!.id);
      }
      await lockUsage(tx, { tenantId: ids.tenant });
      await writeUsage(tx, {
        tenantId: ids.tenant,
        usage: {
          vcpus: 2,
          ramMiB: 512,
          diskGiB: 2,
          vms: 2,
          volumes: 2,
          snapshots: 0,
          networks: 1,
          publicIps: 0,
        },
      });
    });
    const workflows = [
      ...vmWorkflows({ db, tls, masterKey }),
      ...drainWorkflows({ db, tls, masterKey }, { migrationAttempts: 2, migrationBackoffMs: 50 }),
    ] as Workflow<unknown>[];
    engine = new WorkflowEngine(db, new Map(workflows.map((w) => [w.kind, w])));
  }, 4 * AGENT_START_BOUND_MS);

  afterAll(async () => {
    for (const a of agents) if (a.proc.exitCode === null) a.proc.kill('SIGTERM');
    if (ids.tenant)
      await withPlatform(db, 'test cleanup: drain', async (tx) => {
        await tx.delete(schema.operations).where(eq(schema.operations.tenantId, ids.tenant));
        await tx.delete(schema.operations).where(inArray(schema.operations.targetId, ids.hosts));
        await tx.delete(schema.volumes).where(eq(schema.volumes.tenantId, ids.tenant));
        await tx.delete(schema.vms).where(eq(schema.vms.tenantId, ids.tenant));
        await tx.delete(schema.networks).where(eq(schema.networks.tenantId, ids.tenant));
        await tx.delete(schema.hostFabrics).where(inArray(schema.hostFabrics.hostId, ids.hosts));
        await tx.delete(schema.fabrics).where(eq(schema.fabrics.id, ids.fabric));
        await tx.delete(schema.hosts).where(inArray(schema.hosts.id, ids.hosts));
        await tx.delete(schema.images).where(eq(schema.images.id, ids.image));
        await tx.delete(schema.flavors).where(eq(schema.flavors.id, ids.flavor));
        await tx.delete(schema.tenantUsage).where(eq(schema.tenantUsage.tenantId, ids.tenant));
        await tx.delete(schema.tenants).where(eq(schema.tenants.id, ids.tenant));
      });
    await db?.$client.end();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A VM created through the real vm.create workflow (on whichever host is up). */
  async function createVm(): Promise<string> {
    const i = ++n;
    const { vmId, opId } = await withPlatform(db, 'test fixture: vm.create', async (tx) => {
      const [vm] = await tx
        .insert(schema.vms)
        .values({
          tenantId: ids.tenant,
          name: `dr-vm-${i}`,
          flavorId: ids.flavor,
          imageId: ids.image,
          mcsC1: mcsBase + i * 2,
          mcsC2: mcsBase + 1 + i * 2,
        })
        .returning();
      await tx.insert(schema.nics).values({
        tenantId: ids.tenant,
        vmId: vm!.id,
        networkId: ids.network,
        mac: `52:54:00:7d:${suffix.slice(0, 2)}:${(10 + i).toString(16).padStart(2, '0')}`,
        ip: `10.30.0.${10 + i}`,
      });
      const [op] = await tx
        .insert(schema.operations)
        .values({
          tenantId: ids.tenant,
          kind: 'vm.create',
          targetType: 'vm',
          targetId: vm!.id,
          actor: 'test',
          deadline: new Date(Date.now() + 3_600_000),
        })
        .returning();
      return { vmId: vm!.id, opId: op!.id };
    });
    expect(await engine.run(opId, attempt)).toBe('succeeded');
    return vmId;
  }

  /** What the API writes for a tenant's stop (desired state, operation), run by the worker. */
  async function stopVm(vmId: string): Promise<void> {
    const opId = await withPlatform(db, 'test fixture: vm.stop', async (tx) => {
      await tx.update(schema.vms).set({ desiredState: 'stopped' }).where(eq(schema.vms.id, vmId));
      const [op] = await tx
        .insert(schema.operations)
        .values({
          tenantId: ids.tenant,
          kind: 'vm.stop',
          targetType: 'vm',
          targetId: vmId,
          actor: 'test',
          deadline: new Date(Date.now() + 3_600_000),
        })
        .returning();
      return op!.id;
    });
    expect(await engine.run(opId, attempt)).toBe('succeeded');
  }

  /** What admin.hosts.drain writes: the host draining, a pending host.drain operation. */
  async function drain(hostId: string): Promise<string> {
    return withPlatform(db, 'test fixture: host.drain', async (tx) => {
      await tx.update(schema.hosts).set({ state: 'draining' }).where(eq(schema.hosts.id, hostId));
      const [op] = await tx
        .insert(schema.operations)
        .values({
          tenantId: null,
          kind: 'host.drain',
          targetType: 'host',
          targetId: hostId,
          actor: 'operator',
          deadline: new Date(Date.now() + 3_600_000),
        })
        .returning();
      return op!.id;
    });
  }

  const setHost = (i: number, set: Partial<typeof schema.hosts.$inferInsert>) =>
    withPlatform(db, 'test: host', (tx) =>
      tx.update(schema.hosts).set(set).where(eq(schema.hosts.id, ids.hosts[i]!)),
    );
  const readOp = (id: string) =>
    withPlatform(db, 'test: op', (tx) =>
      tx.select().from(schema.operations).where(eq(schema.operations.id, id)),
    ).then((r) => r[0]!);
  const readVm = (id: string) =>
    withPlatform(db, 'test: vm', (tx) =>
      tx.select().from(schema.vms).where(eq(schema.vms.id, id)),
    ).then((r) => r[0]!);
  const volumesOf = (vmId: string) =>
    withPlatform(db, 'test: volumes', (tx) =>
      tx.select().from(schema.volumes).where(eq(schema.volumes.vmId, vmId)),
    );
  const migrationsOf = (vmId: string) =>
    withPlatform(db, 'test: migrations', (tx) =>
      tx
        .select()
        .from(schema.operations)
        .where(
          and(
            eq(schema.operations.tenantId, ids.tenant),
            eq(schema.operations.targetId, vmId),
            eq(schema.operations.kind, 'vm.migrate'),
          ),
        ),
    );
  const allocated = async (i: number) =>
    (await withPlatform(db, 'test: placement', (tx) => loadPlacementHosts(tx, [ids.hosts[i]!])))[0]!
      .allocated;

  /** A raw call to an agent's volume-transfer routes with the control-plane certificate. */
  const rawCall = (
    agent: AgentProcess,
    method: 'GET' | 'POST',
    route: string,
    headers: Record<string, string> = {},
    body = '',
  ) =>
    new Promise<{ status: number; text: string }>((resolve, reject) => {
      const req = request(
        new URL(route, agent.url),
        {
          method,
          headers,
          key: tls.key,
          cert: tls.cert,
          ca: tls.ca,
          checkServerIdentity: () => undefined,
        },
        (res) => {
          let text = '';
          res.on('data', (b: Buffer) => (text += b.toString('latin1')));
          res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
        },
      );
      req.on('error', reject);
      req.end(body);
    });
  /** The agent's export status for a volume: 200 when the host holds it, 404 when not. */
  const volumeStatus = async (agent: AgentProcess, volumeId: string) =>
    (await rawCall(agent, 'GET', `/v1/volumes/${volumeId}/export`)).status;

  it('an import with a malformed checksum or base header is refused naming the header', async () => {
    const id = randomUUID();
    const base = {
      'content-type': 'application/octet-stream',
      'x-palisade-operation-id': randomUUID(),
    };
    const badSha = await rawCall(
      agents[1]!,
      'POST',
      `/v1/volumes/${id}/import`,
      {
        ...base,
        'x-palisade-sha256': 'not-a-sha',
      },
      'bytes',
    );
    expect(badSha.status).toBe(400);
    expect(JSON.parse(badSha.text)).toMatchObject({ code: ErrorCode.VALIDATION_FAILED });
    expect(badSha.text).toContain('x-palisade-sha256');
    const badBase = await rawCall(
      agents[1]!,
      'POST',
      `/v1/volumes/${id}/import`,
      {
        ...base,
        'x-palisade-sha256': '0'.repeat(64),
        'x-palisade-base': '../../etc/passwd',
      },
      'bytes',
    );
    expect(badBase.status).toBe(400);
    expect(badBase.text).toContain('x-palisade-base');
    const badId = await rawCall(agents[1]!, 'GET', '/v1/volumes/nope/export');
    expect(badId.status).toBe(400);
    expect(badId.text).toContain('id');
    // Nothing was written for the refused imports.
    expect(await volumeStatus(agents[1]!, id)).toBe(404);
  });

  it('moves every VM off the host: running ones run on their target, nothing is left, quota unchanged, host in maintenance', async () => {
    const running = await createVm();
    const stopped = await createVm();
    await stopVm(stopped);
    const vmIds = [running, stopped];
    for (const id of vmIds) expect((await readVm(id)).hostId).toBe(ids.hosts[0]);
    // The source holds both volumes; the running VM's cannot be exported while it runs.
    const [runningRoot] = await volumesOf(running);
    const [stoppedRoot] = await volumesOf(stopped);
    expect(await volumeStatus(agents[0]!, runningRoot!.id)).toBe(409);
    expect(await volumeStatus(agents[0]!, stoppedRoot!.id)).toBe(200);
    await setHost(1, { state: 'up' });
    await setHost(2, { state: 'up' });
    const usageBefore = await withPlatform(db, 'test: usage', (tx) =>
      readUsage(tx, { tenantId: ids.tenant }),
    );

    const drainId = await drain(ids.hosts[0]!);
    expect(await engine.run(drainId, attempt)).toBe('succeeded');

    const op = await readOp(drainId);
    expect(op.steps.map((s) => [s.name, s.state])).toEqual([
      ['migrate-vms', 'done'],
      ['maintenance', 'done'],
    ]);
    const source = await withPlatform(db, 'test: host', (tx) =>
      tx.select().from(schema.hosts).where(eq(schema.hosts.id, ids.hosts[0]!)),
    );
    expect(source[0]!.state).toBe('maintenance');

    for (const id of vmIds) {
      const vm = await readVm(id);
      const target = ids.hosts.indexOf(vm.hostId!);
      expect(target).toBeGreaterThan(0);
      expect(vm.migrationHostId).toBeNull();
      // Its volumes moved with it, in the database and on the hosts.
      for (const v of await volumesOf(id)) {
        expect(v.hostId).toBe(vm.hostId);
        // (In use by the VM running there: present, and refused for export while it runs.)
        expect(await volumeStatus(agents[target]!, v.id)).toBe(id === running ? 409 : 200);
        expect(await volumeStatus(agents[0]!, v.id)).toBe(404);
      }
      // One vm.migrate operation, in the tenant's timeline, succeeded step by step.
      const [migration, ...more] = await migrationsOf(id);
      expect(more).toEqual([]);
      expect(migration).toMatchObject({ state: 'succeeded', actor: 'operator' });
      expect(migration!.steps.map((s) => s.state)).toEqual([
        'done',
        'done',
        'done',
        'done',
        'done',
      ]);
      const onTarget = await agents[target]!.client.get(id);
      if (id === running) {
        expect(onTarget?.state).toBe('running');
        expect(vm.observedState).toBe('running');
      } else {
        // A stopped VM stays stopped; its next start defines it on the new host.
        expect(onTarget).toBeNull();
        expect(vm.desiredState).toBe('stopped');
      }
    }
    moved.vmId = running;
    moved.host = ids.hosts.indexOf((await readVm(running)).hostId!);
    moved.other = 3 - moved.host;
    // Spread: the two VMs went to different hosts.
    expect(
      new Set(await Promise.all(vmIds.map(async (id) => (await readVm(id)).hostId))).size,
    ).toBe(2);
    // The source has no domain left, and no capacity booked; the targets hold the claims.
    expect((await agents[0]!.client.list()).items).toEqual([]);
    expect(await allocated(0)).toEqual({ vcpus: 0, ramMiB: 0, diskGiB: 0 });
    expect((await allocated(1)).vcpus + (await allocated(2)).vcpus).toBe(2);
    expect(
      await withPlatform(db, 'test: usage', (tx) => readUsage(tx, { tenantId: ids.tenant })),
    ).toEqual(usageBefore);
    // A second delivery of the drain runs nothing.
    expect(await engine.run(drainId, attempt)).toBe('already-finished');
  }, 120_000);

  it('with no room anywhere the drain fails with the per-filter reason, and changes nothing', async () => {
    // The running VM's host drains; host 0 is in maintenance and the other host lacks RAM.
    const vm = await readVm(moved.vmId);
    await setHost(moved.other, { ramMib: 128 });
    const before = {
      vm,
      volumes: await volumesOf(vm.id),
      domains: await agents[moved.other]!.client.list(),
    };

    const drainId = await drain(ids.hosts[moved.host]!);
    expect(await engine.run(drainId, attempt)).toBe('failed');

    const op = await readOp(drainId);
    expect(op.errorCode).toBe(ErrorCode.PLACEMENT_NO_VALID_HOST);
    expect(op.errorMessage).toContain(`VM ${vm.name} could not be moved`);
    expect(op.errorMessage).toMatch(/RAM/i);
    expect(op.errorMessage).toMatch(/maintenance|not up|state/i);
    const migration = (await migrationsOf(vm.id)).find((m) => m.idempotencyKey?.includes(drainId));
    expect(migration).toMatchObject({
      state: 'failed',
      errorCode: ErrorCode.PLACEMENT_NO_VALID_HOST,
    });
    // Nothing changed: the host stays draining, the VM runs where it ran, holds no target.
    const host = await withPlatform(db, 'test: host', (tx) =>
      tx.select().from(schema.hosts).where(eq(schema.hosts.id, ids.hosts[moved.host]!)),
    );
    expect(host[0]!.state).toBe('draining');
    expect(await readVm(vm.id)).toMatchObject({
      hostId: ids.hosts[moved.host],
      migrationHostId: null,
      observedState: before.vm.observedState,
    });
    expect((await agents[moved.host]!.client.get(vm.id))?.state).toBe('running');
    expect(await volumesOf(vm.id)).toEqual(before.volumes);
    expect(await agents[moved.other]!.client.list()).toEqual(before.domains);
    await setHost(moved.other, { ramMib: 8192 });
  }, 120_000);

  it('a migration that fails on the target leaves the VM on its source, running as before, and nothing on the target', async () => {
    // The only possible target (host 0, back up) cannot verify the base image: it is gone.
    await setHost(0, { state: 'up' });
    await setHost(moved.other, { state: 'maintenance' });
    rmSync(path.join(agents[0]!.stateDir, 'images', `${image.checksum}.qcow2`));
    const vm = await readVm(moved.vmId);
    const volumes = await volumesOf(vm.id);

    const drainId = await drain(ids.hosts[moved.host]!);
    expect(await engine.run(drainId, attempt)).toBe('failed');

    const op = await readOp(drainId);
    expect(op.errorCode).toBe(ErrorCode.AGENT_IMAGE_MISSING);
    const migration = (await migrationsOf(vm.id)).find((m) => m.idempotencyKey?.includes(drainId));
    expect(migration?.steps.map((s) => [s.name, s.state])).toEqual([
      ['claim', 'compensated'],
      ['stop', 'compensated'],
      ['copy', 'compensated'],
      ['start-target', 'skipped'],
      ['switch', 'skipped'],
    ]);
    expect(await readVm(vm.id)).toMatchObject({
      hostId: ids.hosts[moved.host],
      migrationHostId: null,
      observedState: 'running',
    });
    expect((await agents[moved.host]!.client.get(vm.id))?.state).toBe('running');
    for (const v of volumes) {
      // Still on the source, in use by the VM running there again (so not exportable).
      expect(await volumeStatus(agents[moved.host]!, v.id)).toBe(409);
      expect(await volumeStatus(agents[0]!, v.id)).toBe(404);
    }
    expect(await agents[0]!.client.get(vm.id)).toBeNull();
    expect(await allocated(0)).toEqual({ vcpus: 0, ramMiB: 0, diskGiB: 0 });
  }, 120_000);
  it('a drain whose worker died after a migration finished resumes: it cleans the source and never migrates twice', async () => {
    // The running VM is still on its host after the failed drains; the other host takes it.
    await setHost(0, { state: 'maintenance' });
    await setHost(moved.other, { state: 'up' });
    const vmId = moved.vmId;
    const [root] = await volumesOf(vmId);
    const drainId = await drain(ids.hosts[moved.host]!);
    // What the drain had done when its worker died: this VM's migration, run to its end.
    const childId = await withPlatform(db, 'test fixture: vm.migrate', async (tx) => {
      const [op] = await tx
        .insert(schema.operations)
        .values({
          tenantId: ids.tenant,
          kind: 'vm.migrate',
          targetType: 'vm',
          targetId: vmId,
          actor: 'operator',
          idempotencyKey: `host.drain:${drainId}:${vmId}`,
          enqueuedAt: new Date(),
          deadline: new Date(Date.now() + 3_600_000),
        })
        .returning();
      await tx
        .update(schema.operations)
        .set({
          state: 'running',
          steps: [
            { name: 'migrate-vms', state: 'running', startedAt: new Date().toISOString() },
            { name: 'maintenance', state: 'pending' },
          ],
        })
        .where(eq(schema.operations.id, drainId));
      return op!.id;
    });
    const migrations = new WorkflowEngine(
      db,
      new Map([['vm.migrate', migrateWorkflow({ db, tls, masterKey }) as Workflow<unknown>]]),
    );
    expect(await migrations.run(childId, attempt)).toBe('succeeded');
    expect((await readVm(vmId)).hostId).toBe(ids.hosts[moved.other]);
    // The source still holds the stopped domain and the volume: the clean-up had not run.
    expect((await agents[moved.host]!.client.get(vmId))?.state).toBe('shutoff');
    expect(await volumeStatus(agents[moved.host]!, root!.id)).toBe(200);
    const migrated = await readOp(childId);

    // The drain's job is delivered again.
    expect(await engine.run(drainId, attempt)).toBe('succeeded');

    expect(await agents[moved.host]!.client.get(vmId)).toBeNull();
    expect(await volumeStatus(agents[moved.host]!, root!.id)).toBe(404);
    expect((await agents[moved.other]!.client.get(vmId))?.state).toBe('running');
    const mine = (await migrationsOf(vmId)).filter((m) => m.idempotencyKey?.includes(drainId));
    expect(mine.map((m) => m.id)).toEqual([childId]);
    expect(await readOp(childId)).toEqual(migrated);
    const [host] = await withPlatform(db, 'test: host', (tx) =>
      tx.select().from(schema.hosts).where(eq(schema.hosts.id, ids.hosts[moved.host]!)),
    );
    expect(host!.state).toBe('maintenance');
  }, 120_000);
});
