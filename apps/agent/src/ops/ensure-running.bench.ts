// Benchmark (`npm run bench -- ensure-running`, not a test): the agent's added time. One real
// agent process (AGENT_HYPERVISOR=libvirt, qemu:///system) answers `POST /v1/vms/ensure-running`
// over mTLS for a TCG VM with one LUKS volume and no NIC (no bridge is created); the baseline is
// `virsh define` + `virsh start` of the very XML the agent designed (read back from libvirt, same
// disk and secret, another UUID and name). The difference is what the agent adds: HTTP and zod,
// the design, the secret, the NoCloud seed, the tenant's cgroup partition, the memtune step.
// A first ensure-running in setup (untimed) takes the one-off host probe out of the figures.
// Each run's domain is destroyed and undefined afterwards (untimed).
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { CERT_OU, type AgentEnsureVmRunningInput } from '@palisade/contracts';
import { issueKeyAndCertificate, loadOrCreateCa } from '@palisade/auth';
import { removePartition, tenantPartition } from '@palisade/hypervisor';

const URI = 'qemu:///system';
const run = promisify(execFile);
const virsh = (...args: string[]) => run('virsh', ['-c', URI, ...args], { timeout: 60_000 });
const AGENT_DIR = path.resolve(__dirname, '../..');

let dir = '';
let agent: ChildProcess | undefined;
let agentLog = '';
let base = '';
let tls: { key: string; cert: string; ca: string };
const vmA = randomUUID();
const vmB = randomUUID();
const volumeId = randomUUID();
const tenantId = randomUUID();
const key = Buffer.alloc(32, 3).toString('base64');
let rawXmlFile = '';

