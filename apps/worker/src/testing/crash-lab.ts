/**
 * The crash lab: everything the crash-safety tests (docs/operations/crash-safety.md) run
 * against, isolated from every other suite:
 * - a throw-away database (a worker's relay takes EVERY pending operation in its database);
 * - a private redis-server (stopped and restarted by PID by the Redis test);
 * - simulated agents (real processes, real mTLS; only libvirt is simulated), one host row and
 *   one fabric each, so the tenant's network decides the host;
 * - the real API as a process (REST `POST /v1/vms`, `DELETE /v1/vms/{id}` with a real Keycloak
 *   token of the demo user alice, member of the lab's tenant);
 * - real worker processes, started and killed by the test (`startWorker`).
 *
 * `audit()` collects what the invariants are checked on: the operations, the rows (VMs, NICs,
 * volumes, the quota ledger) and what each agent holds (domains, volumes, secrets).
 *
 * For tests only; never imported by the worker itself. `close()` stops every process it started
 * (by PID) and drops the database.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { eq } from 'drizzle-orm';
import { addMembership, createDb, schema, withPlatform, type Db } from '@palisade/db';
import {
  createThrowawayDatabase,
  devRealmClientSecret,
  loadStack,
  loginWithPassword,
  startEphemeralRedis,
  type EphemeralRedis,
  type ThrowawayDatabase,
} from '@palisade/testkit';
import { controlPlaneClientTls, type ClientTls } from '../vms/agent-client';
import { freePort, startAgentProcess, type AgentProcess } from './agent-process';

const APPS = path.resolve(__dirname, '../../..');
/** Setup bound for a process to come up (swc compiles it on start); not an assertion. */
export const PROCESS_START_BOUND_MS = 180_000;
const FINAL = new Set(['succeeded', 'failed', 'cancelled']);

export interface AppProcess {
  proc: ChildProcess;
  /** stdout and stderr so far (the last 200 kB). */
  log(): string;
  /** Resolves when the process has exited, with its exit code or signal. */
  exited: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
  /** SIGTERM (graceful shutdown) and wait for the exit. */
  stop(): Promise<void>;
}

/** Starts `apps/<app>/src/main.ts` as `npm start` does (swc-node), with `env` only added. */
export function startApp(app: 'api' | 'worker', env: Record<string, string>): AppProcess {
  const proc = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: path.join(APPS, app),
    env: { ...process.env, SWC_NODE_PROJECT: '../../tsconfig.json', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let log = '';
  const append = (b: Buffer) => {
    log = (log + b.toString()).slice(-200_000);
  };
  proc.stdout!.on('data', append);
  proc.stderr!.on('data', append);
  const exited = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) =>
    proc.once('exit', (code, signal) => resolve({ code, signal })),
  );
  return {
    proc,
    log: () => log,
    exited,
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGTERM');
      await exited;
    },
  };
}

export interface Accepted {
  vm: { id: string; name: string };
  operation: { id: string; state: string };
}

export interface LabAudit {
  operations: { id: string; kind: string; state: string; errorCode: string | null }[];
  vms: {
    id: string;
    hostId: string | null;
    desiredState: string;
    observedState: string;
    mcs: string;
    flavorId: string;
  }[];
  nics: { vmId: string; mac: string; ip: string; networkId: string }[];
  volumes: { id: string; vmId: string | null; hostId: string | null; status: string }[];
  usage: { vcpus: number; ramMib: number; diskGib: number; vms: number };
  /** What the VMs still in the tenant's quota add up to (desired state not `deleted`). */
  expectedUsage: { vcpus: number; ramMib: number; diskGib: number; vms: number };
  hosts: {
    hostId: string;
    name: string;
    domains: string[];
    volumes: string[];
    secrets: string[];
  }[];
}

