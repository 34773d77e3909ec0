#!/usr/bin/env node
// `npm run dev`: brings up the dev profile of the local stack (Postgres, Redis, Keycloak, and the
// dev host: its own libvirtd in the network namespace `palisade-dev`), applies migrations, puts
// Palisade Tiny in the dev agent's image store, seeds the dev database, then runs the API, the
// worker (with VM workflows on), the agent and both UIs with prefixed output.
// Ctrl-C (or SIGTERM) stops the Palisade processes and removes the dev host: its guests, its
// libvirtd and its namespace. Postgres, Redis and Keycloak keep running for the next start
// (`npm run stack -- down` stops them). See docs/operations/dev-host.md.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import {
  chmodSync,
  copyFileSync,
  createReadStream,
  existsSync,
  mkdirSync,
  readFileSync,
  renameSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import path from 'node:path';
import { capture, localAgentEnrolment, root, run, serviceEnv, stackInfo } from '../lib.mjs';

const PORTS = { api: 3000, portal: 5173, admin: 5174, agent: 7443, gateway: 3443 };
const STACK = 'tools/stack/bin/stack.mjs';
const HOST_NAME = 'dev-host';
const dataDir = path.join(root, '.data', 'dev');

const downHost = () => run('node', [STACK, 'down', '--profile', 'dev', '--only', 'libvirt']);

// Registered before anything starts: a Ctrl-C during setup removes the dev host too.
const children = [];
let stopping = false;
const signal = (pgid, sig) => {
  try {
    process.kill(-pgid, sig);
  } catch {
    /* already gone */
  }
};
async function stop(code = 0) {
  if (stopping) return;
  stopping = true;
  for (const c of children) signal(c.pid, 'SIGTERM');
  // The agent and worker first, so nothing acts on the host while it is taken down.
  const grace = new Promise((r) => setTimeout(r, 10_000).unref());
  await Promise.race([Promise.all(children.map((c) => c.exited)), grace]);
  for (const c of children) signal(c.pid, 'SIGKILL');
  // Also when setup had not yet learnt of the host: a no-op when there is none.
  await downHost();
  process.exit(code);
}
process.on('SIGINT', () => void stop(0));
process.on('SIGTERM', () => void stop(0));

/** A setup step; when it fails, the dev host goes too (its guests must not outlive `npm run dev`). */
async function step(what, fn) {
  try {
    return await fn();
  } catch (e) {
    // Interrupted: stop() is already taking everything down and exits.
    if (stopping) return new Promise(() => undefined);
    console.error(`\n✖ ${what}: ${e instanceof Error ? e.message : String(e)}`);
    await downHost();
    process.exit(1);
  }
}

/** Runs a command; retries while it fails, because Keycloak answers its first admin calls slowly
 *  right after a start on a loaded machine (seen: the seed's 5 s timeout, 2026-11-21). */
async function retried(cmd, args, opts, attempts = 4) {
  for (let i = 1; ; i++) {
    const code = await run(cmd, args, opts);
    if (code === 0) return;
    if (i === attempts || stopping) throw new Error(`${cmd} ${args.join(' ')} exited with ${code}`);
    console.warn(`… retrying in ${5 * i} s (attempt ${i + 1} of ${attempts})`);
    await new Promise((r) => setTimeout(r, 5000 * i));
  }
}

await step('stack up', () => retried('node', [STACK, 'up', '--profile', 'dev'], {}, 1));
const stack = stackInfo('dev');
const env = { ...serviceEnv(stack, PORTS), NX_DAEMON: 'false', LOG_FORMAT: 'pretty' };

// The dev host runs VMs only in its own namespace; without it (libvirt missing), VMs stay off
// rather than touching the root namespace.
const host = stack.libvirt.available && stack.libvirt.netns ? stack.libvirt : null;
if (!host)
  console.warn(
    `\n! dev host unavailable (${stack.libvirt.reason ?? 'no namespace'}): the agent does not start and VM workflows stay off\n`,
  );

// Traversable for QEMU (libvirt-qemu) to reach images and volumes; only pki/ inside is private.
const agentStateDir = path.join(dataDir, 'agent');
mkdirSync(path.join(agentStateDir, 'images'), { recursive: true });
chmodSync(agentStateDir, 0o711);

/** SECRET. Made once, 0600, never leaves .data/dev (git-ignored); `stack reset` deletes it with
 *  the database whose wrapped keys it opens. */
function volumeMasterKey(file) {
  if (!existsSync(file)) {
    const tmp = `${file}.${process.pid}`;
    writeFileSync(tmp, `${randomBytes(32).toString('base64')}\n`, { mode: 0o600 });
    renameSync(tmp, file);
  }
  if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
  return readFileSync(file, 'utf8').trim();
}

