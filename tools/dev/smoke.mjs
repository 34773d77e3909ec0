#!/usr/bin/env node
// `node tools/dev/smoke.mjs` while `npm run dev` runs: the manual check of docs/operations/
// dev-host.md as one script. As alice (a real Keycloak login), through REST only: a network and a
// VM on the seeded flavor and image, wait until the API says `running`, read the READY marker on
// the guest's serial console, delete the VM and wait until it is gone. Prints timings.
// `--leave-running` skips the delete, to check that stopping `npm run dev` removes a running guest.
// `node tools/dev/smoke.mjs --after-stop` after stopping `npm run dev`: checks that no namespace,
// QEMU of the dev host or dev-host link in the root namespace is left; exit 1 when one is.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { root, stackInfo } from '../lib.mjs';

const API = 'http://localhost:3000';
const BOUND_MS = 15 * 60_000; // a bound for TCG on a loaded 2-core machine, not an assertion
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));
const stack = stackInfo('dev');

if (process.argv.includes('--after-stop')) {
  const problems = [];
  const ns = stack.libvirt.netns ?? 'palisade-dev';
  if (existsSync(`/run/netns/${ns}`)) problems.push(`netns ${ns} still exists`);
  const hostDir = path.join(root, '.data', 'dev', 'host');
  for (const f of ['libvirtd.pid', 'virtlogd.pid'])
    if (existsSync(path.join(hostDir, f))) problems.push(`${f} still there`);
  const qemuRun = path.join(hostDir, 'run', 'qemu');
  if (existsSync(qemuRun) && readdirSync(qemuRun).some((f) => f.endsWith('.pid')))
    problems.push('a guest pidfile is still there');
  // QEMU runs in libvirtd's private mount namespace, so its command line names libvirt's usual
  // paths; the domain names defined on the dev host (kept in host/etc) identify its guests.
  const defs = path.join(hostDir, 'etc', 'qemu');
  const names = existsSync(defs)
    ? readdirSync(defs)
        .filter((f) => f.endsWith('.xml'))
        .map((f) => f.slice(0, -4))
    : [];
  for (const pid of readdirSync('/proc').filter((p) => /^\d+$/.test(p))) {
    let cmd = '';
    try {
      cmd = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
    } catch {
      continue;
    }
    if (cmd.includes('qemu-system') && names.some((n) => cmd.includes(`guest=${n},`)))
      problems.push(`qemu pid ${pid}: ${cmd.slice(0, 120)}`);
  }
  const links = execFileSync('ip', ['-o', 'link'], { encoding: 'utf8' });
  for (const l of links.split('\n'))
    if (/: (ul0p?|pbr-x\d+|vx\d+)[:@]/.test(l)) problems.push(`root namespace link: ${l}`);
  console.log(problems.length ? `✖ left behind:\n  ${problems.join('\n  ')}` : '✔ nothing left');
  process.exit(problems.length ? 1 : 0);
}

process.env.SWC_NODE_PROJECT ??= path.join(root, 'tsconfig.json');
const require = createRequire(import.meta.url);
require('@swc-node/register');
const { loginWithPassword } = require('@palisade/testkit');

const { accessToken } = await loginWithPassword({
  keycloakUrl: stack.keycloak.url,
  realm: stack.keycloak.realm,
  clientId: 'palisade-portal',
  redirectUri: 'http://localhost:5173/',
  username: 'alice',
  password: 'alice-dev-password',
});
async function rest(method, p, body) {
  const res = await fetch(`${API}/v1${p}`, {
    method,
    headers: {
      authorization: `Bearer ${accessToken}`,
      'x-palisade-tenant': 'acme',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
    },
    body: body === undefined ? undefined : JSON.stringify(body),
  });
  const json = await res.json();
  if (res.status >= 400) throw new Error(`${method} ${p}: ${res.status} ${JSON.stringify(json)}`);
  return json;
}
async function until(what, fn) {
  for (const end = Date.now() + BOUND_MS; ; await sleep(1000)) {
    const v = await fn();
    if (v) return v;
    if (Date.now() > end) throw new Error(`${what}: not within ${BOUND_MS / 60_000} min`);
  }
}

