/**
 * Starts a real agent process (AGENT_HYPERVISOR=simulated unless `env` says otherwise) for
 * worker tests: its own state
 * directory with a host certificate from the test's CA (as if enrolled), a free loopback port,
 * and an `AgentClient` with the control-plane certificate. Only libvirt is simulated; mTLS, HTTP,
 * the image store, seeds and the agent's error mapping are the production code.
 *
 * For tests only; never imported by the worker itself. The caller kills `proc` afterwards.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import path from 'node:path';
import { CERT_OU } from '@palisade/contracts';
import { issueKeyAndCertificate, loadOrCreateCa } from '@palisade/auth';
import { AgentClient, type ClientTls } from '../vms/agent-client';

const AGENT_DIR = path.resolve(__dirname, '../../../agent');
/** Setup bound for an agent process to listen (swc compiles it on start); not an assertion. */
export const AGENT_START_BOUND_MS = 120_000;

export async function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, '127.0.0.1', () => {
      const port = (s.address() as { port: number }).port;
      s.close(() => resolve(port));
    });
  });
}

export interface AgentProcess {
  name: string;
  url: string;
  stateDir: string;
  proc: ChildProcess;
  client: AgentClient;
  log: string;
}

export async function startAgentProcess(o: {
  /** The test's directory: the CA under `<dir>/pki`, the agent's state under `<dir>/<name>`. */
  dir: string;
  name: string;
  tls: ClientTls;
  env?: Record<string, string>;
}): Promise<AgentProcess> {
  const ca = await loadOrCreateCa(path.join(o.dir, 'pki'));
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
    client: new AgentClient(url, o.tls, o.name),
    log: '',
  };
  proc.stdout!.on('data', (b: Buffer) => (agent.log += b.toString()));
  proc.stderr!.on('data', (b: Buffer) => (agent.log += b.toString()));
  for (const end = Date.now() + AGENT_START_BOUND_MS; ;) {
    if (proc.exitCode !== null) throw new Error(`agent ${o.name} exited:\n${agent.log}`);
    try {
      await agent.client.list();
      return agent;
    } catch (e) {
      if (Date.now() > end)
        throw new Error(`agent ${o.name} did not listen: ${String(e)}\n${agent.log}`);
      await new Promise((r) => setTimeout(r, 250));
    }
  }
}
