/**
 * A host drain on real libvirt: two hosts of the testkit's netns lab, each with its own libvirtd
 * and a real agent process (mTLS) in its namespace. A Palisade Tiny guest created on host 1 by
 * the production vm.create workflow (LUKS root volume on the image) prints its READY marker;
 * host 1 is drained; the guest is stopped (it ignores ACPI, so forced after the agent's
 * timeout), its encrypted volume streams through the worker to host 2 and is re-pointed at host
 * 2's own copy of the base, and the guest boots there with the same hostname and IP in its
 * marker. Host 1 keeps no domain, no libvirt secret, no volume file and no seed; host 1 ends in
 * maintenance. Then vm.delete leaves nothing on host 2.
 *
 * The engine runs in this process on exactly this test's operations (no queue), as in
 * vm-slice.functional.spec.ts. Measured, not asserted: drain start -> READY on host 2.
 *
 * Needs root, libvirt, qemu-system-x86, qemu-utils, busybox, iproute2 (the stack's packages).
 * Guest traffic stays inside the lab's namespaces.
 */
import { execFile } from 'node:child_process';
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { copyFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { promisify } from 'node:util';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createDb, schema, withPlatform, type Db } from '@palisade/db';
import { buildGuestImage, type GuestImage } from '@palisade/guest-image';
import {
  createNetnsLab,
  loadStack,
  SerialConsole,
  type LabHost,
  type NetnsLab,
} from '@palisade/testkit';
import { WorkflowEngine, type Workflow } from '../operations/engine';
import {
  AGENT_START_BOUND_MS,
  startAgentProcess,
  type AgentProcess,
} from '../testing/agent-process';
import { controlPlaneClientTls, type ClientTls } from '../vms/agent-client';
import { vmWorkflows } from '../vms/vm-workflows';
import { drainWorkflows } from './drain-workflow';

const exec = promisify(execFile);
const stack = loadStack('test');
const attempt = { attemptsMade: 0, maxAttempts: 1 };
/** A setup bound for a TCG guest to print its marker, not an assertion. */
const BOOT_BOUND_MS = 10 * 60_000;
const READY = /PALISADE-TINY READY hostname=(\S+) ip=(\S+)/;

