/**
 * vm.create and vm.delete end to end below the API: the production workflow engine and
 * workflows, the real Postgres of the test stack, and two real agent processes
 * (AGENT_HYPERVISOR=simulated) reached over real mTLS with the certificate the worker issues
 * itself from a CA the test creates. Each agent has a real image store (a qcow2 file verified by
 * checksum) and builds real NoCloud seeds; only libvirt is simulated.
 *
 * Proven: a VM is placed, its root volume's key is stored only wrapped, the host reports it
 * running and that is what the row says; a host that cannot enforce the sVirt a flavor requires
 * refuses, and the workflow undoes everything (placement, volume row, host volume); delete leaves
 * nothing on the host or in allocations (row, NICs, volume); the VM's SSH keys (vm_ssh_keys)
 * reach the NoCloud seed the agent writes, and stay there after the tenant deletes the key.
 */
import { execFileSync } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq, inArray } from 'drizzle-orm';
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
import { controlPlaneClientTls, type ClientTls } from './agent-client';
import { unwrapVolumeKey } from './volume-keys';
import { vmWorkflows } from './vm-workflows';

const stack = loadStack('test');
const attempt = { attemptsMade: 0, maxAttempts: 1 };

describe('vm workflows (real Postgres, simulated agents over mTLS)', () => {
  let db: Db;
  let dir: string;
  let tls: ClientTls;
  let engine: WorkflowEngine;
  const masterKey = Buffer.alloc(32, 7);
  const suffix = randomUUID().slice(0, 8);
  // MCS pairs are unique cluster-wide and other suites share this database.
  const mcsBase = parseInt(suffix.slice(0, 3), 16) % 900;
  const agents: AgentProcess[] = [];
  let image: { checksum: string; sizeBytes: number; file: string };
  const ids = {
    tenant: '',
    flavorStrict: '',
    flavorLoose: '',
    image: '',
    hosts: [] as string[],
    fabrics: [] as string[],
    networks: [] as string[],
  };

  async function startAgent(
    name: string,
    security: 'selinux' | 'none',
    env: Record<string, string> = {},
  ): Promise<AgentProcess> {
    const agent = await startAgentProcess({
      dir,
      name,
      tls,
      env: { AGENT_SIMULATED_SECURITY: security, ...env },
    });
    // The operator's image, in place as the image store expects it (ensure-image verifies it).
    writeFileSync(
      path.join(agent.stateDir, 'images', `${image.checksum}.qcow2`),
      readFileSync(image.file),
    );
    return agent;
  }

  beforeAll(async () => {
    db = createDb(stack.postgres.appUrl, { max: 4 });
    dir = mkdtempSync(path.join(os.tmpdir(), 'palisade-vmwf-'));
    const file = path.join(dir, 'base.qcow2');
    execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '32M']);
    image = {
      file,
      checksum: createHash('sha256').update(readFileSync(file)).digest('hex'),
      sizeBytes: 32 * 1024 * 1024,
    };
    tls = await controlPlaneClientTls(path.join(dir, 'pki'), 1);
    // wf-sel enforces SELinux; wf-none has no MAC driver though its row (stale) claims SELinux.
    agents.push(await startAgent(`wf-sel-${suffix}`, 'selinux'));
    agents.push(await startAgent(`wf-none-${suffix}`, 'none'));
    // wf-weak has no MAC driver either, but its operator allowed weaker isolation; it also
    // shapes no bandwidth (the operator's override, as on a kernel without sfq).
    agents.push(
      await startAgent(`wf-weak-${suffix}`, 'none', {
        ALLOW_WEAKER_ISOLATION: 'true',
        AGENT_NO_BANDWIDTH: 'true',
      }),
    );

    await withPlatform(db, 'test fixture: vm workflows', async (tx) => {
      const [tenant] = await tx
        .insert(schema.tenants)
        .values({ slug: `wf-${suffix}`, name: 'Workflows' })
        .returning();
      ids.tenant = tenant!.id;
      const flavors = await tx
        .insert(schema.flavors)
        .values([
          { name: `wf-strict-${suffix}`, vcpus: 1, ramMib: 256, diskGib: 1, svirtRequired: true },
          { name: `wf-loose-${suffix}`, vcpus: 1, ramMib: 256, diskGib: 1, svirtRequired: false },
        ])
        .returning();
      [ids.flavorStrict, ids.flavorLoose] = flavors.map((f) => f.id) as [string, string];
      const [img] = await tx
        .insert(schema.images)
        .values({
          name: `wf-${suffix}`,
          os: 'test',
          format: 'qcow2',
          sizeBytes: image.sizeBytes,
          checksum: image.checksum,
          visibility: 'public',
          status: 'active',
        })
        .returning();
      ids.image = img!.id;
    });
    // One fabric per host, so each test's network decides which host a VM lands on.
    Object.assign(
      ids,
      await insertHostsWithNetworks(db, {
        tenantId: ids.tenant,
        agents,
        prefix: `wf-${suffix}`,
        cidr: '10.20.0.0/24',
        gateway: '10.20.0.1',
      }),
    );
    const workflows = vmWorkflows({ db, tls, masterKey }) as Workflow<unknown>[];
    engine = new WorkflowEngine(db, new Map(workflows.map((w) => [w.kind, w])));
  }, 4 * AGENT_START_BOUND_MS);

  afterAll(async () => {
    for (const a of agents) if (a.proc.exitCode === null) a.proc.kill('SIGTERM');
    if (ids.tenant) await removeTenantWorkloads(db, ids.tenant, ids);
    if (ids.tenant)
      await withPlatform(db, 'test cleanup: vm workflows', async (tx) => {
        await tx.delete(schema.images).where(eq(schema.images.id, ids.image));
        await tx
          .delete(schema.flavors)
          .where(inArray(schema.flavors.id, [ids.flavorStrict, ids.flavorLoose]));
        // A compensated create gave its quota back, which made the tenant's ledger row.
        await tx.delete(schema.tenantUsage).where(eq(schema.tenantUsage.tenantId, ids.tenant));
        await tx.delete(schema.tenants).where(eq(schema.tenants.id, ids.tenant));
      });
    await db?.$client.end();
    rmSync(dir, { recursive: true, force: true });
  });

  /** A fresh OpenSSH public key line from ssh-keygen. */
  function realPublicKey(name: string, type: 'ed25519' | 'ecdsa'): string {
    const file = path.join(dir, `${name}-${randomUUID().slice(0, 8)}`);
    execFileSync('ssh-keygen', ['-q', '-t', type, '-N', '', '-C', `${name}@wf`, '-f', file]);
    return readFileSync(`${file}.pub`, 'utf8').trim();
  }

  /** What the API writes for POST /v1/vms (VM, NIC with MAC and IP, MCS pair, SSH key
   *  snapshots, operation). */
  async function acceptedCreate(p: {
    flavorId: string;
    network: number;
    n: number;
    publicKeys?: string[];
  }) {
    return withPlatform(db, 'test fixture: accepted vm.create', async (tx) => {
      const [vm] = await tx
        .insert(schema.vms)
        .values({
          tenantId: ids.tenant,
          name: `wf-vm-${p.n}`,
          flavorId: p.flavorId,
          imageId: ids.image,
          mcsC1: mcsBase + p.n * 2,
          mcsC2: mcsBase + 1 + p.n * 2,
        })
        .returning();
      await tx.insert(schema.nics).values({
        tenantId: ids.tenant,
        vmId: vm!.id,
        networkId: ids.networks[p.network]!,
        mac: `52:54:00:7e:${suffix.slice(0, 2)}:${(10 + p.n).toString(16).padStart(2, '0')}`,
        ip: `10.20.0.${10 + p.n}`,
      });
      for (const [position, publicKey] of (p.publicKeys ?? []).entries()) {
        const fingerprint = `SHA256:test-${p.n}-${position}`;
        const [key] = await tx
          .insert(schema.sshKeys)
          .values({
            tenantId: ids.tenant,
            name: `wf-key-${p.n}-${position}`,
            publicKey,
            fingerprint,
          })
          .returning();
        await tx.insert(schema.vmSshKeys).values({
          tenantId: ids.tenant,
          vmId: vm!.id,
          position,
          sshKeyId: key!.id,
          name: key!.name,
          publicKey,
          fingerprint,
        });
      }
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
      return { vm: vm!, op: op! };
    });
  }

  const readOp = (id: string) =>
    withPlatform(db, 'test: op', (tx) =>
      tx.select().from(schema.operations).where(eq(schema.operations.id, id)),
    ).then((r) => r[0]!);
  const readVm = (id: string) =>
    withPlatform(db, 'test: vm', (tx) =>
      tx.select().from(schema.vms).where(eq(schema.vms.id, id)),
    ).then((r) => r[0]);
  const volumesOf = (vmId: string) =>
    withPlatform(db, 'test: volumes', (tx) =>
      tx.select().from(schema.volumes).where(eq(schema.volumes.vmId, vmId)),
    );
  const nicsOf = (vmId: string) =>
    withPlatform(db, 'test: nics', (tx) =>
      tx.select().from(schema.nics).where(eq(schema.nics.vmId, vmId)),
    );

  it('creates a VM: placed, root volume key stored only wrapped, running as its host reports', async () => {
    const { vm, op } = await acceptedCreate({ flavorId: ids.flavorStrict, network: 0, n: 1 });
    expect(await engine.run(op.id, attempt)).toBe('succeeded');

    const after = await readVm(vm.id);
    expect(after?.hostId).toBe(ids.hosts[0]);
    expect(after?.observedState).toBe('running');
    const onHost = await agents[0]!.client.get(vm.id);
    expect(onHost?.state).toBe('running');
    // The designer's label with the VM's own pair reached the host (sVirt enforced there).
    expect(onHost?.xml).toContain(`s0:c${vm.mcsC1},c${vm.mcsC2}`);

    const [root] = await volumesOf(vm.id);
    expect(root?.status).toBe('attached');
    const key = unwrapVolumeKey(masterKey, {
      tenantId: ids.tenant,
      volumeId: root!.id,
      wrapped: root!.wrappedKey!,
    });
    expect(Buffer.from(key, 'base64')).toHaveLength(32);
    expect(root!.wrappedKey!.includes(Buffer.from(key))).toBe(false);
    // The operation row (what the job and the tenant see) never carries the key.
    expect(JSON.stringify(await readOp(op.id))).not.toContain(key);
    // A duplicate delivery runs nothing.
    expect(await engine.run(op.id, attempt)).toBe('already-finished');
  });

  it('repeating a host call for the same operation gives the same answer (idempotent)', async () => {
    const { vm, op } = await acceptedCreate({ flavorId: ids.flavorLoose, network: 0, n: 2 });
    expect(await engine.run(op.id, attempt)).toBe('succeeded');
    const [root] = await volumesOf(vm.id);
    const key = unwrapVolumeKey(masterKey, {
      tenantId: ids.tenant,
      volumeId: root!.id,
      wrapped: root!.wrappedKey!,
    });
    const again = await agents[0]!.client.ensureVolume({
      operationId: op.id,
      volumeId: root!.id,
      sizeBytes: 1024 ** 3,
      base: { checksum: image.checksum, format: 'qcow2' },
      key,
    });
    expect(again).toMatchObject({ volumeId: root!.id, encrypted: true });
    const segment = { type: 'vxlan' as const, id: 100 };
    const s1 = await agents[0]!.client.ensureSegment({ operationId: op.id, segment });
    const s2 = await agents[0]!.client.ensureSegment({ operationId: op.id, segment });
    expect(s2).toEqual(s1);
    expect((await agents[0]!.client.get(vm.id))?.state).toBe('running');
  });

  it('a host that cannot enforce required sVirt refuses, and the workflow undoes everything', async () => {
    const { vm, op } = await acceptedCreate({ flavorId: ids.flavorStrict, network: 1, n: 3 });
    expect(await engine.run(op.id, attempt)).toBe('failed');

    const ended = await readOp(op.id);
    expect(ended.errorCode).toBe('agent.isolation_unenforceable');
    expect(ended.errorMessage).toMatch(/cannot run the VM/);
    const steps = ended.steps as { name: string; state: string }[];
    expect(steps.map((s) => `${s.name}:${s.state}`)).toEqual([
      'place:compensated',
      'image:compensated',
      'volume:compensated',
      'segment:compensated',
      'define-start:compensated',
    ]);
    // Nothing held: no VM row (its MCS pair, MAC and IP went with it), no volume row, no domain
    // on the host.
    expect(await readVm(vm.id)).toBeUndefined();
    expect(await nicsOf(vm.id)).toEqual([]);
    expect(await volumesOf(vm.id)).toEqual([]);
    expect(await agents[1]!.client.get(vm.id)).toBeNull();
    expect((await agents[1]!.client.list()).items).toEqual([]);
  });

  it('a host whose operator allowed weaker isolation runs it without sVirt, and says so', async () => {
    const { vm, op } = await acceptedCreate({ flavorId: ids.flavorStrict, network: 2, n: 6 });
    expect(await engine.run(op.id, attempt)).toBe('succeeded');
    const onHost = await agents[2]!.client.get(vm.id);
    expect(onHost?.state).toBe('running');
    expect(onHost?.xml).not.toContain("model='selinux'");
    expect(onHost?.xml).not.toContain('model="selinux"');
    expect(agents[2]!.log).toMatch(/weakened: svirt/);
    expect(onHost?.xml).not.toContain('<bandwidth');
    // What the host weakened is stored on the VM, as the host's ensure-running answered it.
    expect((await readVm(vm.id))?.weakenings).toEqual([
      {
        mechanism: 'svirt',
        reason: expect.stringContaining('its operator allowed weaker isolation'),
      },
      {
        mechanism: 'bandwidth',
        reason: 'bandwidth limit not enforced: AGENT_NO_BANDWIDTH=true on this host',
      },
    ]);
    // The isolation report keeps the same list beside its measurement, and (a simulated host has no
    // cgroups or labels to read) why nothing was measured. Never a report the host did not make.
    const [iso] = await withPlatform(db, 'test: isolation report', (tx) =>
      tx.select().from(schema.vmIsolationReports).where(eq(schema.vmIsolationReports.vmId, vm.id)),
    );
    expect(iso?.weakenings).toEqual((await readVm(vm.id))?.weakenings);
    expect(iso?.report).toBeNull();
    expect(iso?.measuredAt).toBeNull();
    expect(iso?.error).toMatch(/^the host could not measure it: .*simulated/);
  });

  it('a host that enforces everything stores no weakenings, and a later start replaces them', async () => {
    const { vm, op } = await acceptedCreate({ flavorId: ids.flavorStrict, network: 0, n: 20 });
    // A stale list from an earlier start on another host: the next start must replace it.
    await withPlatform(db, 'test fixture: stale weakenings', (tx) =>
      tx
        .update(schema.vms)
        .set({ weakenings: [{ mechanism: 'svirt', reason: 'stale' }] })
        .where(eq(schema.vms.id, vm.id)),
    );
    expect(await engine.run(op.id, attempt)).toBe('succeeded');
    expect((await agents[0]!.client.get(vm.id))?.xml).toContain('<bandwidth>');
    expect(await readVm(vm.id)).toMatchObject({ observedState: 'running', weakenings: [] });
  });

  it('deletes a VM: nothing left on the host, and its row, NIC (MAC, IP, MCS pair) and volume are gone', async () => {
    const { vm, op } = await acceptedCreate({ flavorId: ids.flavorStrict, network: 0, n: 4 });
    expect(await engine.run(op.id, attempt)).toBe('succeeded');
    const [root] = await volumesOf(vm.id);
    expect(root).toBeDefined();

    // What DELETE /v1/vms/{id} writes: desired state deleted and a vm.delete operation.
    const del = await withPlatform(db, 'test fixture: accepted vm.delete', async (tx) => {
      await tx.update(schema.vms).set({ desiredState: 'deleted' }).where(eq(schema.vms.id, vm.id));
      const [row] = await tx
        .insert(schema.operations)
        .values({
          tenantId: ids.tenant,
          kind: 'vm.delete',
          targetType: 'vm',
          targetId: vm.id,
          actor: 'test',
          deadline: new Date(Date.now() + 3_600_000),
        })
        .returning();
      return row!;
    });
    expect(await engine.run(del.id, attempt)).toBe('succeeded');

    expect(await agents[0]!.client.get(vm.id)).toBeNull();
    expect((await agents[0]!.client.list()).items.map((d) => d.vmId)).not.toContain(vm.id);
    expect(await readVm(vm.id)).toBeUndefined();
    expect(await nicsOf(vm.id)).toEqual([]);
    expect(await volumesOf(vm.id)).toEqual([]);
    // The host's secret went with the volume: the key no longer opens anything there, and a
    // fresh ensure with another key creates a new volume instead of reusing the old one.
    const other = await agents[0]!.client.ensureVolume({
      operationId: del.id,
      volumeId: root!.id,
      sizeBytes: 1024 ** 3,
      key: Buffer.alloc(32, 9).toString('base64'),
    });
    expect(other.encrypted).toBe(true);
    await agents[0]!.client.deleteVolume(del.id, root!.id);
  });

  it('stop, start, force-off and reboot record the state the host reports', async () => {
    const { vm, op } = await acceptedCreate({ flavorId: ids.flavorLoose, network: 0, n: 5 });
    expect(await engine.run(op.id, attempt)).toBe('succeeded');
    const act = async (kind: string) => {
      const [row] = await withPlatform(db, `test fixture: ${kind}`, (tx) =>
        tx
          .insert(schema.operations)
          .values({
            tenantId: ids.tenant,
            kind,
            targetType: 'vm',
            targetId: vm.id,
            actor: 'test',
            deadline: new Date(Date.now() + 3_600_000),
          })
          .returning(),
      );
      expect(await engine.run(row!.id, attempt)).toBe('succeeded');
      return {
        row: (await readVm(vm.id))?.observedState,
        host: (await agents[0]!.client.get(vm.id))?.state,
      };
    };
    expect(await act('vm.stop')).toEqual({ row: 'stopped', host: 'shutoff' });
    expect(await act('vm.start')).toEqual({ row: 'running', host: 'running' });
    expect(await act('vm.force_off')).toEqual({ row: 'stopped', host: 'shutoff' });
    expect(await act('vm.reboot')).toEqual({ row: 'running', host: 'running' });
    expect(await act('vm.reboot')).toEqual({ row: 'running', host: 'running' });
  });

  it("the VM's SSH keys reach the seed the agent wrote, and stay after the tenant deletes one", async () => {
    const publicKeys = [realPublicKey('k1', 'ed25519'), realPublicKey('k2', 'ecdsa')];
    const { vm, op } = await acceptedCreate({
      flavorId: ids.flavorLoose,
      network: 0,
      n: 7,
      publicKeys,
    });
    expect(await engine.run(op.id, attempt)).toBe('succeeded');

    // The seed image the agent built (a real vfat image), read back with mtools.
    const seed = path.join(dir, agents[0]!.name, 'seeds', `${vm.id}.img`);
    const seedKeys = () =>
      execFileSync('mtype', ['-i', seed, '::meta-data'], {
        encoding: 'utf8',
        env: { ...process.env, MTOOLS_SKIP_CHECK: '1', MTOOLSRC: '/dev/null' },
      })
        .split('\n')
        .filter((l) => l.startsWith('  - '))
        .map((l) => JSON.parse(l.slice(4)) as string);
    expect(seedKeys()).toEqual(publicKeys);

    // The tenant deletes the first key (as DELETE /v1/ssh-keys/{id} does) and the seed is gone
    // from the host; a start rebuilds the seed from the VM's snapshots: both keys are still there.
    const [row] = await withPlatform(db, 'test: vm ssh key', (tx) =>
      tx.select().from(schema.vmSshKeys).where(eq(schema.vmSshKeys.vmId, vm.id)),
    );
    await withPlatform(db, 'test fixture: tenant deletes a key', (tx) =>
      tx.delete(schema.sshKeys).where(eq(schema.sshKeys.id, row!.sshKeyId!)),
    );
    for (const kind of ['vm.stop', 'vm.start']) {
      if (kind === 'vm.start') rmSync(seed);
      const [action] = await withPlatform(db, `test fixture: ${kind}`, (tx) =>
        tx
          .insert(schema.operations)
          .values({
            tenantId: ids.tenant,
            kind,
            targetType: 'vm',
            targetId: vm.id,
            actor: 'test',
            deadline: new Date(Date.now() + 3_600_000),
          })
          .returning(),
      );
      expect(await engine.run(action!.id, attempt)).toBe('succeeded');
    }
    expect((await agents[0]!.client.get(vm.id))?.state).toBe('running');
    expect(seedKeys()).toEqual(publicKeys);
  });

  it('the image store refuses a missing image, a wrong checksum and an image with a backing file', async () => {
    const agent = agents[0]!;
    const store = path.join(dir, agent.name, 'images');
    const ensure = (checksum: string) =>
      agent.client.ensureImage({ operationId: randomUUID(), checksum, format: 'qcow2' });
    await expect(ensure('f'.repeat(64))).rejects.toMatchObject({ code: 'agent.image_missing' });

    // A file stored under a checksum it does not have.
    const forged = createHash('sha256').update('forged').digest('hex');
    writeFileSync(path.join(store, `${forged}.qcow2`), readFileSync(image.file));
    await expect(ensure(forged)).rejects.toMatchObject({ code: 'agent.image_invalid' });

    // A genuine qcow2 that names a backing file (here /etc/passwd as raw) is never used.
    const evil = path.join(dir, 'evil.qcow2');
    execFileSync('qemu-img', [
      'create',
      '-q',
      '-f',
      'qcow2',
      '-b',
      '/etc/passwd',
      '-F',
      'raw',
      evil,
      '1M',
    ]);
    const sum = createHash('sha256').update(readFileSync(evil)).digest('hex');
    writeFileSync(path.join(store, `${sum}.qcow2`), readFileSync(evil));
    await expect(ensure(sum)).rejects.toMatchObject({ code: 'agent.image_invalid' });

    expect(await ensure(image.checksum)).toMatchObject({ checksum: image.checksum });
  });

  it('the agent refuses a bad request naming the field (400, never a 500)', async () => {
    await expect(
      agents[0]!.client.ensureVolume({
        operationId: randomUUID(),
        volumeId: 'not-a-uuid',
        sizeBytes: 1024 ** 3,
        key: Buffer.alloc(32, 1).toString('base64'),
      }),
    ).rejects.toMatchObject({ code: 'common.validation_failed', message: /volumeId/ });
  });
});
