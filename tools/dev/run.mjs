#!/usr/bin/env node
// `npm run dev`: brings up the dev profile of the local stack (Postgres, Redis, Keycloak, libvirt),
// applies migrations, then runs the API, the worker, the agent and both UIs with prefixed output.
// Ctrl-C stops the Palisade processes; the services keep running for the next start
// (`npm run stack -- down` stops them).
import { spawn } from 'node:child_process';
import { localAgentEnrolment, must, root, serviceEnv, stackInfo } from '../lib.mjs';

const PORTS = { api: 3000, portal: 5173, admin: 5174, agent: 7443, gateway: 3443 };

await must('node', ['tools/stack/bin/stack.mjs', 'up', '--profile', 'dev']);
const stack = stackInfo('dev');
const env = { ...serviceEnv(stack, PORTS), NX_DAEMON: 'false', LOG_FORMAT: 'pretty' };
await must('npm', ['run', '--silent', 'db:migrate'], { env });
// The local agent serves only over mTLS, so it needs a certificate: enrol it on first start.
const agentStateDir = `${root}/.data/dev/agent`;
const agentEnrolment = await localAgentEnrolment(env, agentStateDir, 'dev-host');

const uiEnv = {
  VITE_API_URL: `http://localhost:${PORTS.api}`,
  VITE_KEYCLOAK_URL: stack.keycloak.url,
  VITE_KEYCLOAK_REALM: stack.keycloak.realm,
};
const processes = [
  { name: 'api', color: 36, ws: '@palisade/api', script: 'start', env: { LOG_LEVEL: 'info' } },
  { name: 'worker', color: 35, ws: '@palisade/worker', script: 'start', env: {} },
  {
    name: 'agent',
    color: 33,
    ws: '@palisade/agent',
    script: 'start',
    env: {
      AGENT_PORT: String(PORTS.agent),
      AGENT_STATE_DIR: agentStateDir,
      AGENT_HOSTNAME: 'dev-host',
      ...agentEnrolment,
    },
  },
  { name: 'portal', color: 32, ws: '@palisade/portal', script: 'dev', env: uiEnv },
  { name: 'admin', color: 34, ws: '@palisade/admin', script: 'dev', env: uiEnv },
];

const children = [];
let stopping = false;
for (const p of processes) {
  const child = spawn('npm', ['run', '--silent', p.script, '-w', p.ws], {
    cwd: root,
    env: { ...process.env, ...env, ...p.env },
    stdio: ['ignore', 'pipe', 'pipe'],
    detached: true, // own process group, so stopping reaches npm's children too
  });
  const prefix = `\x1b[${p.color}m${p.name.padEnd(6)}\x1b[0m │ `;
  for (const stream of [child.stdout, child.stderr]) {
    let buf = '';
    stream.on('data', (d) => {
      buf += d;
      const lines = buf.split('\n');
      buf = lines.pop();
      for (const l of lines) process.stdout.write(prefix + l + '\n');
    });
  }
  child.on('exit', (code) => {
    process.stdout.write(`${prefix}exited with ${code}\n`);
    if (!stopping) stop(1);
  });
  children.push(child);
}

function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) {
    try {
      process.kill(-c.pid, 'SIGTERM');
    } catch {
      /* already gone */
    }
  }
  setTimeout(() => process.exit(code), 1500).unref();
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

console.log(`
  Palisade is starting:
    portal   http://localhost:${PORTS.portal}/   (alice / alice-dev-password, bob / bob-dev-password)
    admin    http://localhost:${PORTS.admin}/   (olivia / olivia-dev-password)
    api      http://localhost:${PORTS.api}/readyz   tRPC at /trpc
    gateway  https://127.0.0.1:${PORTS.gateway}   agent enrolment and renewal (CA in .data/dev/pki)
    agent    https://127.0.0.1:${PORTS.agent}   mTLS: only the control plane's certificate
    keycloak ${stack.keycloak.url}/admin/   (${stack.keycloak.adminUsername} / see .data/dev/stack.json)
  Ctrl-C stops Palisade; 'npm run stack -- down' stops the services.
`);