describe('host drain on real libvirt: a Tiny guest moves from host 1 to host 2 and boots there', () => {
  let lab: NetnsLab;
  let image: GuestImage;
  let checksum: string;
  let db: Db;
  let tls: ClientTls;
  let engine: WorkflowEngine;
  const agents: AgentProcess[] = [];
  const consoles: SerialConsole[] = [];
  const suffix = randomUUID().slice(0, 8);
  const ids = {
    tenant: '',
    flavor: '',
    image: '',
    fabric: '',
    network: '',
    hosts: [] as string[],
  };
  const virsh = async (h: LabHost, ...args: string[]) =>
    (await exec('virsh', ['-c', h.libvirtUri!, ...args], { encoding: 'utf8', timeout: 120_000 }))
      .stdout;

  beforeAll(
    async () => {
      db = createDb(stack.postgres.appUrl, { max: 4 });
      lab = await createNetnsLab({ libvirt: true, log: (l) => console.log(`[lab] ${l}`) });
      image = await buildGuestImage();
      checksum = createHash('sha256').update(readFileSync(image.qcow2)).digest('hex');
      // Under the lab's image dir: libvirt-qemu must reach the images, and /root is closed to it.
      tls = await controlPlaneClientTls(path.join(lab.imageDir, 'pki'), 1);
      for (const h of lab.hosts) {
        // libvirt shapes <bandwidth> with sfq; where the kernel lacks it the agent leaves it out.
        const sfq = await exec('tc', [
          '-n',
          h.netns,
          'qdisc',
          'add',
          'dev',
          'lo',
          'root',
          'sfq',
        ]).then(
          async () => (
            await exec('tc', ['-n', h.netns, 'qdisc', 'del', 'dev', 'lo', 'root']),
            true
          ),
          () => false,
        );
        const agent = await startAgentProcess({
          dir: lab.imageDir,
          name: `drain-${h.name}-${suffix}`,
          tls,
          env: {
            AGENT_HYPERVISOR: 'libvirt',
            LIBVIRT_URI: h.libvirtUri!,
            AGENT_NETNS: h.netns,
            AGENT_UNDERLAY_DEV: h.underlayDev,
            AGENT_UNDERLAY_IP: h.underlayIp,
            AGENT_LUKS_ITER_MS: '100',
            AGENT_NO_BANDWIDTH: sfq ? 'false' : 'true',
            // The Tiny guest has no ACPI daemon: the stop is forced after this.
            AGENT_STOP_TIMEOUT_MS: '3000',
          },
        });
        copyFileSync(image.qcow2, path.join(agent.stateDir, 'images', `${checksum}.qcow2`));
        agents.push(agent);
      }

      await withPlatform(db, 'test fixture: drain on libvirt', async (tx) => {
        const [tenant] = await tx
          .insert(schema.tenants)
          .values({ slug: `drainlv-${suffix}`, name: 'Drain libvirt' })
          .returning();
        ids.tenant = tenant!.id;
        const [flavor] = await tx
          .insert(schema.flavors)
          // No SELinux here (DESIGN.md): sVirt `preferred`, reported as weakened.
          .values({
            name: `drainlv-${suffix}`,
            vcpus: 1,
            ramMib: 192,
            diskGib: 1,
            svirtRequired: false,
          })
          .returning();
        ids.flavor = flavor!.id;
        const [img] = await tx
          .insert(schema.images)
          .values({
            name: `palisade-tiny-drain-${suffix}`,
            os: 'palisade-tiny',
            format: 'qcow2',
            sizeBytes: image.sizes.qcow2Virtual,
            checksum,
            visibility: 'public',
            status: 'active',
          })
          .returning();
        ids.image = img!.id;
        const [fabric] = await tx
          .insert(schema.fabrics)
          .values({
            name: `drainlv-${suffix}`,
            type: 'vxlan',
            device: 'ul0',
            segmentRanges: '100-4000',
          })
          .returning();
        ids.fabric = fabric!.id;
        const [network] = await tx
          .insert(schema.networks)
          .values({
            tenantId: ids.tenant,
            fabricId: fabric!.id,
            name: 'drain-net',
            segmentType: 'vxlan',
            segmentId: 100 + (parseInt(suffix.slice(0, 3), 16) % 3000),
            cidr: '10.33.0.0/24',
            status: 'active',
          })
          .returning();
        ids.network = network!.id;
        // Host 2 is in maintenance while the VM is created, so it lands on host 1.
        for (const [i, agent] of agents.entries()) {
          const [host] = await tx
            .insert(schema.hosts)
            .values({
              name: agent.name,
              state: i === 0 ? 'up' : 'maintenance',
              agentUrl: agent.url,
              cpus: 2,
              ramMib: 2048,
              diskGib: 20,
              securityModels: ['none', 'dac'],
              acceleration: 'tcg',
              compliance: { status: 'compliant' },
            })
            .returning();
          await tx.insert(schema.hostFabrics).values({ hostId: host!.id, fabricId: fabric!.id });
          ids.hosts.push(host!.id);
        }
      });
      const deps = { db, tls, masterKey: Buffer.alloc(32, 5) };
      const workflows = [
        ...vmWorkflows(deps),
        ...drainWorkflows(deps, { migrationAttempts: 1, migrationBackoffMs: 0 }),
      ] as Workflow<unknown>[];
      engine = new WorkflowEngine(db, new Map(workflows.map((w) => [w.kind, w])));
    },
    20 * 60_000 + 2 * AGENT_START_BOUND_MS,
  );

  afterAll(async () => {
    for (const c of consoles) c.close();
    for (const a of agents) if (a.proc.exitCode === null) a.proc.kill('SIGTERM');
    try {
      if (ids.tenant)
        await withPlatform(db, 'test cleanup: drain on libvirt', async (tx) => {
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
          await tx.delete(schema.tenants).where(eq(schema.tenants.id, ids.tenant));
        });
    } finally {
      // The agents made the tenant's cgroup partition; registering it lets the lab remove it.
      if (ids.tenant) lab?.ensurePartition(`/machine/palisade-${ids.tenant.replace(/-/g, '')}`);
      await lab?.dispose();
      await db?.$client.end();
    }
  }, 5 * 60_000);

  async function operation(kind: string, targetId: string, tenantId: string | null) {
    const [op] = await withPlatform(db, `test fixture: ${kind}`, (tx) =>
      tx
        .insert(schema.operations)
        .values({
          tenantId,
          kind,
          targetType: tenantId ? 'vm' : 'host',
          targetId,
          actor: 'test',
          deadline: new Date(Date.now() + 3_600_000),
        })
        .returning(),
    );
    return op!.id;
  }

  async function ready(h: LabHost, vmId: string): Promise<RegExpMatchArray> {
    const c = new SerialConsole((await virsh(h, 'ttyconsole', vmId)).trim());
    consoles.push(c);
    await c.open();
    return c.waitFor(READY, BOOT_BOUND_MS, `${h.name} console`);
  }

  it(
    'drains host 1: the guest boots on host 2 with its hostname and IP, host 1 keeps nothing',
    async () => {
      const [h1, h2] = lab.hosts as [LabHost, LabHost];
      const name = `drained-${suffix}`;
      const mcs = 2 * (parseInt(suffix.slice(0, 3), 16) % 500);
      const vmId = await withPlatform(db, 'test fixture: vm', async (tx) => {
        const [vm] = await tx
          .insert(schema.vms)
          .values({
            tenantId: ids.tenant,
            name,
            flavorId: ids.flavor,
            imageId: ids.image,
            mcsC1: mcs,
            mcsC2: mcs + 1,
          })
          .returning();
        await tx.insert(schema.nics).values({
          tenantId: ids.tenant,
          vmId: vm!.id,
          networkId: ids.network,
          mac: `52:54:00:${randomBytes(3).toString('hex').match(/../g)!.join(':')}`,
          ip: '10.33.0.21',
        });
        return vm!.id;
      });
      expect(await engine.run(await operation('vm.create', vmId, ids.tenant), attempt)).toBe(
        'succeeded',
      );
      const before = await ready(h1, vmId);
      expect(before.slice(1)).toEqual([name, '10.33.0.21/24']);
      const [root] = await withPlatform(db, 'test: root volume', (tx) =>
        tx.select().from(schema.volumes).where(eq(schema.volumes.vmId, vmId)),
      );
      const files = (a: AgentProcess) => ({
        volume: path.join(a.stateDir, 'volumes', `${root!.id}.qcow2`),
        seed: path.join(a.stateDir, 'seeds', `${vmId}.img`),
      });
      expect(existsSync(files(agents[0]!).volume)).toBe(true);

      await withPlatform(db, 'test: hosts', async (tx) => {
        await tx
          .update(schema.hosts)
          .set({ state: 'up' })
          .where(eq(schema.hosts.id, ids.hosts[1]!));
        await tx
          .update(schema.hosts)
          .set({ state: 'draining' })
          .where(eq(schema.hosts.id, ids.hosts[0]!));
      });
      const started = Date.now();
      expect(await engine.run(await operation('host.drain', ids.hosts[0]!, null), attempt)).toBe(
        'succeeded',
      );
      const after = await ready(h2, vmId);
      console.log(`[measure] drain start -> READY on host 2: ${Date.now() - started} ms`);
      expect(after.slice(1)).toEqual([name, '10.33.0.21/24']);

      // The VM, its volume and its claim are on host 2; host 1 is in maintenance.
      const vm = (
        await withPlatform(db, 'test: vm', (tx) =>
          tx.select().from(schema.vms).where(eq(schema.vms.id, vmId)),
        )
      )[0]!;
      expect(vm).toMatchObject({
        hostId: ids.hosts[1],
        migrationHostId: null,
        observedState: 'running',
      });
      const [moved] = await withPlatform(db, 'test: volume', (tx) =>
        tx.select().from(schema.volumes).where(eq(schema.volumes.id, root!.id)),
      );
      expect(moved!.hostId).toBe(ids.hosts[1]);
      const [h1Row] = await withPlatform(db, 'test: host 1', (tx) =>
        tx.select().from(schema.hosts).where(eq(schema.hosts.id, ids.hosts[0]!)),
      );
      expect(h1Row!.state).toBe('maintenance');
      // On host 2 the copy is still LUKS and names host 2's own base image.
      const info = JSON.parse(
        (
          await exec('qemu-img', [
            'info',
            '-U',
            '-f',
            'qcow2',
            '--output=json',
            files(agents[1]!).volume,
          ])
        ).stdout,
      ) as {
        'backing-filename': string;
        'format-specific': { data: { encrypt?: { format: string } } };
      };
      expect(info['format-specific'].data.encrypt?.format).toBe('luks');
      expect(info['backing-filename']).toBe(
        path.join(agents[1]!.stateDir, 'images', `${checksum}.qcow2`),
      );
      // Host 1 keeps nothing of the VM: no domain, no secret, no volume, no seed.
      expect(await virsh(h1, 'list', '--all', '--uuid')).not.toContain(vmId);
      expect(await virsh(h1, 'secret-list')).not.toContain(root!.id);
      expect(existsSync(files(agents[0]!).volume)).toBe(false);
      expect(existsSync(files(agents[0]!).seed)).toBe(false);

      // And delete on its new host leaves nothing there either.
      expect(await engine.run(await operation('vm.delete', vmId, ids.tenant), attempt)).toBe(
        'succeeded',
      );
      expect(await virsh(h2, 'list', '--all', '--uuid')).not.toContain(vmId);
      expect(await virsh(h2, 'secret-list')).not.toContain(root!.id);
      expect(existsSync(files(agents[1]!).volume)).toBe(false);
    },
    20 * 60_000,
  );
});
