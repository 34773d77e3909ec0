/**
 * The vertical slice on real libvirt: a tenant's REST `POST /v1/vms` (the API as a process, a
 * real Keycloak token) -> the vm.create operation -> the production workflows -> a real agent
 * process over mTLS -> libvirtd in a network namespace of the testkit's lab -> a Palisade Tiny
 * guest under TCG, booted from a LUKS root volume on the image, whose serial console prints the
 * READY marker with the hostname from its NoCloud seed. Then `DELETE /v1/vms/{id}` -> nothing
 * left on the host (domain, secret, volume, seed, tap) or in the database (VM, NIC, volume).
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
  copyFileSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readFileSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { createServer } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CERT_OU } from '@palisade/contracts';
import { issueKeyAndCertificate, loadOrCreateCa } from '@palisade/auth';
import { addMembership, createDb, schema, setQuota, withPlatform, type Db } from '@palisade/db';
import { buildGuestImage, type GuestImage } from '@palisade/guest-image';
import {
  createNetnsLab,
  devRealmClientSecret,
  loadStack,
  loginWithPassword,
  type LabHost,
  type NetnsLab,
} from '@palisade/testkit';
import { WorkflowEngine, type Workflow } from '../operations/engine';
import { AgentClient, controlPlaneClientTls, type ClientTls } from './agent-client';
import { vmWorkflows } from './vm-workflows';

const exec = promisify(execFile);
const stack = loadStack('test');
const REPO = path.resolve(__dirname, '../../../..');
// Setup bounds, not assertions: TCG on a shared 2-core machine is slow.
const START_BOUND_MS = 180_000;
const BOOT_BOUND_MS = 10 * 60_000;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** An app of this repository as a child process (swc on the fly, as `npm start` runs it). */
function startApp(
  app: 'api' | 'agent',
  env: Record<string, string>,
): { proc: ChildProcess; log: () => string } {
  let log = '';
  const proc = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: path.join(REPO, 'apps', app),
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

/** The guest's serial pty, read raw (no echo back into the guest). */
class SerialConsole {
  text = '';
  private reader: ChildProcess | undefined;
  constructor(readonly pty: string) {}
  async open(): Promise<void> {
    await exec('stty', ['-F', this.pty, 'raw', '-echo']);
    this.reader = spawn('cat', [this.pty], { stdio: ['ignore', 'pipe', 'ignore'] });
    this.reader.stdout!.on(
      'data',
      (b: Buffer) => (this.text += b.toString('latin1').replace(/\r/g, '')),
    );
  }
  async waitFor(re: RegExp): Promise<RegExpMatchArray> {
    for (const end = Date.now() + BOOT_BOUND_MS; Date.now() < end; await sleep(250)) {
      const m = this.text.match(re);
      if (m) return m;
    }
    throw new Error(`${re} not seen on ${this.pty}; console so far:\n${this.text}`);
  }
  close(): void {
    if (this.reader?.exitCode === null) this.reader.kill('SIGTERM');
  }
}

describe('vertical slice on real libvirt: POST /v1/vms -> running guest -> DELETE -> nothing left', () => {
  let lab: NetnsLab;
  let h1: LabHost;
  let image: GuestImage;
  let db: Db;
  let tls: ClientTls;
  let engine: WorkflowEngine;
  interface Host {
    proc: ChildProcess;
    log: () => string;
    client: AgentClient;
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
  let ca: Awaited<ReturnType<typeof loadOrCreateCa>>;
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
    ca = await loadOrCreateCa(pkiDir);
    tls = await controlPlaneClientTls(pkiDir, 1);

    const apiPort = await freePort();
    const apiApp = startApp('api', {
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

    const workflows = vmWorkflows({
      db,
      tls,
      masterKey: Buffer.alloc(32, 3),
    }) as Workflow<unknown>[];
    engine = new WorkflowEngine(db, new Map(workflows.map((w) => [w.kind, w])));
    for (const h of [hosts.real, hosts.sim])
      await until('agent listens', START_BOUND_MS, () => h!.client.list(), h!.log);
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
    const dir = path.join(lab.imageDir, `agent-${kind}`);
    mkdirSync(path.join(dir, 'images'), { recursive: true });
    copyFileSync(image.qcow2, path.join(dir, 'images', `${checksum}.qcow2`));
    const issued = await issueKeyAndCertificate(ca, {
      commonName: name,
      organizationalUnit: CERT_OU.host,
      names: [name, '127.0.0.1'],
      validityDays: 1,
    });
    mkdirSync(path.join(dir, 'pki'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(dir, 'pki', 'ca.crt'), ca.certPem);
    writeFileSync(path.join(dir, 'pki', 'host.key'), issued.keyPem, { mode: 0o600 });
    writeFileSync(path.join(dir, 'pki', 'host.crt'), issued.pem);
    const port = await freePort();
    const app = startApp('agent', {
      AGENT_HOSTNAME: name,
      AGENT_PORT: String(port),
      AGENT_STATE_DIR: dir,
      ...env,
    });
    const url = `https://127.0.0.1:${port}`;
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
      return {
        ...app,
        client: new AgentClient(url, tls, name),
        state: dir,
        hostId: host!.id,
        fabricId: fabric!.id,
        networkId: network!.id,
      };
    });
  }

  afterAll(async () => {
    console_?.close();
    for (const p of [hosts.real?.proc, hosts.sim?.proc, api?.proc])
      if (p?.exitCode === null) p.kill('SIGTERM');
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
      const ready = await console_.waitFor(/PALISADE-TINY READY hostname=(\S+) ip=(\S+)/);
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
});