async function sha256(file) {
  const hash = createHash('sha256');
  for await (const chunk of createReadStream(file)) hash.update(chunk);
  return hash.digest('hex');
}

/** Palisade Tiny from the guest-image cache (built once, as the tests do), in the agent's store
 *  under its checksum: the agent serves `images/ensure` from there. */
async function devImage() {
  const image = JSON.parse(await capture('node', ['tools/guest-image/bin/build.mjs']));
  const checksum = await sha256(image.qcow2);
  const target = path.join(agentStateDir, 'images', `${checksum}.qcow2`);
  if (!existsSync(target)) {
    copyFileSync(image.qcow2, `${target}.part`);
    renameSync(`${target}.part`, target);
  }
  return { checksum, sizeBytes: image.sizes.qcow2Virtual };
}

await step('migrations', () => retried('npm', ['run', '--silent', 'db:migrate'], { env }, 1));

const workerEnv = {};
const agentEnv = {};
let agentEnrolment = {};
if (host) {
  workerEnv.VOLUME_MASTER_KEY = volumeMasterKey(path.join(dataDir, 'volume-master.key'));
  const image = await step('Palisade Tiny', devImage);
  // The local agent serves only over mTLS, so it needs a certificate: enrol it on first start.
  agentEnrolment = await step('agent enrolment', () =>
    localAgentEnrolment(env, agentStateDir, HOST_NAME),
  );
  await step('dev seed', () =>
    retried(
      'npm',
      [
        ...['run', '--silent', 'dev:seed', '-w', '@palisade/api', '--'],
        ...['--host', HOST_NAME, '--underlay', host.underlay.dev],
        ...['--image-checksum', image.checksum, '--image-size', String(image.sizeBytes)],
      ],
      { env },
    ),
  );
  Object.assign(agentEnv, {
    // The agent stays on the root namespace's loopback beside the API's gateway; libvirt, taps,
    // bridges and VXLAN devices are all inside the dev host's namespace.
    LIBVIRT_URI: host.uri,
    AGENT_NETNS: host.netns,
    AGENT_UNDERLAY_DEV: host.underlay.dev,
    AGENT_UNDERLAY_IP: host.underlay.ip,
    AGENT_NO_BANDWIDTH: host.bandwidth ? 'false' : 'true',
    // Volume keys are random 256-bit keys, not passwords: QEMU's 2 s of PBKDF2 per open buys
    // nothing here and costs every start on a 2-core machine (as the functional tests do).
    AGENT_LUKS_ITER_MS: '100',
  });
}

const uiEnv = {
  VITE_API_URL: `http://localhost:${PORTS.api}`,
  VITE_KEYCLOAK_URL: stack.keycloak.url,
  VITE_KEYCLOAK_REALM: stack.keycloak.realm,
};
const processes = [
  { name: 'api', color: 36, ws: '@palisade/api', script: 'start', env: { LOG_LEVEL: 'info' } },
  { name: 'worker', color: 35, ws: '@palisade/worker', script: 'start', env: workerEnv },
  host && {
    name: 'agent',
    color: 33,
    ws: '@palisade/agent',
    script: 'start',
    env: {
      AGENT_PORT: String(PORTS.agent),
      AGENT_STATE_DIR: agentStateDir,
      AGENT_HOSTNAME: HOST_NAME,
      ...agentEnv,
      ...agentEnrolment,
    },
  },
  { name: 'portal', color: 32, ws: '@palisade/portal', script: 'dev', env: uiEnv },
  { name: 'admin', color: 34, ws: '@palisade/admin', script: 'dev', env: uiEnv },
].filter(Boolean);

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
  child.exited = new Promise((resolve) => child.on('exit', resolve));
  child.on('exit', (code) => {
    process.stdout.write(`${prefix}exited with ${code}\n`);
    if (!stopping) void stop(1);
  });
  children.push(child);
}

console.log(`
  Palisade is starting:
    portal   http://localhost:${PORTS.portal}/   (alice / alice-dev-password, bob / bob-dev-password)
    admin    http://localhost:${PORTS.admin}/   (olivia / olivia-dev-password)
    api      http://localhost:${PORTS.api}/readyz   tRPC at /trpc
    gateway  https://127.0.0.1:${PORTS.gateway}   agent enrolment and renewal (CA in .data/dev/pki)
    agent    https://127.0.0.1:${PORTS.agent}   mTLS: only the control plane's certificate
    keycloak ${stack.keycloak.url}/admin/   (${stack.keycloak.adminUsername} / see .data/dev/stack.json)${
      host
        ? `
    host     netns ${host.netns}: virsh -c '${host.uri}' list --all`
        : ''
    }
  Ctrl-C stops Palisade and removes the dev host (guests, libvirtd, namespace);
  'npm run stack -- down' stops the services.
`);
