/**
 * A world for workflow tests below the API: a tenant with a quota, flavors, images in every
 * agent's image store, real agent processes (simulated libvirt) reached over real mTLS, one host
 * row, fabric and network per agent (so a test's network decides where a VM lands), the
 * production workflow engine, and writers for what the API would have accepted (rows plus an
 * operation). `cleanup()` removes every row it made.
 *
 * For tests only; never imported by the worker itself.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq, inArray } from 'drizzle-orm';
import { createDb, schema, withPlatform, type Db } from '@palisade/db';
import { vmFootprint } from '@palisade/domain';
import { loadStack } from '@palisade/testkit';
import { controlPlaneClientTls, type ClientTls } from '../vms/agent-client';
import { WorkflowEngine, type Workflow } from '../operations/engine';
import type { VmWorkflowDeps } from '../vms/vm-host';
import { startAgentProcess, type AgentProcess } from './agent-process';

export interface FlavorSpec {
  vcpus: number;
  ramMib: number;
  diskGib: number;
  svirtRequired?: boolean;
}

export interface TestImage {
  id: string;
  checksum: string;
  sizeBytes: number;
}

export interface WorkflowFixture {
  db: Db;
  dir: string;
  tls: ClientTls;
  agents: AgentProcess[];
  tenantId: string;
  flavors: Record<string, string>;
  images: TestImage[];
  hosts: string[];
  fabrics: string[];
  networks: string[];
  /** The engine running `workflows(deps)`. */
  engine: WorkflowEngine;
  workflows: Workflow<unknown>[];
  /** A VM, its NIC on `network` (index), an MCS pair and a `vm.create` operation, as POST /v1/vms
   *  writes them (the ledger too). */
  acceptedCreate(p: { flavor: string; network: number; n: number; image?: number }): Promise<{
    vm: typeof schema.vms.$inferSelect;
    op: typeof schema.operations.$inferSelect;
  }>;
  /** An operation of `kind` on a target, as the API writes it after its change. */
  operation(kind: string, targetId: string, targetType?: string): Promise<string>;
  /** The tenant's ledger, and the same numbers counted from the rows that really exist. */
  usage(): Promise<{ ledger: Record<string, number>; real: Record<string, number> }>;
  cleanup(): Promise<void>;
}

const stack = loadStack('test');