function call(method: 'GET' | 'POST', p: string, body?: unknown): Promise<unknown> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(p, base),
      {
        method,
        ...tls,
        checkServerIdentity: () => undefined,
        headers: payload ? { 'content-type': 'application/json' } : {},
      },
      (res) => {
        let text = '';
        res.on('data', (c: Buffer) => (text += c.toString()));
        res.on('end', () =>
          (res.statusCode ?? 0) < 300
            ? resolve(text ? JSON.parse(text) : {})
            : reject(new Error(`${method} ${p}: ${res.statusCode} ${text}`)),
        );
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

const ensureRunning = (): AgentEnsureVmRunningInput => ({
  operationId: randomUUID(),
  vm: {
    vmId: vmA,
    tenantId,
    name: `bench-${vmA.slice(0, 8)}`,
    specRevision: 1,
    vcpus: 1,
    memoryMiB: 64,
    cpu: { shares: 1024, quotaUs: -1, periodUs: 100_000 },
    memtune: { hardLimitMiB: 256 },
    blkio: { weight: 500 },
    isolation: { svirt: 'preferred', mcs: { c1: 901, c2: 902 } },
    console: { vnc: 'none' },
    disks: [{ id: volumeId, volumeId, bootOrder: 1, iotune: {} }],
    nics: [],
    boot: { kind: 'disk' },
    sshAuthorizedKeys: [],
  },
  keys: { [volumeId]: key },
});

async function remove(uuid: string): Promise<void> {
  await virsh('destroy', uuid).catch(() => undefined);
  await virsh('undefine', uuid).catch(() => undefined);
}

async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export const benchmark = {
  name: "agent's vms/ensure-running vs virsh define + start of the same designed XML (TCG, LUKS disk)",
  baseline: 'virsh define + virsh start',
  runs: 5,
  setup: async () => {
    await virsh('version');
    dir = mkdtempSync(path.join(tmpdir(), 'palisade-bench-agent-'));
    // QEMU runs as libvirt-qemu and must traverse to the volume (mkdtemp makes 0700).
    chmodSync(dir, 0o711);
    const ca = await loadOrCreateCa(path.join(dir, 'pki'));
    const host = await issueKeyAndCertificate(ca, {
      commonName: 'bench-host',
      organizationalUnit: CERT_OU.host,
      names: ['bench-host', '127.0.0.1'],
      validityDays: 1,
    });
    const client = await issueKeyAndCertificate(ca, {
      commonName: 'bench-worker',
      organizationalUnit: CERT_OU.controlPlane,
      names: [],
      validityDays: 1,
    });
    tls = { key: client.keyPem, cert: client.pem + ca.certPem, ca: ca.certPem };
    const state = path.join(dir, 'state');
    mkdirSync(path.join(state, 'pki'), { recursive: true, mode: 0o700 });
    writeFileSync(path.join(state, 'pki', 'ca.crt'), ca.certPem);
    writeFileSync(path.join(state, 'pki', 'host.key'), host.keyPem, { mode: 0o600 });
    writeFileSync(path.join(state, 'pki', 'host.crt'), host.pem);
    const port = await freePort();
    base = `https://127.0.0.1:${port}`;
    agent = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
      cwd: AGENT_DIR,
      env: {
        ...process.env,
        AGENT_HOSTNAME: 'bench-host',
        AGENT_PORT: String(port),
        AGENT_STATE_DIR: state,
        AGENT_HYPERVISOR: 'libvirt',
        LIBVIRT_URI: URI,
        AGENT_LUKS_ITER_MS: '100',
        AGENT_NO_BANDWIDTH: 'true',
        AGENT_STOP_TIMEOUT_MS: '0',
        LOG_LEVEL: 'warn',
      },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    agent.stdout!.on('data', (b: Buffer) => (agentLog += b.toString()));
    agent.stderr!.on('data', (b: Buffer) => (agentLog += b.toString()));
    // Setup bound for the agent to listen (swc compiles it on start).
    for (const end = Date.now() + 120_000; ; await new Promise((r) => setTimeout(r, 250))) {
      if (agent.exitCode !== null) throw new Error(`agent exited:\n${agentLog}`);
      try {
        await call('GET', '/v1/vms');
        break;
      } catch (e) {
        if (Date.now() > end) throw new Error(`agent did not listen: ${String(e)}\n${agentLog}`);
      }
    }
    await call('POST', '/v1/volumes/ensure', {
      operationId: randomUUID(),
      volumeId,
      sizeBytes: 64 * 1024 * 1024,
      key,
    });
    await call('POST', '/v1/vms/ensure-running', ensureRunning());
    const { stdout } = await virsh('dumpxml', '--inactive', vmA);
    await remove(vmA);
    // The agent's design for another domain: same disk (one domain at a time), same secret.
    const raw = stdout
      .replace(`<uuid>${vmA}</uuid>`, `<uuid>${vmB}</uuid>`)
      .replace(/<name>[^<]+<\/name>/, `<name>bench-raw-${vmB.slice(0, 8)}</name>`);
    if (!raw.includes(vmB)) throw new Error('could not retarget the designed XML');
    rawXmlFile = path.join(dir, 'raw.xml');
    writeFileSync(rawXmlFile, raw);
  },
  teardown: async () => {
    await remove(vmA);
    await remove(vmB);
    if (agent && agent.exitCode === null) {
      await call('POST', '/v1/volumes/delete', { operationId: randomUUID(), volumeId }).catch(
        () => undefined,
      );
      agent.kill();
    }
    try {
      removePartition(tenantPartition(tenantId));
    } catch {
      // Already gone, or still busy: the partition is empty either way.
    }
    if (dir) rmSync(dir, { recursive: true, force: true });
  },
  cases: {
    'virsh define + virsh start': {
      run: async () => {
        await virsh('define', rawXmlFile);
        await virsh('start', vmB);
      },
      after: async () => remove(vmB),
    },
    'agent POST /v1/vms/ensure-running': {
      run: async () => {
        await call('POST', '/v1/vms/ensure-running', ensureRunning());
      },
      after: async () => remove(vmA),
    },
  },
};
