// Benchmark (`npm run bench -- ensure-running`, not a test): the agent's added time. One real
// agent process (AGENT_HYPERVISOR=libvirt, qemu:///system) answers `POST /v1/vms/ensure-running`
// over mTLS for a TCG VM with one LUKS volume and no NIC (no bridge is created); the baseline is
// `virsh define` + `virsh start` of the very XML the agent designed (read back from libvirt, same
// disk and secret, another UUID and name). The difference is what the agent adds: HTTP and zod,
// the design, the secret, the NoCloud seed, the tenant's cgroup partition, the memtune step.
// The agent is the shared test starter's (src/testing/agent-process.ts); the bench lives in the
// worker because the agent may not import the CA code that issues the test's certificates.
// A first ensure-running in setup (untimed) takes the one-off host probe out of the figures.
// Each run's domain is destroyed and undefined afterwards (untimed).
import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { chmodSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import type { AgentEnsureVmRunningInput } from '@palisade/contracts';
import { removePartition } from '@palisade/testkit';
import { startAgentProcess, type AgentProcess } from '../testing/agent-process';
import { controlPlaneClientTls } from './agent-client';

const URI = 'qemu:///system';
const run = promisify(execFile);
const virsh = (...args: string[]) => run('virsh', ['-c', URI, ...args], { timeout: 60_000 });

let dir = '';
let agent: AgentProcess | undefined;
const vmA = randomUUID();
const vmB = randomUUID();
const volumeId = randomUUID();
const tenantId = randomUUID();
const key = Buffer.alloc(32, 3).toString('base64');
let rawXmlFile = '';

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

export const benchmark = {
  name: "agent's vms/ensure-running vs virsh define + start of the same designed XML (TCG, LUKS disk)",
  baseline: 'virsh define + virsh start',
  runs: 5,
  setup: async () => {
    await virsh('version');
    dir = mkdtempSync(path.join(tmpdir(), 'palisade-bench-agent-'));
    // QEMU runs as libvirt-qemu and must traverse to the volume (mkdtemp makes 0700).
    chmodSync(dir, 0o711);
    agent = await startAgentProcess({
      dir,
      name: 'bench-host',
      tls: await controlPlaneClientTls(path.join(dir, 'pki')),
      env: {
        AGENT_HYPERVISOR: 'libvirt',
        LIBVIRT_URI: URI,
        AGENT_LUKS_ITER_MS: '100',
        AGENT_NO_BANDWIDTH: 'true',
      },
    });
    await agent.client.ensureVolume({
      operationId: randomUUID(),
      volumeId,
      sizeBytes: 64 * 1024 * 1024,
      key,
    });
    await agent.client.ensureRunning(ensureRunning());
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
    if (agent && agent.proc.exitCode === null) {
      await agent.client.deleteVolume(randomUUID(), volumeId).catch(() => undefined);
      agent.proc.kill();
    }
    // The agent made the tenant's cgroup partition (the designer's `tenantPartition`).
    removePartition(`/machine/palisade-${tenantId.replace(/-/g, '')}`);
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
        await agent!.client.ensureRunning(ensureRunning());
      },
      after: async () => remove(vmA),
    },
  },
};