export interface CrashLab {
  dir: string;
  db: Db;
  database: ThrowawayDatabase;
  redis: EphemeralRedis;
  agents: AgentProcess[];
  api: AppProcess;
  apiUrl: string;
  ids: { tenant: string; flavor: string; image: string; hosts: string[]; networks: string[] };
  /** The env a worker process gets (add WORKER_FAULT_KILL_AT for a planned death). */
  workerEnv: Record<string, string>;
  startWorker(extra?: Record<string, string>): AppProcess;
  /** A REST call under /v1 as alice in the lab's tenant. */
  rest(method: string, p: string, body?: unknown): Promise<{ status: number; data: never }>;
  createVm(name: string, network?: number): Promise<Accepted>;
  deleteVm(vmId: string): Promise<Accepted>;
  /** The operation as the tenant sees it (GET /v1/operations/{id}). */
  operation(
    id: string,
  ): Promise<{ id: string; state: string; error?: { code: string; message: string } | null }>;
  /** Polls until every listed operation is final; throws naming those that are not by `ms`. */
  waitFinal(ids: string[], ms?: number): Promise<void>;
  audit(): Promise<LabAudit>;
  close(): Promise<void>;
}

export interface CrashLabOptions {
  prefix: string;
  agents?: number;
  /** Where the lab's folder goes; a libvirt host needs one QEMU can traverse (the netns lab's
   *  imageDir), not /tmp's private default. */
  baseDir?: string;
  /** The operator's qcow2 image (default: an empty 32 MiB one, enough for simulated hosts). */
  image?: string;
  /** Added to every agent's env, e.g. AGENT_HYPERVISOR=libvirt and the lab's LIBVIRT_URI. */
  agentEnv?: Record<string, string>;
  /** Overrides of the host rows and the flavor, to match what a real host offers. */
  host?: Partial<typeof schema.hosts.$inferInsert>;
  flavor?: Partial<typeof schema.flavors.$inferInsert>;
}

