/**
 * The vertical slice on real libvirt: a tenant's REST `POST /v1/vms` (the API as a process, a
 * real Keycloak token) -> the vm.create operation -> the production workflows -> a real agent
 * process over mTLS -> libvirtd in a network namespace of the testkit's lab -> a Palisade Tiny
 * guest under TCG, booted from a LUKS root volume on the image, whose serial console prints the
 * READY marker with the hostname from its NoCloud seed. Then `DELETE /v1/vms/{id}` -> nothing
 * left on the host (domain, secret, volume, seed, tap) or in the database (VM, NIC, volume).
 * A second test attaches a data volume through REST to the stopped guest: started again, the
 * guest lists it and writes to it (readable through LUKS with its key, not in the file in the
 * clear); detach and delete leave no file, secret or row.
 *
 * The workflow engine runs in this process on exactly this test's operations (no queue): a
 * worker process with its outbox relay would also run other suites' pending VM operations in
 * the shared database. The relay and queue are proven in outbox-relay.int.spec.ts.
 *
 * Measured, not asserted: POST->running (libvirt state) and POST->READY, next to a raw
 * `virsh define` + `virsh start` of the same domain XML in the same run.
 *
 * Needs root, libvirt, qemu-system-x86, qemu-utils, busybox, iproute2, dosfstools, mtools (the
 * stack tool's packages). Guest traffic stays inside the lab's namespace.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomUUID } from 'node:crypto';
import {
  closeSync,
  copyFileSync,
  existsSync,
  mkdtempSync,
  openSync,
  readFileSync,
  readSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { VmIsolation } from '@palisade/contracts';
import { addMembership, createDb, schema, setQuota, withPlatform, type Db } from '@palisade/db';
import { buildGuestImage, type GuestImage } from '@palisade/guest-image';
import {
  createNetnsLab,
  devRealmClientSecret,
  freePort,
  loadStack,
  loginWithPassword,
  SerialConsole,
  stopAgentProcess,
  type LabHost,
  type NetnsLab,
} from '@palisade/testkit';
import { WorkflowEngine } from '../operations/engine';
import { startAgentProcess, type AgentProcess } from '../testing/agent-process';
import { allWorkflows } from '../workflows';
import { controlPlaneClientTls, type ClientTls } from './agent-client';
import { unwrapVolumeKey } from './volume-keys';

const exec = promisify(execFile);
const stack = loadStack('test');
/** A setup bound for a TCG guest to print its marker, not an assertion. */
const BOOT_BOUND_MS = 10 * 60_000;
const REPO = path.resolve(__dirname, '../../../..');
// Setup bounds, not assertions: TCG on a shared 2-core machine is slow.
const START_BOUND_MS = 180_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** The API as a child process (swc on the fly, as `npm start` runs it); agents are the test
 *  kit's (`startAgentProcess`). */
