/**
 * The reconciler against the real Postgres of the test stack and a real agent process
 * (AGENT_HYPERVISOR=simulated) over real mTLS. The agent starts preloaded with two domains nobody
 * recorded: one without Palisade metadata (someone's hand-made guest) and one with Palisade
 * metadata for a VM that has no row. VMs are created through the production vm.create workflow.
 *
 * Proven: a VM that should run and is shut off on its host is restarted through a recorded
 * vm.restart operation (policy always; never while another operation owns the VM) and left
 * alone with policy never; unknown domains, volume files and bridges are quarantined and still
 * on the host afterwards; a crypto-erased volume's file is the one thing removed; a skewed quota
 * ledger is corrected and reported; a repeated pass changes nothing.
 *
 * Scoped to this suite's host and tenant: the database is shared with other suites.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  createDb,
  listOperations,
  lockUsage,
  readUsage,
  schema,
  withPlatform,
  writeUsage,
  type Db,
} from '@palisade/db';
import { loadStack } from '@palisade/testkit';
import { WorkflowEngine } from '../operations/engine';
import {
  AGENT_START_BOUND_MS,
  startAgentProcess,
  type AgentProcess,
} from '../testing/agent-process';
import { controlPlaneClientTls, type ClientTls } from '../vms/agent-client';
import { allWorkflows } from '../workflows';
import { reconcile, type ReconcileDeps } from './reconcile';

const stack = loadStack('test');
const attempt = { attemptsMade: 0, maxAttempts: 1 };
const VNI = 300;

/**
 * A bare TCG domain as libvirt would hold it; with `palisade`, it carries Palisade's metadata for
 * that VM id (the designer's namespace). Written out here because the worker may not import the
 * agent-side hypervisor library (Nx boundaries).
 */
function domainXml(uuid: string, name: string, palisade?: { vmId: string; tenantId: string }) {
  const metadata = palisade
    ? `<metadata><palisade:instance xmlns:palisade='https://palisade.dev/xmlns/domain/1'>` +
      `<palisade:vm>${palisade.vmId}</palisade:vm><palisade:tenant>${palisade.tenantId}</palisade:tenant>` +
      `<palisade:specRevision>1</palisade:specRevision><palisade:name>${name}</palisade:name>` +
      `<palisade:disks/><palisade:nics/></palisade:instance></metadata>`
    : '';
  return (
    `<domain type='qemu'><name>${name}</name><uuid>${uuid}</uuid>${metadata}` +
    `<memory unit='KiB'>65536</memory><vcpu placement='static'>1</vcpu>` +
    `<os><type arch='x86_64' machine='pc'>hvm</type><boot dev='hd'/></os>` +
    `<features><acpi/><apic/></features><clock offset='utc'/>` +
    `<on_poweroff>destroy</on_poweroff><on_reboot>restart</on_reboot><on_crash>destroy</on_crash>` +
    `<devices/></domain>`
  );
}