const run = Math.random().toString(36).slice(2, 6);
const flavor = (await rest('GET', '/flavors')).find((f) => f.name === 'dev.tiny');
const image = (await rest('GET', '/images')).find((i) => i.name === 'palisade-tiny');
if (!flavor || !image) throw new Error('the dev seed is missing: dev.tiny / palisade-tiny');
// One network for every run: a dev network cannot be deleted yet (its network.create operation
// waits for a workflow that is not deployed), and the demo quota allows four.
const listed = await rest('GET', '/networks');
const network =
  (listed.items ?? listed).find((n) => n.name === 'smoke') ??
  (await rest('POST', '/networks', { name: 'smoke', cidr: '10.20.0.0/24' })).network;
const t0 = Date.now();
const created = await rest('POST', '/vms', {
  name: `smoke-${run}`,
  flavorId: flavor.id,
  imageId: image.id,
  networkId: network.id,
});
const vmId = created.vm.id;
console.log(`POST /v1/vms → 202, vm ${vmId}, operation ${created.operation.id}`);
const running = await until('observedState running', async () => {
  const vm = await rest('GET', `/vms/${vmId}`);
  if (vm.observedState === 'error') throw new Error(`vm in error: ${JSON.stringify(vm)}`);
  return vm.observedState === 'running' ? vm : null;
});
const runningMs = Date.now() - t0;
console.log(`observedState running after ${runningMs} ms (${running.name})`);

const pty = execFileSync('virsh', ['-c', stack.libvirt.uri, 'ttyconsole', vmId], {
  encoding: 'utf8',
}).trim();
execFileSync('stty', ['-F', pty, 'raw', '-echo']);
const reader = spawn('cat', [pty], { stdio: ['ignore', 'pipe', 'ignore'] });
let consoleText = '';
reader.stdout.on('data', (b) => (consoleText += b.toString('latin1').replace(/\r/g, '')));
const ready = await until('READY marker', async () =>
  consoleText.match(/PALISADE-TINY READY hostname=(\S+) ip=(\S+)/),
);
reader.kill('SIGTERM');
console.log(`console: ${ready[0]} (${Date.now() - t0} ms after POST)`);
if (ready[1] !== `smoke-${run}`) throw new Error(`hostname ${ready[1]}, expected smoke-${run}`);

const links = execFileSync('ip', ['-n', stack.libvirt.netns, '-o', 'link'], { encoding: 'utf8' });
console.log(
  `links in ${stack.libvirt.netns}: ${links
    .split('\n')
    .map((l) => l.split(': ')[1]?.split('@')[0])
    .filter(Boolean)
    .join(' ')}`,
);

if (process.argv.includes('--leave-running')) {
  // For checking that stopping `npm run dev` removes a running guest too.
  console.log(`left running: vm ${vmId}`);
  process.exit(0);
}
const tap = links.match(/\d+: (vnet\d+)/)?.[1];
const deleted = await rest('DELETE', `/vms/${vmId}`);
// The API answers 202 at once; the vm.delete operation then clears the host.
const op = await until('vm.delete operation', async () => {
  const o = await rest('GET', `/operations/${deleted.operation.id}`);
  return ['succeeded', 'failed'].includes(o.state) ? o : null;
});
const virsh = (...a) =>
  execFileSync('virsh', ['-c', stack.libvirt.uri, ...a], { encoding: 'utf8' });
const left = {
  operation: op.state,
  domain: virsh('list', '--all', '--uuid').includes(vmId),
  secrets: virsh('secret-list')
    .split('\n')
    .slice(2)
    .filter((l) => l.trim()).length,
  tap: tap
    ? execFileSync('ip', ['-n', stack.libvirt.netns, '-o', 'link'], { encoding: 'utf8' }).includes(
        `${tap}:`,
      )
    : 'none seen',
};
console.log(
  `DELETE → vm.delete ${op.state} after ${Date.now() - t0} ms; left: ${JSON.stringify(left)}`,
);
if (op.state !== 'succeeded' || left.domain || left.secrets > 0 || left.tap === true)
  process.exit(1);
