/**
 * A real host agent (`apps/agent`) as a child process, as if enrolled: its own state directory
 * with a host certificate from the test's CA, a free loopback port, and calls to it over HTTPS
 * with mTLS presenting a control-plane client certificate from the same CA (what the worker
 * presents). Shared by the worker's workflow tests (simulated hypervisor) and the agent's
 * functional tests in the netns lab (libvirt), so both drive the production process, not a copy.
 *
 * For tests only. The process is ended by its PID (`stopAgentProcess`), never by name.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { request } from 'node:https';
import { createServer } from 'node:net';
import path from 'node:path';
import { CERT_OU } from '@palisade/contracts';
import { issueKeyAndCertificate, loadOrCreateCa } from '@palisade/auth';

const AGENT_DIR = path.resolve(__dirname, '../../../apps/agent');
/** Setup bound for an agent process to listen (swc compiles it on start); not an assertion. */
export const AGENT_START_BOUND_MS = 120_000;

export async function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

/** A client identity for mTLS: key, certificate chain, and the CA to trust. */
export interface MtlsIdentity {
  key: string;
  cert: string;
  ca: string;
}

/** A control-plane client certificate (OU `control-plane`) from the CA in `caDir`, which agents
 *  started from the same directory accept. */
export async function controlPlaneIdentity(caDir: string, days = 1): Promise<MtlsIdentity> {
  const ca = await loadOrCreateCa(caDir);
  const issued = await issueKeyAndCertificate(ca, {
    commonName: 'palisade-test-control-plane',
    organizationalUnit: CERT_OU.controlPlane,
    names: [],
    validityDays: days,
  });
  return { key: issued.keyPem, cert: issued.pem + ca.certPem, ca: ca.certPem };
}

export interface AgentAnswer<T = unknown> {
  status: number;
  body: T;
}

/** One call to an agent over mTLS; any HTTP status resolves (the caller asserts it), only a
 *  transport failure rejects. */
export function callAgent<T = unknown>(
  url: string,
  tls: MtlsIdentity,
  method: 'GET' | 'POST',
  route: string,
  body?: unknown,
): Promise<AgentAnswer<T>> {
  const payload = body === undefined ? undefined : JSON.stringify(body);
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(route, url),
      {
        method,
        key: tls.key,
        cert: tls.cert,
        ca: tls.ca,
        // The agent's certificate names the host, not the loopback address dialled.
        checkServerIdentity: () => undefined,
        agent: false,
        headers: payload
          ? { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) }
          : {},
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = text;
          try {
            json = text ? JSON.parse(text) : null;
          } catch {
            // not JSON: handed back as text for the assertion message
          }
          resolve({ status: res.statusCode ?? 0, body: json as T });
        });
      },
    );
    req.on('error', reject);
    req.end(payload);
  });
}

export interface AgentProcess {
  name: string;
  url: string;
  stateDir: string;
  proc: ChildProcess;
  /** Everything the process wrote so far (stdout and stderr). */
  log: string;
  /** `callAgent` with the identity the agent was started for. */
  call<T = unknown>(method: 'GET' | 'POST', route: string, body?: unknown): Promise<AgentAnswer<T>>;
}

/**
 * Starts an agent (AGENT_HYPERVISOR=simulated unless `env` says otherwise) and resolves once it
 * answers `GET /v1/vms` over mTLS.
 */
export async function startAgentProcess(o: {
  /** The test's directory: the CA under `<caDir ?? dir/pki>`, the agent's state under
   *  `<dir>/<name>`. */
  dir: string;
  name: string;
  /** The client identity calls use; from the same CA. */
  tls: MtlsIdentity;
  caDir?: string;
  env?: Record<string, string>;
}): Promise<AgentProcess> {
  const ca = await loadOrCreateCa(o.caDir ?? path.join(o.dir, 'pki'));
  const state = path.join(o.dir, o.name);
  const issued = await issueKeyAndCertificate(ca, {
    commonName: o.name,
    organizationalUnit: CERT_OU.host,
    names: [o.name, '127.0.0.1'],
    validityDays: 1,
  });
  // Traversable for QEMU (libvirt-qemu) on libvirt hosts; only pki/ is private.
  mkdirSync(state, { recursive: true, mode: 0o711 });
  mkdirSync(path.join(state, 'pki'), { recursive: true, mode: 0o700 });
  writeFileSync(path.join(state, 'pki', 'ca.crt'), ca.certPem);
  writeFileSync(path.join(state, 'pki', 'host.key'), issued.keyPem, { mode: 0o600 });
  writeFileSync(path.join(state, 'pki', 'host.crt'), issued.pem);
  mkdirSync(path.join(state, 'images'), { recursive: true });
  const port = await freePort();
  const proc = spawn(process.execPath, ['-r', '@swc-node/register', 'src/main.ts'], {
    cwd: AGENT_DIR,
    env: {
      ...process.env,
      SWC_NODE_PROJECT: '../../tsconfig.json',
      AGENT_HOSTNAME: o.name,
      AGENT_PORT: String(port),
      AGENT_STATE_DIR: state,
      AGENT_HYPERVISOR: 'simulated',
      LOG_LEVEL: 'warn',
      ...o.env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const url = `https://127.0.0.1:${port}`;
  const agent: AgentProcess = {
    name: o.name,
    url,
    stateDir: state,
    proc,
    log: '',
    call: (method, route, body) => callAgent(url, o.tls, method, route, body),
  };
  proc.stdout!.on('data', (b: Buffer) => (agent.log += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (agent.log += b.toString()));
  for (const end = Date.now() + AGENT_START_BOUND_MS; ;) {
    if (proc.exitCode !== null) throw new Error(`agent ${o.name} exited:\n${agent.log}`);
    try {
      const r = await agent.call('GET', '/v1/vms');
      if (r.status === 200) return agent;
      throw new Error(`GET /v1/vms answered ${r.status}: ${JSON.stringify(r.body)}`);
    } catch (e) {
      if (Date.now() > end) {
        await stopAgentProcess(agent);
        throw new Error(`agent ${o.name} did not listen: ${String(e)}\n${agent.log}`);
      }
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}

/** SIGTERM to the agent's PID, SIGKILL if it has not exited after `boundMs`; resolves on exit. */
export async function stopAgentProcess(
  agent: Pick<AgentProcess, 'proc'> | undefined,
  boundMs = 10_000,
): Promise<void> {
  const p = agent?.proc;
  if (p?.pid === undefined || p.exitCode !== null || p.signalCode !== null) return;
  const exited = new Promise<void>((r) => p.once('exit', () => r()));
  p.kill('SIGTERM');
  const timer = setTimeout(() => p.kill('SIGKILL'), boundMs);
  await exited;
  clearTimeout(timer);
}