describe('reconciler (real Postgres, a simulated agent over mTLS)', () => {
  let db: Db;
  let dir: string;
  let tls: ClientTls;
  let engine: WorkflowEngine;
  let agent: AgentProcess;
  let pass: () => ReturnType<typeof reconcile>;
  const suffix = randomUUID().slice(0, 8);
  const mcsBase = (parseInt(suffix.slice(0, 3), 16) % 400) + 500;
  const foreign = { uuid: randomUUID(), name: `hand-made-${suffix}` };
  const ghost = { uuid: randomUUID(), name: `ghost-${suffix}` };
  const ids = { tenant: '', flavor: '', image: '', host: '', fabric: '', network: '' };
  const vm = { always: '', never: '' };
  const worker = `reconcile-test-${suffix}`;

  beforeAll(async () => {
    db = createDb(stack.postgres.appUrl, { max: 4 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-reconcile-'));
    const file = path.join(dir, 'base.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '32M']);
    const checksum = createHash('sha256').update(readFileSync(file)).digest('hex');
    tls = await controlPlaneClientTls(path.join(dir, 'pki'), 1);

    await withPlatform(db, 'test fixture: reconciler', async (tx) => {
      const [tenant] = await tx
        .insert(schema.tenants)
        .values({ slug: `rc-${suffix}`, name: 'Reconciler' })
        .returning();
      ids.tenant = tenant!.id;
      const [flavor] = await tx
        .insert(schema.flavors)
        .values({ name: `rc-${suffix}`, vcpus: 1, ramMib: 256, diskGib: 1, svirtRequired: false })
        .returning();
      ids.flavor = flavor!.id;
      const [img] = await tx
        .insert(schema.images)
        .values({
          name: `rc-${suffix}`,
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

    const preload = path.join(dir, 'preload.json');
    writeFileSync(
      preload,
      JSON.stringify({
        domains: [
          { xml: domainXml(foreign.uuid, foreign.name), start: true },
          {
            xml: domainXml(ghost.uuid, ghost.name, { vmId: ghost.uuid, tenantId: ids.tenant }),
          },
        ],
      }),
    );
    agent = await startAgentProcess({
      dir,
      name: `rc-${suffix}`,
      tls,
      env: { AGENT_SIMULATED_SECURITY: 'none', AGENT_SIMULATED_PRELOAD: preload },
    });
    writeFileSync(path.join(agent.stateDir, 'images', `${checksum}.qcow2`), readFileSync(file));

    await withPlatform(db, 'test fixture: reconciler host', async (tx) => {
      const [host] = await tx
        .insert(schema.hosts)
        .values({
          name: agent.name,
          state: 'up',
          agentUrl: agent.url,
          cpus: 8,
          ramMib: 8192,
          diskGib: 100,
          securityModels: ['dac'],
          acceleration: 'kvm',
          compliance: { status: 'compliant' },
        })
        .returning();
      ids.host = host!.id;
      const [fabric] = await tx
        .insert(schema.fabrics)
        .values({ name: `rc-${suffix}`, type: 'vxlan', device: 'ul0', segmentRanges: '300-310' })
        .returning();
      ids.fabric = fabric!.id;
      await tx.insert(schema.hostFabrics).values({ hostId: host!.id, fabricId: fabric!.id });
      const [network] = await tx
        .insert(schema.networks)
        .values({
          tenantId: ids.tenant,
          fabricId: fabric!.id,
          name: 'rc-net',
          segmentType: 'vxlan',
          segmentId: VNI,
          cidr: '10.30.0.0/24',
          gateway: '10.30.0.1',
          status: 'active',
        })
        .returning();
      ids.network = network!.id;
    });

    engine = new WorkflowEngine(
      db,
      new Map(allWorkflows({ db, tls, masterKey: Buffer.alloc(32, 9) }).map((w) => [w.kind, w])),
    );
    vm.always = await createVm(1, 'always');
    vm.never = await createVm(2, 'never');
    // The ledger as the API would have charged it: two VMs of the flavor and one network.
    await setLedger({ vcpus: 2, ramMiB: 512, diskGiB: 2, vms: 2, networks: 1 });

    const deps: ReconcileDeps = {
      db,
      tls,
      worker,
      scope: { hostIds: [ids.host], tenantIds: [ids.tenant] },
    };
    pass = () => reconcile(deps);
  }, 2 * AGENT_START_BOUND_MS);

  afterAll(async () => {
    if (agent?.proc.exitCode === null) agent.proc.kill('SIGTERM');
    // The tenant and its audit events stay: the audit trail is append-only for this role.
    if (ids.tenant)
      await withPlatform(db, 'test cleanup: reconciler', async (tx) => {
        const t = ids.tenant;
        await tx.delete(schema.operations).where(eq(schema.operations.tenantId, t));
        await tx.delete(schema.volumes).where(eq(schema.volumes.tenantId, t));
        await tx.delete(schema.vms).where(eq(schema.vms.tenantId, t));
        await tx.delete(schema.networks).where(eq(schema.networks.tenantId, t));
        await tx.delete(schema.reconcileReports).where(eq(schema.reconcileReports.worker, worker));
        if (ids.host) {
          await tx.delete(schema.hostFabrics).where(eq(schema.hostFabrics.hostId, ids.host));
          await tx.delete(schema.hosts).where(eq(schema.hosts.id, ids.host));
        }
        if (ids.fabric) await tx.delete(schema.fabrics).where(eq(schema.fabrics.id, ids.fabric));
        if (ids.image) await tx.delete(schema.images).where(eq(schema.images.id, ids.image));
        if (ids.flavor) await tx.delete(schema.flavors).where(eq(schema.flavors.id, ids.flavor));
      });
    await db?.$client.end();
    rmSync(dir, { recursive: true, force: true });
  });

  /** What the API writes for POST /v1/vms, then the production vm.create workflow. */
  async function createVm(n: number, restartPolicy: 'always' | 'never'): Promise<string> {
    const op = await withPlatform(db, 'test fixture: accepted vm.create', async (tx) => {
      const [row] = await tx
        .insert(schema.vms)
        .values({
          tenantId: ids.tenant,
          name: `rc-vm-${n}`,
          flavorId: ids.flavor,
          imageId: ids.image,
          restartPolicy,
          mcsC1: mcsBase + n * 2,
          mcsC2: mcsBase + 1 + n * 2,
        })
        .returning();
      await tx.insert(schema.nics).values({
        tenantId: ids.tenant,
        vmId: row!.id,
        networkId: ids.network,
        mac: `52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`,
        ip: `10.30.0.${10 + n}`,
      });
      const [created] = await tx
        .insert(schema.operations)
        .values({
          tenantId: ids.tenant,
          kind: 'vm.create',
          targetType: 'vm',
          targetId: row!.id,
          actor: 'test',
          deadline: new Date(Date.now() + 3_600_000),
        })
        .returning();
      return created!;
    });
    expect(await engine.run(op.id, attempt)).toBe('succeeded');
    return op.targetId;
  }

  async function setLedger(usage: Partial<Parameters<typeof writeUsage>[1]['usage']>) {
    await withPlatform(db, 'test: set ledger', async (tx) => {
      const { usage: now } = await lockUsage(tx, { tenantId: ids.tenant });
      await writeUsage(tx, { tenantId: ids.tenant, usage: { ...now, ...usage } });
    });
  }
  const ledger = () =>
    withPlatform(db, 'test: ledger', (tx) => readUsage(tx, { tenantId: ids.tenant }));
  const readVm = (id: string) =>
    withPlatform(db, 'test: vm', (tx) =>
      tx.select().from(schema.vms).where(eq(schema.vms.id, id)),
    ).then((r) => r[0]!);
  const operationsOn = (targetId: string) =>
    withPlatform(db, 'test: ops', (tx) =>
      listOperations(tx, { tenantId: ids.tenant, targetId, limit: 50 }),
    ).then((p) => p.items);
  const quarantine = () =>
    withPlatform(db, 'test: quarantine', (tx) =>
      tx.select().from(schema.quarantinedItems).where(eq(schema.quarantinedItems.hostId, ids.host)),
    );
  const powerOff = (vmId: string) => agent.client.stop(randomUUID(), vmId, true);

  it('restarts a VM found shut off through a recorded vm.restart (policy always), never while another operation owns it, and leaves policy never alone', async () => {
    // Both guests go off behind the control plane's back; the rows still say running.
    expect((await powerOff(vm.always)).state).toBe('shutoff');
    expect((await powerOff(vm.never)).state).toBe('shutoff');
    // A tenant's operation is under way on the first VM: it owns the VM.
    const [reboot] = await withPlatform(db, 'test: a pending operation', (tx) =>
      tx
        .insert(schema.operations)
        .values({
          tenantId: ids.tenant,
          kind: 'vm.reboot',
          targetType: 'vm',
          targetId: vm.always,
          actor: 'test',
          deadline: new Date(Date.now() + 3_600_000),
        })
        .returning(),
    );

    const busy = await pass();
    expect(busy.summary.vms.restarted).toEqual([]);
    expect(busy.summary.vms.left).toEqual(
      expect.arrayContaining([
        expect.objectContaining({
          vmId: vm.always,
          reason: 'an operation on the VM is in progress',
        }),
        expect.objectContaining({ vmId: vm.never, reason: 'restart policy is never' }),
      ]),
    );
    // The busy VM's row is the operation's: not even its observed state was touched.
    expect((await readVm(vm.always)).observedState).toBe('running');
    expect((await readVm(vm.never)).observedState).toBe('stopped');
    // A consistent ledger is left as it is.
    expect(busy.summary.quota.corrected).toEqual([]);

    await withPlatform(db, 'test: the tenant operation ends', (tx) =>
      tx
        .update(schema.operations)
        .set({ state: 'cancelled', finishedAt: new Date() })
        .where(eq(schema.operations.id, reboot!.id)),
    );
    const report = await pass();
    expect(report.summary.vms.restarted).toEqual([
      expect.objectContaining({ vmId: vm.always, tenantId: ids.tenant, was: 'shutoff' }),
    ]);
    const { operationId } = report.summary.vms.restarted[0]!;
    // In the tenant's timeline, as the reconciler's, pending until a worker runs it.
    const timeline = await operationsOn(vm.always);
    expect(timeline[0]).toMatchObject({
      id: operationId,
      kind: 'vm.restart',
      actor: 'system:reconciler',
      state: 'pending',
    });
    const audit = await withPlatform(db, 'test: audit', (tx) =>
      tx
        .select()
        .from(schema.auditEvents)
        .where(
          and(
            eq(schema.auditEvents.tenantId, ids.tenant),
            eq(schema.auditEvents.action, 'vm.restart'),
          ),
        ),
    );
    expect(audit).toHaveLength(1);
    expect(audit[0]!.details).toMatchObject({ operationId });
    expect((await readVm(vm.always)).observedState).toBe('stopped');

    expect(await engine.run(operationId, attempt)).toBe('succeeded');
    expect((await agent.client.get(vm.always))?.state).toBe('running');
    expect((await readVm(vm.always)).observedState).toBe('running');
    // Policy never: still off on its host, and no operation was made for it.
    expect((await agent.client.get(vm.never))?.state).toBe('shutoff');
    expect((await operationsOn(vm.never)).map((o) => o.kind)).toEqual(['vm.create']);
  });

  it('quarantines unknown domains, volume files and bridges and leaves them on the host; removes only a crypto-erased volume file', async () => {
    // A volume file and a bridge nobody recorded, made through the agent's own API.
    const strayVolume = randomUUID();
    await agent.client.ensureVolume({
      operationId: randomUUID(),
      volumeId: strayVolume,
      sizeBytes: 16 * 1024 * 1024,
      key: randomBytes(32).toString('base64'),
    });
    await agent.client.ensureSegment({
      operationId: randomUUID(),
      segment: { type: 'vxlan', id: 399 },
    });
    // A volume whose delete was accepted and whose wrapped key is gone, its file still there.
    const [erased] = await withPlatform(db, 'test: crypto-erased volume', (tx) =>
      tx
        .insert(schema.volumes)
        .values({
          tenantId: ids.tenant,
          name: `rc-erased-${suffix}`,
          sizeGib: 1,
          hostId: ids.host,
          status: 'deleting',
          wrappedKey: null,
        })
        .returning(),
    );
    await agent.client.ensureVolume({
      operationId: randomUUID(),
      volumeId: erased!.id,
      sizeBytes: 16 * 1024 * 1024,
      key: randomBytes(32).toString('base64'),
    });

    const report = await pass();
    const items = await quarantine();
    const byRef = new Map(items.map((i) => [i.ref, i]));
    expect(byRef.get(foreign.uuid)).toMatchObject({
      kind: 'domain',
      reason: 'foreign',
      name: foreign.name,
      state: 'running',
      vmId: null,
      resolvedAt: null,
    });
    expect(byRef.get(ghost.uuid)).toMatchObject({
      kind: 'domain',
      reason: 'no_row',
      vmId: ghost.uuid,
      tenantId: ids.tenant,
      state: 'shutoff',
    });
    expect(byRef.get(`${strayVolume}.qcow2`)).toMatchObject({ kind: 'volume', reason: 'no_row' });
    expect(byRef.get('pbr-x399')).toMatchObject({ kind: 'segment', reason: 'no_network' });
    // The VMs' own domains, root volumes and their network's bridge are accounted for.
    expect(items).toHaveLength(4);
    expect(report.summary.quarantine).toMatchObject({
      present: { domain: 2, volume: 1, segment: 1 },
      new: 2,
    });
    expect(report.summary.erasedVolumeFilesRemoved).toEqual([
      { volumeId: erased!.id, hostId: ids.host },
    ]);

    // Nothing quarantined was touched on the host; the erased file is gone.
    const inventory = await agent.client.inventory();
    expect(inventory.domains.find((d) => d.uuid === foreign.uuid)?.state).toBe('running');
    expect(inventory.domains.map((d) => d.uuid)).toContain(ghost.uuid);
    const files = inventory.volumes.map((v) => v.file);
    expect(files).toContain(`${strayVolume}.qcow2`);
    expect(files).not.toContain(`${erased!.id}.qcow2`);
    expect(inventory.segments.map((s) => s.bridge)).toEqual(
      expect.arrayContaining(['pbr-x399', `pbr-x${VNI}`]),
    );
  });

  it('corrects a skewed quota ledger to the real resources and reports it', async () => {
    const before = await ledger();
    await setLedger({ vcpus: before.vcpus + 5, volumes: before.volumes + 2, networks: 0 });

    const report = await pass();
    const actual = {
      vcpus: 2,
      ramMiB: 512,
      diskGiB: 2,
      vms: 2,
      volumes: 0,
      snapshots: 0,
      networks: 1,
    };
    expect(report.summary.quota.corrected).toEqual([
      {
        tenantId: ids.tenant,
        ledger: expect.objectContaining({ vcpus: 7, volumes: 2, networks: 0 }),
        actual: expect.objectContaining(actual),
      },
    ]);
    expect(await ledger()).toMatchObject(actual);
    const audit = await withPlatform(db, 'test: audit', (tx) =>
      tx
        .select()
        .from(schema.auditEvents)
        .where(
          and(
            eq(schema.auditEvents.tenantId, ids.tenant),
            eq(schema.auditEvents.action, 'quota.usage.recount'),
          ),
        ),
    );
    expect(audit).toHaveLength(1);
  });

  it('a repeated pass changes nothing: no new operation, quarantine record or ledger write', async () => {
    const opsBefore = await withPlatform(db, 'test: ops', (tx) =>
      tx
        .select({ id: schema.operations.id })
        .from(schema.operations)
        .where(eq(schema.operations.tenantId, ids.tenant)),
    );
    const quarantinedBefore = await quarantine();
    const ledgerBefore = await ledger();

    for (const report of [await pass(), await pass()]) {
      expect(report.summary.hosts).toEqual({ checked: 1, failed: [] });
      expect(report.summary.vms.restarted).toEqual([]);
      expect(report.summary.vms.observedCorrected).toBe(0);
      expect(report.summary.quarantine).toMatchObject({ new: 0, resolved: 0 });
      expect(report.summary.quota.corrected).toEqual([]);
      expect(report.summary.erasedVolumeFilesRemoved).toEqual([]);
      // What is still worth a look is reported again: the VM left off by its policy.
      expect(report.summary.vms.left).toEqual([
        expect.objectContaining({ vmId: vm.never, reason: 'restart policy is never' }),
      ]);
    }
    const opsAfter = await withPlatform(db, 'test: ops', (tx) =>
      tx
        .select({ id: schema.operations.id })
        .from(schema.operations)
        .where(eq(schema.operations.tenantId, ids.tenant)),
    );
    expect(opsAfter.map((o) => o.id).sort()).toEqual(opsBefore.map((o) => o.id).sort());
    const quarantinedAfter = await quarantine();
    expect(quarantinedAfter.map((q) => q.id).sort()).toEqual(
      quarantinedBefore.map((q) => q.id).sort(),
    );
    expect(quarantinedAfter.every((q) => q.resolvedAt === null)).toBe(true);
    expect(await ledger()).toEqual(ledgerBefore);
    expect((await agent.client.get(vm.always))?.state).toBe('running');
    expect((await agent.client.get(vm.never))?.state).toBe('shutoff');
    // The reports are rows operators read, newest last.
    const reports = await withPlatform(db, 'test: reports', (tx) =>
      tx.select().from(schema.reconcileReports).where(eq(schema.reconcileReports.worker, worker)),
    );
    expect(reports).toHaveLength(6);
  });

  it('a quarantined bridge an operator removed is marked resolved by the next pass, not forgotten', async () => {
    await agent.client.removeSegment({
      operationId: randomUUID(),
      segment: { type: 'vxlan', id: 399 },
    });
    const report = await pass();
    expect(report.summary.quarantine).toMatchObject({
      present: { domain: 2, volume: 1, segment: 0 },
      new: 0,
      resolved: 1,
    });
    const bridge = (await quarantine()).find((q) => q.ref === 'pbr-x399');
    expect(bridge?.resolvedAt).toBeInstanceOf(Date);
    expect((await quarantine()).filter((q) => q.resolvedAt === null)).toHaveLength(3);
  });
});