export async function startCrashLab(o: CrashLabOptions): Promise<CrashLab> {
  const stack = loadStack('test');
  const dir = mkdtempSync(path.join(o.baseDir ?? os.tmpdir(), `palisade-${o.prefix}-`));
  chmodSync(dir, 0o711); // QEMU (libvirt-qemu) reaches the agents' volumes through it
  const started: AppProcess[] = [];
  const agents: AgentProcess[] = [];
  let database: ThrowawayDatabase | undefined;
  let redis: EphemeralRedis | undefined;
  let db: Db | undefined;
  const close = async () => {
    for (const p of started) await p.stop();
    for (const a of agents) if (a.proc.exitCode === null) a.proc.kill('SIGTERM');
    await db?.$client.end();
    await redis?.dispose();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    database = await createThrowawayDatabase(stack, `palisade_${o.prefix}`);
    redis = await startEphemeralRedis();
    db = createDb(database.appUrl, { max: 4 });
    const tls: ClientTls = await controlPlaneClientTls(path.join(dir, 'pki'), 1);

    // The operator's image: a real qcow2, in each agent's store under its checksum.
    const file = o.image ?? path.join(dir, 'base.qcow2');
    if (!o.image) execFileSync('qemu-img', ['create', '-q', '-f', 'qcow2', file, '32M']);
    const checksum = createHash('sha256').update(readFileSync(file)).digest('hex');
    const virtualSize = (
      JSON.parse(
        execFileSync('qemu-img', ['info', '-f', 'qcow2', '--output=json', file], {
          encoding: 'utf8',
        }),
      ) as { 'virtual-size': number }
    )['virtual-size'];
    const suffix = randomBytes(3).toString('hex');
    for (let i = 0; i < (o.agents ?? 2); i++) {
      const agent = await startAgentProcess({
        dir,
        name: `${o.prefix}-${i}-${suffix}`,
        tls,
        env: { AGENT_SIMULATED_SECURITY: 'selinux', ...o.agentEnv },
      });
      agents.push(agent);
      writeFileSync(path.join(agent.stateDir, 'images', `${checksum}.qcow2`), readFileSync(file));
    }

    // alice's real token gives her subject; she is the owner of the lab's tenant.
    const login = () =>
      loginWithPassword({
        keycloakUrl: stack.keycloak.url,
        realm: stack.keycloak.realm,
        clientId: 'palisade-portal',
        redirectUri: 'http://localhost:15173/',
        username: 'alice',
        password: 'alice-dev-password',
      });
    let token = await login();
    let tokenAt = Date.now();
    const subject = JSON.parse(
      Buffer.from(token.accessToken.split('.')[1]!, 'base64url').toString(),
    ) as { sub: string };

    const ids = await withPlatform(db, 'crash lab: fixture', async (tx) => {
      const [tenant] = await tx
        .insert(schema.tenants)
        .values({ slug: `crash-${suffix}`, name: 'Crash lab' })
        .returning();
      await tx.insert(schema.quotas).values({
        tenantId: tenant!.id,
        vcpus: 512,
        ramMib: 512 * 1024,
        diskGib: 10_000,
        vms: 500,
        volumes: 500,
        snapshots: 10,
        networks: 10,
      });
      const [flavor] = await tx
        .insert(schema.flavors)
        .values({ name: `crash-${suffix}`, vcpus: 1, ramMib: 256, diskGib: 1, ...o.flavor })
        .returning();
      const [image] = await tx
        .insert(schema.images)
        .values({
          name: `crash-${suffix}`,
          os: 'test',
          format: 'qcow2',
          sizeBytes: virtualSize,
          checksum,
          visibility: 'public',
          status: 'active',
        })
        .returning();
      const hosts: string[] = [];
      const networks: string[] = [];
      for (const [i, agent] of agents.entries()) {
        const [host] = await tx
          .insert(schema.hosts)
          .values({
            name: agent.name,
            state: 'up',
            agentUrl: agent.url,
            cpus: 64,
            ramMib: 64 * 1024,
            diskGib: 1000,
            securityModels: ['selinux', 'dac'],
            acceleration: 'kvm',
            compliance: { status: 'compliant' },
            lastHeartbeatAt: new Date(),
            ...o.host,
          })
          .returning();
        const [fabric] = await tx
          .insert(schema.fabrics)
          .values({ name: `crash-${i}`, type: 'vxlan', device: 'ul0', segmentRanges: '100-200' })
          .returning();
        await tx.insert(schema.hostFabrics).values({ hostId: host!.id, fabricId: fabric!.id });
        const [network] = await tx
          .insert(schema.networks)
          .values({
            tenantId: tenant!.id,
            fabricId: fabric!.id,
            name: `crash-net-${i}`,
            segmentType: 'vxlan',
            segmentId: 100 + i,
            cidr: '10.30.0.0/16',
            gateway: '10.30.0.1',
            status: 'active',
          })
          .returning();
        hosts.push(host!.id);
        networks.push(network!.id);
      }
      return { tenant: tenant!.id, flavor: flavor!.id, image: image!.id, hosts, networks };
    });
    await addMembership(
      db,
      { tenantId: ids.tenant, subject: subject.sub, role: 'owner' },
      'crash lab: alice owns the tenant',
    );

    const apiPort = await freePort();
    const api = startApp('api', {
      DATABASE_URL: database.appUrl,
      REDIS_URL: redis.url,
      KEYCLOAK_ISSUER: stack.keycloak.issuer,
      KEYCLOAK_ADMIN_CLIENT_SECRET: devRealmClientSecret('palisade-identity-admin'),
      PALISADE_API_PORT: String(apiPort),
      AGENT_GATEWAY_PORT: String(await freePort()),
      LOG_LEVEL: 'warn',
    });
    started.push(api);
    const apiUrl = `http://127.0.0.1:${apiPort}`;
    for (const end = Date.now() + PROCESS_START_BOUND_MS; ;) {
      if (api.proc.exitCode !== null) throw new Error(`api exited:\n${api.log()}`);
      const up = await fetch(`${apiUrl}/healthz`).then(
        (r) => r.ok,
        () => false,
      );
      if (up) break;
      if (Date.now() > end) throw new Error(`api did not listen:\n${api.log()}`);
      await new Promise((r) => setTimeout(r, 250));
    }

    const workerEnv: Record<string, string> = {
      DATABASE_URL: database.appUrl,
      REDIS_URL: redis.url,
      PKI_DIR: path.join(dir, 'pki'),
      VOLUME_MASTER_KEY: randomBytes(32).toString('base64'),
      NODE_ENV: 'test',
      OUTBOX_POLL_MS: '100',
      OPERATION_BACKOFF_MS: '200',
      // A dead worker's job is handed on about 2-4 s after its death instead of 30-60 s.
      WORKER_LOCK_MS: '2000',
      WORKER_STALLED_CHECK_MS: '1000',
      // No agent heartbeats reach this lab's hosts; they must not turn unreachable mid-test.
      HOST_HEARTBEAT_TIMEOUT_MS: '3600000',
      LOG_LEVEL: 'warn',
    };

    const rest = async (method: string, p: string, body?: unknown) => {
      // alice's token lives 300 s; a long matrix outlives it.
      if (Date.now() - tokenAt > 120_000) {
        token = await login();
        tokenAt = Date.now();
      }
      const res = await fetch(`${apiUrl}/v1${p}`, {
        method,
        headers: {
          authorization: `Bearer ${token.accessToken}`,
          'x-palisade-tenant': ids.tenant,
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, data: (await res.json()) as never };
    };
    const accepted = async (what: string, r: { status: number; data: never }) => {
      if (r.status !== 202 && r.status !== 200)
        throw new Error(`${what}: ${r.status} ${JSON.stringify(r.data)}`);
      return r.data as Accepted;
    };
    const operation = async (id: string) => {
      const r = await rest('GET', `/operations/${id}`);
      if (r.status !== 200)
        throw new Error(`operation ${id}: ${r.status} ${JSON.stringify(r.data)}`);
      return r.data as {
        id: string;
        state: string;
        error?: { code: string; message: string } | null;
      };
    };

    const lab: CrashLab = {
      dir,
      db,
      database,
      redis,
      agents,
      api,
      apiUrl,
      ids,
      workerEnv,
      startWorker(extra = {}) {
        const w = startApp('worker', { ...workerEnv, ...extra });
        started.push(w);
        return w;
      },
      rest,
      createVm: async (name, network = 0) =>
        accepted(
          `create ${name}`,
          await rest('POST', '/vms', {
            name,
            flavorId: ids.flavor,
            imageId: ids.image,
            networkId: ids.networks[network],
          }),
        ),
      deleteVm: async (vmId) => accepted(`delete ${vmId}`, await rest('DELETE', `/vms/${vmId}`)),
      operation,
      async waitFinal(opIds, ms = 120_000) {
        const end = Date.now() + ms;
        for (;;) {
          const states = await Promise.all(opIds.map((id) => operation(id)));
          const open = states.filter((s) => !FINAL.has(s.state));
          if (open.length === 0) return;
          if (Date.now() > end)
            throw new Error(
              `not final after ${ms} ms: ${open.map((s) => `${s.id}=${s.state}`).join(', ')}`,
            );
          await new Promise((r) => setTimeout(r, 200));
        }
      },
      audit: () => auditLab(db!, ids, agents),
      close,
    };
    return lab;
  } catch (e) {
    await close();
    throw e;
  }
}

async function auditLab(db: Db, ids: CrashLab['ids'], agents: AgentProcess[]): Promise<LabAudit> {
  const rows = await withPlatform(db, 'crash lab: audit', async (tx) => {
    const t = ids.tenant;
    const operations = await tx
      .select({
        id: schema.operations.id,
        kind: schema.operations.kind,
        state: schema.operations.state,
        errorCode: schema.operations.errorCode,
      })
      .from(schema.operations)
      .where(eq(schema.operations.tenantId, t));
    const vms = await tx.select().from(schema.vms).where(eq(schema.vms.tenantId, t));
    const nics = await tx.select().from(schema.nics).where(eq(schema.nics.tenantId, t));
    const volumes = await tx.select().from(schema.volumes).where(eq(schema.volumes.tenantId, t));
    const [usage] = await tx
      .select()
      .from(schema.tenantUsage)
      .where(eq(schema.tenantUsage.tenantId, t));
    const flavors = await tx.select().from(schema.flavors);
    return { operations, vms, nics, volumes, usage, flavors };
  });
  const flavor = new Map(rows.flavors.map((f) => [f.id, f]));
  const expectedUsage = { vcpus: 0, ramMib: 0, diskGib: 0, vms: 0 };
  for (const vm of rows.vms) {
    if (vm.desiredState === 'deleted') continue;
    const f = flavor.get(vm.flavorId)!;
    expectedUsage.vcpus += f.vcpus;
    expectedUsage.ramMib += f.ramMib;
    expectedUsage.diskGib += f.diskGib;
    expectedUsage.vms += 1;
  }
  const hosts = [];
  for (const [i, a] of agents.entries()) {
    const storage = await a.client.storage();
    hosts.push({
      hostId: ids.hosts[i]!,
      name: a.name,
      domains: (await a.client.list()).items.map((d) => d.vmId).sort(),
      volumes: storage.volumes,
      secrets: storage.secrets,
    });
  }
  return {
    operations: rows.operations,
    vms: rows.vms.map((v) => ({
      id: v.id,
      hostId: v.hostId,
      desiredState: v.desiredState,
      observedState: v.observedState,
      mcs: `c${v.mcsC1},c${v.mcsC2}`,
      flavorId: v.flavorId,
    })),
    nics: rows.nics.map((n) => ({ vmId: n.vmId, mac: n.mac, ip: n.ip, networkId: n.networkId })),
    volumes: rows.volumes.map((v) => ({
      id: v.id,
      vmId: v.vmId,
      hostId: v.hostId,
      status: v.status,
    })),
    usage: {
      vcpus: rows.usage?.vcpus ?? 0,
      ramMib: rows.usage?.ramMib ?? 0,
      diskGib: rows.usage?.diskGib ?? 0,
      vms: rows.usage?.vms ?? 0,
    },
    expectedUsage,
    hosts,
  };
}

/**
 * The crash-safety invariants over an audit, as a list of violations (empty when all hold):
 * every operation final; the quota ledger equals the VMs it counts; each live VM placed once,
 * with one NIC and unique MCS pair, MAC and IP; each host holding exactly the domains, volumes
 * and secrets the database says it should, none twice; nothing left of deleted VMs.
 */
export function violations(a: LabAudit): string[] {
  const out: string[] = [];
  const dupes = (what: string, xs: string[]) => {
    const seen = new Set<string>();
    for (const x of xs) {
      if (seen.has(x)) out.push(`${what} ${x} twice`);
      seen.add(x);
    }
  };
  for (const op of a.operations)
    if (!FINAL.has(op.state)) out.push(`operation ${op.id} (${op.kind}) still ${op.state}`);
  if (JSON.stringify(a.usage) !== JSON.stringify(a.expectedUsage))
    out.push(`quota ledger ${JSON.stringify(a.usage)} != VMs ${JSON.stringify(a.expectedUsage)}`);
  dupes(
    'MCS pair',
    a.vms.map((v) => v.mcs),
  );
  dupes(
    'MAC',
    a.nics.map((n) => n.mac),
  );
  dupes(
    'IP',
    a.nics.map((n) => `${n.networkId}/${n.ip}`),
  );
  for (const vm of a.vms) {
    const nics = a.nics.filter((n) => n.vmId === vm.id);
    if (nics.length !== 1) out.push(`vm ${vm.id} has ${nics.length} NICs`);
  }
  const vmIds = new Set(a.vms.map((v) => v.id));
  for (const n of a.nics) if (!vmIds.has(n.vmId)) out.push(`NIC ${n.mac} of missing vm ${n.vmId}`);
  for (const h of a.hosts) {
    dupes(`domain on ${h.name}`, h.domains);
    dupes(`volume on ${h.name}`, h.volumes);
    dupes(`secret on ${h.name}`, h.secrets);
    const placed = a.vms.filter((v) => v.hostId === h.hostId).map((v) => v.id);
    const want = a.volumes.filter((v) => v.hostId === h.hostId).map((v) => v.id);
    const eq = (x: string[], y: string[]) =>
      JSON.stringify([...x].sort()) === JSON.stringify([...y].sort());
    if (!eq(h.domains, placed))
      out.push(
        `${h.name} holds domains ${h.domains.join(',')} but placed there: ${placed.join(',')}`,
      );
    if (!eq(h.volumes, want))
      out.push(`${h.name} holds volumes ${h.volumes.join(',')} but rows say ${want.join(',')}`);
    // Each volume's secret is named after it; a secret without its volume is a leaked key.
    if (!eq(h.secrets, want))
      out.push(`${h.name} holds secrets ${h.secrets.join(',')} but volumes ${want.join(',')}`);
  }
  return out;
}