export async function workflowFixture(o: {
  prefix: string;
  agents: { security: 'selinux' | 'none'; env?: Record<string, string> }[];
  flavors: Record<string, FlavorSpec>;
  /** Images made of this many MiB each (qcow2, checksummed), placed in every agent's store. */
  imageMiB: number[];
  host?: { cpus: number; ramMib: number; diskGib: number };
  workflows: (deps: VmWorkflowDeps) => Workflow<unknown>[];
}): Promise<WorkflowFixture> {
  const suffix = randomUUID().slice(0, 8);
  // MCS pairs are unique cluster-wide and other suites share this database.
  const mcsBase = parseInt(suffix.slice(0, 3), 16) % 900;
  const db = createDb(stack.postgres.appUrl, { max: 4 });
  const dir = mkdtempSync(path.join(os.tmpdir(), `palisade-${o.prefix}-`));
  const tls = await controlPlaneClientTls(path.join(dir, 'pki'), 1);
  const files = o.imageMiB.map((mib, i) => {
    const file = path.join(dir, `base-${i}.qcow2`);
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, `${mib}M`]);
    return {
      file,
      checksum: createHash('sha256').update(readFileSync(file)).digest('hex'),
      sizeBytes: mib * 1024 * 1024,
    };
  });
  const agents: AgentProcess[] = [];
  const f = {
    tenantId: '',
    flavors: {} as Record<string, string>,
    images: [] as TestImage[],
    hosts: [] as string[],
    fabrics: [] as string[],
    networks: [] as string[],
  };

  const cleanup = async () => {
    for (const a of agents) if (a.proc.exitCode === null) a.proc.kill('SIGTERM');
    if (f.tenantId)
      await withPlatform(db, `test cleanup: ${o.prefix}`, async (tx) => {
        await tx.delete(schema.operations).where(eq(schema.operations.tenantId, f.tenantId));
        await tx.delete(schema.snapshots).where(eq(schema.snapshots.tenantId, f.tenantId));
        await tx.delete(schema.volumes).where(eq(schema.volumes.tenantId, f.tenantId));
        await tx.delete(schema.vms).where(eq(schema.vms.tenantId, f.tenantId));
        await tx.delete(schema.networks).where(eq(schema.networks.tenantId, f.tenantId));
        if (f.hosts.length)
          await tx.delete(schema.hostFabrics).where(inArray(schema.hostFabrics.hostId, f.hosts));
        if (f.fabrics.length)
          await tx.delete(schema.fabrics).where(inArray(schema.fabrics.id, f.fabrics));
        if (f.hosts.length) await tx.delete(schema.hosts).where(inArray(schema.hosts.id, f.hosts));
        if (f.images.length)
          await tx.delete(schema.images).where(
            inArray(
              schema.images.id,
              f.images.map((i) => i.id),
            ),
          );
        const flavorIds = Object.values(f.flavors);
        if (flavorIds.length)
          await tx.delete(schema.flavors).where(inArray(schema.flavors.id, flavorIds));
        await tx.delete(schema.tenantUsage).where(eq(schema.tenantUsage.tenantId, f.tenantId));
        await tx.delete(schema.quotas).where(eq(schema.quotas.tenantId, f.tenantId));
        await tx.delete(schema.tenants).where(eq(schema.tenants.id, f.tenantId));
      });
    await db.$client.end();
    rmSync(dir, { recursive: true, force: true });
  };

  try {
    for (const [i, a] of o.agents.entries()) {
      const agent = await startAgentProcess({
        dir,
        name: `${o.prefix}-${i}-${suffix}`,
        tls,
        env: { AGENT_SIMULATED_SECURITY: a.security, ...a.env },
      });
      agents.push(agent);
      // The operator's images, in place as the image store expects them (verified by checksum).
      for (const img of files)
        writeFileSync(
          path.join(agent.stateDir, 'images', `${img.checksum}.qcow2`),
          readFileSync(img.file),
        );
    }
    await withPlatform(db, `test fixture: ${o.prefix}`, async (tx) => {
      const [tenant] = await tx
        .insert(schema.tenants)
        .values({ slug: `${o.prefix}-${suffix}`, name: o.prefix })
        .returning();
      f.tenantId = tenant!.id;
      await tx.insert(schema.quotas).values({
        tenantId: f.tenantId,
        vcpus: 64,
        ramMib: 65536,
        diskGib: 1000,
        vms: 32,
        volumes: 32,
        snapshots: 32,
        networks: 16,
        publicIps: 0,
      });
      await tx.insert(schema.tenantUsage).values({ tenantId: f.tenantId });
      for (const [name, spec] of Object.entries(o.flavors)) {
        const [row] = await tx
          .insert(schema.flavors)
          .values({ name: `${o.prefix}-${name}-${suffix}`, svirtRequired: false, ...spec })
          .returning();
        f.flavors[name] = row!.id;
      }
      for (const [i, img] of files.entries()) {
        const [row] = await tx
          .insert(schema.images)
          .values({
            name: `${o.prefix}-${i}-${suffix}`,
            os: 'test',
            format: 'qcow2',
            sizeBytes: img.sizeBytes,
            checksum: img.checksum,
            visibility: 'public',
            status: 'active',
          })
          .returning();
        f.images.push({ id: row!.id, checksum: img.checksum, sizeBytes: img.sizeBytes });
      }
      for (const [i, agent] of agents.entries()) {
        const [host] = await tx
          .insert(schema.hosts)
          .values({
            name: agent.name,
            state: 'up',
            agentUrl: agent.url,
            ...(o.host ?? { cpus: 8, ramMib: 8192, diskGib: 100 }),
            securityModels: ['selinux', 'dac'],
            acceleration: 'kvm',
            compliance: { status: 'compliant' },
          })
          .returning();
        const [fabric] = await tx
          .insert(schema.fabrics)
          .values({
            name: `${o.prefix}-${suffix}-${i}`,
            type: 'vxlan',
            device: 'ul0',
            segmentRanges: '100-200',
          })
          .returning();
        await tx.insert(schema.hostFabrics).values({ hostId: host!.id, fabricId: fabric!.id });
        const [network] = await tx
          .insert(schema.networks)
          .values({
            tenantId: f.tenantId,
            fabricId: fabric!.id,
            name: `${o.prefix}-net-${i}`,
            segmentType: 'vxlan',
            segmentId: 100 + i,
            cidr: '10.20.0.0/24',
            gateway: '10.20.0.1',
            status: 'active',
          })
          .returning();
        f.hosts.push(host!.id);
        f.fabrics.push(fabric!.id);
        f.networks.push(network!.id);
      }
      await tx
        .update(schema.tenantUsage)
        .set({ networks: f.networks.length })
        .where(eq(schema.tenantUsage.tenantId, f.tenantId));
    });
  } catch (e) {
    await cleanup();
    throw e;
  }

  const workflows = o.workflows({ db, tls, masterKey: Buffer.alloc(32, 7) });
  const engine = new WorkflowEngine(db, new Map(workflows.map((w) => [w.kind, w])));

  const operation = async (kind: string, targetId: string, targetType = 'vm') => {
    const [row] = await withPlatform(db, `test fixture: ${kind}`, (tx) =>
      tx
        .insert(schema.operations)
        .values({
          tenantId: f.tenantId,
          kind,
          targetType,
          targetId,
          actor: 'test',
          deadline: new Date(Date.now() + 3_600_000),
        })
        .returning(),
    );
    return row!.id;
  };

  return {
    db,
    dir,
    tls,
    agents,
    ...f,
    engine,
    workflows,
    operation,
    cleanup,
    async acceptedCreate(p) {
      return withPlatform(db, 'test fixture: accepted vm.create', async (tx) => {
        const [flavor] = await tx
          .select()
          .from(schema.flavors)
          .where(eq(schema.flavors.id, f.flavors[p.flavor]!));
        const [vm] = await tx
          .insert(schema.vms)
          .values({
            tenantId: f.tenantId,
            name: `${o.prefix}-vm-${p.n}`,
            flavorId: flavor!.id,
            imageId: f.images[p.image ?? 0]!.id,
            mcsC1: mcsBase + p.n * 2,
            mcsC2: mcsBase + 1 + p.n * 2,
          })
          .returning();
        await tx.insert(schema.nics).values({
          tenantId: f.tenantId,
          vmId: vm!.id,
          networkId: f.networks[p.network]!,
          mac: `52:54:00:7f:${suffix.slice(0, 2)}:${(10 + p.n).toString(16).padStart(2, '0')}`,
          ip: `10.20.0.${10 + p.n}`,
        });
        const fp = vmFootprint({
          vcpus: flavor!.vcpus,
          ramMiB: flavor!.ramMib,
          diskGiB: flavor!.diskGib,
        });
        const [u] = await tx
          .select()
          .from(schema.tenantUsage)
          .where(eq(schema.tenantUsage.tenantId, f.tenantId));
        await tx
          .update(schema.tenantUsage)
          .set({
            vcpus: u!.vcpus + fp.vcpus,
            ramMib: u!.ramMib + fp.ramMiB,
            diskGib: u!.diskGib + fp.diskGiB,
            vms: u!.vms + 1,
          })
          .where(eq(schema.tenantUsage.tenantId, f.tenantId));
        const [op] = await tx
          .insert(schema.operations)
          .values({
            tenantId: f.tenantId,
            kind: 'vm.create',
            targetType: 'vm',
            targetId: vm!.id,
            actor: 'test',
            deadline: new Date(Date.now() + 3_600_000),
          })
          .returning();
        return { vm: vm!, op: op! };
      });
    },
    async usage() {
      return withPlatform(db, 'test: usage', async (tx) => {
        const [u] = await tx
          .select()
          .from(schema.tenantUsage)
          .where(eq(schema.tenantUsage.tenantId, f.tenantId));
        const vms = await tx
          .select({
            vcpus: schema.flavors.vcpus,
            ramMib: schema.flavors.ramMib,
            diskGib: schema.flavors.diskGib,
          })
          .from(schema.vms)
          .innerJoin(schema.flavors, eq(schema.flavors.id, schema.vms.flavorId))
          .where(eq(schema.vms.tenantId, f.tenantId));
        const nets = await tx
          .select({ id: schema.networks.id, status: schema.networks.status })
          .from(schema.networks)
          .where(eq(schema.networks.tenantId, f.tenantId));
        return {
          ledger: {
            vcpus: u!.vcpus,
            ramMib: u!.ramMib,
            diskGib: u!.diskGib,
            vms: u!.vms,
            networks: u!.networks,
          },
          real: {
            vcpus: vms.reduce((s, v) => s + v.vcpus, 0),
            ramMib: vms.reduce((s, v) => s + v.ramMib, 0),
            diskGib: vms.reduce((s, v) => s + v.diskGib, 0),
            vms: vms.length,
            // A network being deleted was already given back by the API at accept.
            networks: nets.filter((n) => n.status !== 'deleting').length,
          },
        };
      });
    },
  };
}