function startApi(env: Record<string, string>): { proc: ChildProcess; log: () => string } {
  let log = '';
  const proc = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: path.join(REPO, 'apps', 'api'),
    env: { ...process.env, SWC_NODE_PROJECT: '../../tsconfig.json', LOG_LEVEL: 'warn', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  proc.stdout!.on('data', (b: Buffer) => (log += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (log += b.toString()));
  return { proc, log: () => log };
}

async function until<T>(
  what: string,
  bound: number,
  fn: () => Promise<T>,
  log: () => string,
): Promise<T> {
  for (const end = Date.now() + bound; ;) {
    try {
      return await fn();
    } catch (e) {
      if (Date.now() > end) throw new Error(`${what}: ${String(e)}\n${log()}`);
      await sleep(250);
    }
  }
}

describe('vertical slice on real libvirt: POST /v1/vms -> running guest -> DELETE -> nothing left', () => {
  let lab: NetnsLab;
  let h1: LabHost;
  let image: GuestImage;
  let db: Db;
  let tls: ClientTls;
  let engine: WorkflowEngine;
  interface Host extends AgentProcess {
    state: string;
    hostId: string;
    fabricId: string;
    networkId: string;
  }
  /** `real`: the lab's libvirtd; `sim`: AGENT_HYPERVISOR=simulated, for the comparison. */
  const hosts: Partial<Record<'real' | 'sim', Host>> = {};
  let api: { proc: ChildProcess; log: () => string; base: string };
  let token: string;
  let pkiDir: string;
  let console_: SerialConsole | undefined;
  const suffix = randomUUID().slice(0, 8);
  const ids = { tenant: '', flavor: '', image: '' };
  let checksum: string;
  const virsh = async (...args: string[]) =>
    (await exec('virsh', ['-c', h1.libvirtUri!, ...args], { encoding: 'utf8', timeout: 120_000 }))
      .stdout;

  beforeAll(async () => {
    db = createDb(stack.postgres.appUrl, { max: 4 });
    lab = await createNetnsLab({ libvirt: true, log: (l) => console.log(`[lab] ${l}`) });
    h1 = lab.hosts[0]!;
    image = await buildGuestImage();
    checksum = createHash('sha256').update(readFileSync(image.qcow2)).digest('hex');
    pkiDir = mkdtempSync(path.join(os.tmpdir(), 'palisade-slice-pki-'));
    tls = await controlPlaneClientTls(pkiDir, 1);

    const apiPort = await freePort();
    const apiApp = startApi({
      DATABASE_URL: stack.postgres.appUrl,
      REDIS_URL: stack.redis.url,
      KEYCLOAK_ISSUER: stack.keycloak.issuer,
      KEYCLOAK_ADMIN_CLIENT_SECRET: devRealmClientSecret('palisade-identity-admin'),
      PALISADE_API_PORT: String(apiPort),
      AGENT_GATEWAY_PORT: '0',
    });
    api = { ...apiApp, base: `http://127.0.0.1:${apiPort}` };

    const tokens = await loginWithPassword({
      keycloakUrl: stack.keycloak.url,
      realm: stack.keycloak.realm,
      clientId: 'palisade-portal',
      redirectUri: 'http://localhost:15173/',
      username: 'alice',
      password: 'alice-dev-password',
    });
    token = tokens.accessToken;
    const sub = JSON.parse(Buffer.from(token.split('.')[1]!, 'base64url').toString()).sub as string;

    await withPlatform(db, 'test fixture: slice', async (tx) => {
      const [tenant] = await tx
        .insert(schema.tenants)
        .values({ slug: `slice-${suffix}`, name: 'Slice' })
        .returning();
      ids.tenant = tenant!.id;
      await setQuota(tx, {
        tenantId: ids.tenant,
        limits: { vcpus: 4, ramMiB: 4096, diskGiB: 20, vms: 4, volumes: 4, networks: 2 },
      });
      const [flavor] = await tx
        .insert(schema.flavors)
        // No SELinux here (DESIGN.md): sVirt `preferred`, reported as weakened.
        .values({
          name: `slice-${suffix}`,
          vcpus: 1,
          ramMib: 192,
          diskGib: 1,
          svirtRequired: false,
          cpuQuotaUs: 50_000,
        })
        .returning();
      ids.flavor = flavor!.id;
      const [img] = await tx
        .insert(schema.images)
        .values({
          name: `palisade-tiny-${suffix}`,
          os: 'palisade-tiny',
          format: 'qcow2',
          sizeBytes: image.sizes.qcow2Virtual,
          checksum,
          visibility: 'public',
          status: 'active',
        })
        .returning();
      ids.image = img!.id;
    });
    await addMembership(db, { tenantId: ids.tenant, subject: sub, role: 'owner' }, 'test fixture');

    // No AGENT_NO_BANDWIDTH: the agent probes whether the kernel can shape <bandwidth> (this
    // one lacks sfq) and leaves it out on its own.
    hosts.real = await addHost('real', {
      AGENT_HYPERVISOR: 'libvirt',
      LIBVIRT_URI: h1.libvirtUri!,
      AGENT_NETNS: h1.netns,
      AGENT_UNDERLAY_DEV: h1.underlayDev,
      AGENT_UNDERLAY_IP: h1.underlayIp,
      AGENT_LUKS_ITER_MS: '100',
    });
    hosts.sim = await addHost('sim', {
      AGENT_HYPERVISOR: 'simulated',
      AGENT_SIMULATED_SECURITY: 'none',
    });

    const workflows = allWorkflows({ db, tls, masterKey: Buffer.alloc(32, 3) });
    engine = new WorkflowEngine(db, new Map(workflows.map((w) => [w.kind, w])));
    await until(
      'api listens',
      START_BOUND_MS,
      () =>
        fetch(`${api.base}/healthz`).then((r) => {
          if (!r.ok) throw new Error(String(r.status));
        }),
      api.log,
    );
  }, 20 * 60_000);

  /** An enrolled-looking agent (identity issued by the test's CA), its host row, a fabric only
   *  it reaches and a tenant network on that fabric, so a VM on the network lands on it. */
  async function addHost(kind: 'real' | 'sim', env: Record<string, string>): Promise<Host> {
    const name = `slice-${kind}-${suffix}`;
    // libvirt-qemu must reach the images: the lab's image dir is world-traversable, /root is not.
    const agent = await startAgentProcess({
      dir: path.join(lab.imageDir, 'agents'),
      caDir: pkiDir,
      name,
      tls,
      env,
    });
    lab.trackProcess(agent.proc.pid!);
    copyFileSync(image.qcow2, path.join(agent.stateDir, 'images', `${checksum}.qcow2`));
    const url = agent.url;
    return withPlatform(db, `test fixture: host ${name}`, async (tx) => {
      const [host] = await tx
        .insert(schema.hosts)
        .values({
          name,
          state: 'up',
          agentUrl: url,
          cpus: 2,
          ramMib: 2048,
          diskGib: 20,
          securityModels: ['none', 'dac'],
          acceleration: 'tcg',
          compliance: { status: 'compliant' },
        })
        .returning();
      const [fabric] = await tx
        .insert(schema.fabrics)
        .values({ name, type: 'vxlan', device: 'ul0', segmentRanges: '100-4000' })
        .returning();
      await tx.insert(schema.hostFabrics).values({ hostId: host!.id, fabricId: fabric!.id });
      const [network] = await tx
        .insert(schema.networks)
        .values({
          tenantId: ids.tenant,
          fabricId: fabric!.id,
          name: `net-${kind}`,
          segmentType: 'vxlan',
          segmentId: 100 + (parseInt(suffix.slice(0, 3), 16) % 3000),
          cidr: kind === 'real' ? '10.31.0.0/24' : '10.32.0.0/24',
          status: 'active',
        })
        .returning();
      return Object.assign(agent, {
        state: agent.stateDir,
        hostId: host!.id,
        fabricId: fabric!.id,
        networkId: network!.id,
      });
    });
  }

  afterAll(async () => {
    console_?.close();
    for (const h of [hosts.real, hosts.sim]) await stopAgentProcess(h);
    if (api?.proc.exitCode === null) api.proc.kill('SIGTERM');
    try {
      if (ids.tenant) await cleanDb();
    } finally {
      if (ids.tenant)
        // The agent made the tenant's cgroup partition; registering it lets the lab remove it.
        // (The designer's `tenantPartition`; the worker may not import the agent-side lib.)
        lab?.ensurePartition(`/machine/palisade-${ids.tenant.replace(/-/g, '')}`);
      await lab?.dispose();
      await db?.$client.end();
      if (pkiDir) rmSync(pkiDir, { recursive: true, force: true });
    }
  }, 5 * 60_000);

  /** This test's rows (audit events are append-only and stay, as in every suite). */
  async function cleanDb() {
    await withPlatform(db, 'test cleanup: slice', async (tx) => {
      await tx.delete(schema.operations).where(eq(schema.operations.tenantId, ids.tenant));
      await tx.delete(schema.snapshots).where(eq(schema.snapshots.tenantId, ids.tenant));
      await tx.delete(schema.volumes).where(eq(schema.volumes.tenantId, ids.tenant));
      await tx.delete(schema.vms).where(eq(schema.vms.tenantId, ids.tenant));
      await tx.delete(schema.networks).where(eq(schema.networks.tenantId, ids.tenant));
      for (const h of [hosts.real, hosts.sim]) {
        if (!h) continue;
        await tx.delete(schema.hostFabrics).where(eq(schema.hostFabrics.hostId, h.hostId));
        await tx.delete(schema.fabrics).where(eq(schema.fabrics.id, h.fabricId));
        await tx.delete(schema.hosts).where(eq(schema.hosts.id, h.hostId));
      }
      await tx.delete(schema.images).where(eq(schema.images.id, ids.image));
      await tx.delete(schema.flavors).where(inArray(schema.flavors.id, [ids.flavor]));
    });
  }

  const rest = async (method: string, p: string, body?: unknown) => {
    const res = await fetch(`${api.base}/v1${p}`, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        'x-palisade-tenant': ids.tenant,
        ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    return { status: res.status, body: (await res.json()) as Record<string, unknown> };
  };

  /** The same REST path to a simulated host: POST -> running, then DELETE to nothing. */
  async function simulatedRun(): Promise<number> {
    const posted = Date.now();
    const created = await rest('POST', '/vms', {
      name: `sim-${suffix}`,
      flavorId: ids.flavor,
      imageId: ids.image,
      networkId: hosts.sim!.networkId,
    });
    expect(created.status).toBe(202);
    const vmId = (created.body.vm as { id: string }).id;
    const run = (op: unknown) =>
      engine.run((op as { id: string }).id, { attemptsMade: 0, maxAttempts: 1 });
    expect(await run(created.body.operation)).toBe('succeeded');
    const ms = Date.now() - posted;
    expect((await hosts.sim!.client.get(vmId))?.state).toBe('running');
    const deleted = await rest('DELETE', `/vms/${vmId}`);
    expect(await run(deleted.body.operation)).toBe('succeeded');
    expect((await hosts.sim!.client.list()).items).toEqual([]);
    return ms;
  }

  it(
    'boots a TCG guest from POST /v1/vms and removes every trace of it on DELETE',
    async () => {
      const name = `slice-${suffix}`;
      const posted = Date.now();
      const created = await rest('POST', '/vms', {
        name,
        flavorId: ids.flavor,
        imageId: ids.image,
        networkId: hosts.real!.networkId,
      });
      expect(created.status).toBe(202);
      const vmId = (created.body.vm as { id: string }).id;
      const opId = (created.body.operation as { id: string }).id;

      expect(await engine.run(opId, { attemptsMade: 0, maxAttempts: 1 })).toBe('succeeded');
      const runningMs = Date.now() - posted;
      const live = await hosts.real!.client.get(vmId);
      expect(live?.state).toBe('running');
      console_ = new SerialConsole((await virsh('ttyconsole', vmId)).trim());
      await console_.open();
      const ready = await console_.waitFor(
        /PALISADE-TINY READY hostname=(\S+) ip=(\S+)/,
        BOOT_BOUND_MS,
        'slice boot',
      );
      const readyMs = Date.now() - posted;
      expect(ready[1]).toBe(name);
      const nic = (
        await withPlatform(db, 'test: nic', (tx) =>
          tx.select().from(schema.nics).where(eq(schema.nics.vmId, vmId)),
        )
      )[0]!;
      expect(ready[2]).toBe(`${nic.ip}/24`);
      const shown = await rest('GET', `/vms/${vmId}`);
      expect(shown.body.observedState).toBe('running');
      // The tenant sees what the host weakened: no sVirt (no SELinux here), and no bandwidth
      // limit exactly where the host left <bandwidth> out.
      const shaped = live!.xml.includes('<bandwidth');
      const weakened = (shown.body.weakenings as { mechanism: string }[]).map((w) => w.mechanism);
      expect(weakened).toContain('svirt');
      expect(weakened.includes('bandwidth')).toBe(!shaped);

      // The root volume is LUKS on the host; its key never touched the host's disk.
      const [root] = await withPlatform(db, 'test: root volume', (tx) =>
        tx.select().from(schema.volumes).where(eq(schema.volumes.vmId, vmId)),
      );
      const volumeId = root!.id; // the agent names the volume's libvirt secret after it
      expect(live!.xml).toContain(volumeId);
      const volumePath = path.join(hosts.real!.state, 'volumes', `${volumeId}.qcow2`);
      const info = JSON.parse(
        (await exec('qemu-img', ['info', '-U', '-f', 'qcow2', '--output=json', volumePath])).stdout,
      ) as {
        'format-specific': { data: { encrypt?: { format: string } } };
      };
      expect(info['format-specific'].data.encrypt?.format).toBe('luks');
      const tap = (await virsh('domiflist', vmId)).split('\n')[2]!.trim().split(/\s+/)[0]!;
      expect(tap).toMatch(/^[a-z]/);

      // The agent's isolation report, measured on the host: the flavor's CPU quota in cgroupfs,
      // the tap on the segment's bridge with clean-traffic bound, the root disk LUKS.
      const report = await hosts.real!.client.isolation(vmId);
      expect(report.cgroups.vcpus.map((v) => v.quotaUs)).toEqual([50_000]);
      expect(report.network[0]?.tap).toBe(tap);
      expect(report.network[0]?.bridge.value).toMatch(/^pbr-x\d+$/);
      expect(report.network[0]?.binding.value).toBe('clean-traffic');
      expect(report.storage.find((d) => d.path === volumePath)?.encryption.value).toBe('luks');
      expect(report.weakenings.some((w) => w.mechanism === 'bandwidth')).toBe(!shaped);

      // The tenant's view: the report the worker stored right after the start, checked against
      // the VM's spec. No MAC label on this host (weakened, with the host's reason); the rest pass.
      const iso = await rest('GET', `/vms/${vmId}/isolation`);
      expect(iso.status).toBe(200);
      const isoBody = iso.body as unknown as VmIsolation;
      expect(isoBody.measuredAt).not.toBeNull();
      // Weakened only where the host said so at start (no MAC label here; no shaping where the
      // kernel lacks sfq); everything else measured as the spec asks.
      const said = (m: string) => isoBody.weakenings.some((w) => w.mechanism === m);
      expect(isoBody.verdict).toBe(said('svirt') || said('bandwidth') ? 'weakened' : 'isolated');
      expect(
        Object.fromEntries(isoBody.checks.map((c) => [`${c.mechanism}:${c.expected}`, c.status])),
      ).toEqual({
        [`svirt:${isoBody.checks[0]!.expected}`]: said('svirt') ? 'weakened' : 'pass',
        'cpu:quota 50000 µs per 100000 µs on every vCPU': 'pass',
        [`network:NIC ${nic.mac} on its segment bridge`]: 'pass',
        [`filter:clean-traffic bound to the tap, IP=${nic.ip.replace(/\/32$/, '')}`]: 'pass',
        [isoBody.checks
          .find((c) => c.mechanism === 'bandwidth')!
          .expected.replace(/^/, 'bandwidth:')]: said('bandwidth') ? 'weakened' : 'pass',
        'storage:vda LUKS-encrypted': 'pass',
      });

      // Raw baseline in the same run: the same persistent XML through virsh alone.
      const xmlFile = path.join(lab.dir, `${vmId}.xml`);
      writeFileSync(xmlFile, await virsh('dumpxml', '--inactive', vmId));
      await virsh('destroy', vmId);
      const rawStart = Date.now();
      await virsh('define', xmlFile);
      await virsh('start', vmId);
      const rawMs = Date.now() - rawStart;
      const simMs = await simulatedRun();
      console.log(
        `[measure] POST->running: simulated host ${simMs} ms; real libvirt ${runningMs} ms (POST->READY marker ${readyMs} ms); raw virsh define+start of the same XML ${rawMs} ms`,
      );

      const deleted = await rest('DELETE', `/vms/${vmId}`);
      expect(deleted.status).toBe(202);
      expect(
        await engine.run((deleted.body.operation as { id: string }).id, {
          attemptsMade: 0,
          maxAttempts: 1,
        }),
      ).toBe('succeeded');

      // Nothing on the host...
      expect(await virsh('list', '--all', '--uuid')).not.toContain(vmId);
      expect(await virsh('secret-list')).not.toContain(volumeId);
      expect(existsSync(volumePath)).toBe(false);
      expect(existsSync(path.join(hosts.real!.state, 'seeds', `${vmId}.img`))).toBe(false);
      const links = (await exec('ip', ['-n', h1.netns, '-o', 'link'])).stdout;
      expect(links).not.toContain(`${tap}:`);
      // ...and nothing allocated: the row (MCS pair, host claim), its NIC (MAC, IP), its volume.
      const left = await withPlatform(db, 'test: leftovers', async (tx) => ({
        vms: await tx.select().from(schema.vms).where(eq(schema.vms.id, vmId)),
        nics: await tx.select().from(schema.nics).where(eq(schema.nics.vmId, vmId)),
        volumes: await tx
          .select()
          .from(schema.volumes)
          .where(eq(schema.volumes.tenantId, ids.tenant)),
      }));
      expect(left).toEqual({ vms: [], nics: [], volumes: [] });
    },
    20 * 60_000,
  );
  it(
    'a data volume attached through REST is a disk the guest sees; detached and deleted, nothing is left',
    async () => {
      const run = async (accepted: { status: number; body: Record<string, unknown> }) => {
        expect(accepted.status, JSON.stringify(accepted.body)).toBe(202);
        const op = accepted.body.operation as { id: string };
        const started = Date.now();
        const outcome = await engine.run(op.id, { attemptsMade: 0, maxAttempts: 1 });
        const ms = Date.now() - started;
        expect(outcome, JSON.stringify((await rest('GET', `/operations/${op.id}`)).body)).toBe(
          'succeeded',
        );
        return ms;
      };
      // The guest lists its virtio disks and their sizes (512-byte sectors) on the console.
      const userData = [
        '#!/bin/sh',
        'for s in /sys/block/vd*; do echo "VOLTEST disk=${s##*/} sectors=$(cat $s/size)"; done',
        // ...and writes its hostname onto the 2 GiB one (the data volume), if it has one.
        'for s in /sys/block/vd*; do [ "$(cat $s/size)" = 4194304 ] && printf "PALISADE-VOLUME-%s." "$(hostname)" > /dev/${s##*/}; done',
        'echo VOLTEST done',
      ].join('\n');
      const created = await rest('POST', '/vms', {
        name: `vol-${suffix}`,
        flavorId: ids.flavor,
        imageId: ids.image,
        networkId: hosts.real!.networkId,
        userData,
      });
      const vmId = (created.body.vm as { id: string }).id;
      await run(created);
      await run(await rest('POST', `/vms/${vmId}/force-off`, {}));

      const made = await rest('POST', '/volumes', { name: `data-${suffix}`, sizeGiB: 2 });
      const volumeId = (made.body.volume as { id: string }).id;
      await run(made);
      const attachAccepted = await rest('POST', `/volumes/${volumeId}/attach`, { vmId });
      const attachMs = await run(attachAccepted);
      // Where the attach's time went, from the step timeline the tenant reads.
      const timeline = (
        (await rest('GET', `/operations/${(attachAccepted.body.operation as { id: string }).id}`))
          .body.steps as { name: string; startedAt: string; finishedAt: string }[]
      )
        .map((st) => `${st.name} ${Date.parse(st.finishedAt) - Date.parse(st.startedAt)} ms`)
        .join(', ');
      const volumePath = path.join(hosts.real!.state, 'volumes', `${volumeId}.qcow2`);
      expect(existsSync(volumePath)).toBe(true);
      const defined = await virsh('dumpxml', '--inactive', vmId);
      expect(defined).toContain(volumePath);
      expect(defined).toContain(`<secret type='passphrase' uuid='${volumeId}'/>`);
      // Raw baseline in the same run: the same persistent XML through `virsh define` alone.
      const xmlFile = path.join(lab.dir, `${vmId}-attached.xml`);
      writeFileSync(xmlFile, defined);
      const rawStart = Date.now();
      await virsh('define', xmlFile);
      const rawDefineMs = Date.now() - rawStart;
      // ...and a LUKS qcow2 of the same size made by qemu-img alone, as the agent's config makes it.
      const rawFile = path.join(lab.dir, `${volumeId}-raw.qcow2`);
      const rawCreateStart = Date.now();
      await exec('qemu-img', [
        'create',
        '-q',
        '-f',
        'qcow2',
        '--object',
        `secret,id=s0,data=${Buffer.alloc(32, 1).toString('base64')}`,
        '-o',
        'encrypt.format=luks,encrypt.key-secret=s0,encrypt.iter-time=100',
        rawFile,
        '2G',
      ]);
      const rawCreateMs = Date.now() - rawCreateStart;
      rmSync(rawFile);

      const startedAt = Date.now();
      await run(await rest('POST', `/vms/${vmId}/start`, {}));
      const serial = new SerialConsole((await virsh('ttyconsole', vmId)).trim());
      try {
        await serial.open();
        // USERDATA-DONE comes after the guest flushed every disk (the Tiny init's sync).
        await serial.waitFor(/PALISADE-TINY USERDATA-DONE/, BOOT_BOUND_MS, 'data-volume guest');
      } finally {
        serial.close();
      }
      console.log(
        `[measure] volume.attach ${attachMs} ms (${timeline}); raw qemu-img create of a 2 GiB LUKS qcow2 ${rawCreateMs} ms and virsh define of the same XML ${rawDefineMs} ms; vm.start -> guest lists the volume ${Date.now() - startedAt} ms`,
      );
      // 2 GiB = 4194304 sectors: the data volume, decrypted by QEMU with the key from the worker.
      const disks = [...serial.text.matchAll(/VOLTEST disk=(vd[a-z]+) sectors=(\d+)/g)].map(
        (m) => `${m[1]}:${m[2]}`,
      );
      expect(disks.filter((d) => d.endsWith(':4194304'))).toHaveLength(1);
      console.log(`[volume] guest disks: ${disks.join(' ')}`);

      await run(await rest('POST', `/vms/${vmId}/force-off`, {}));
      // What the guest wrote is on the volume through LUKS, and not in the file in the clear.
      const [row] = await withPlatform(db, 'test: data volume', (tx) =>
        tx.select().from(schema.volumes).where(eq(schema.volumes.id, volumeId)),
      );
      const keyFile = path.join(lab.dir, `${volumeId}.key`);
      writeFileSync(
        keyFile,
        unwrapVolumeKey(Buffer.alloc(32, 3), {
          tenantId: ids.tenant,
          volumeId,
          wrapped: row!.wrappedKey!,
        }),
        { mode: 0o600 },
      );
      const plain = path.join(lab.dir, `${volumeId}.raw`);
      await exec('qemu-img', [
        'convert',
        '--object',
        `secret,id=k,file=${keyFile},format=raw`,
        '--image-opts',
        `driver=qcow2,file.filename=${volumePath},encrypt.key-secret=k`,
        '-O',
        'raw',
        plain,
      ]);
      rmSync(keyFile);
      const mark = `PALISADE-VOLUME-vol-${suffix}.`;
      const head = Buffer.alloc(mark.length);
      const fd = openSync(plain, 'r');
      readSync(fd, head, 0, head.length, 0);
      closeSync(fd);
      rmSync(plain);
      expect(head.toString('latin1')).toBe(mark);
      expect(readFileSync(volumePath).includes(Buffer.from(mark))).toBe(false);

      await run(await rest('POST', `/volumes/${volumeId}/detach`, {}));
      expect(await virsh('dumpxml', '--inactive', vmId)).not.toContain(volumePath);
      await run(await rest('DELETE', `/volumes/${volumeId}`));

      // Nothing left of the volume: no file, no secret, no row.
      expect(existsSync(volumePath)).toBe(false);
      expect(await virsh('secret-list')).not.toContain(volumeId);
      expect((await rest('GET', `/volumes/${volumeId}`)).status).toBe(404);
      const rows = await withPlatform(db, 'test: volume row', (tx) =>
        tx.select().from(schema.volumes).where(eq(schema.volumes.id, volumeId)),
      );
      expect(rows).toEqual([]);
      await run(await rest('DELETE', `/vms/${vmId}`));
      expect(await virsh('list', '--all', '--uuid')).not.toContain(vmId);
    },
    20 * 60_000,
  );
});
