/**
 * The real libvirt path through the worker PROCESS (issue 5, item 7): REST create, stop, start
 * and delete through the API process, carried out by a running worker process (outbox relay,
 * BullMQ, engine) on a real agent driving the netns lab's libvirtd with a TCG Palisade Tiny
 * guest. vm-slice.functional.spec.ts proves the guest itself (console marker, isolation report)
 * with the engine in-process; this one proves the queue and process path on real libvirt, in
 * the crash lab's own database and Redis (a worker's relay takes every pending operation).
 *
 * Proven: each operation ends succeeded with the state libvirt reports (running, shutoff,
 * running); after the delete nothing is left on the host (domain, volume, secret) or in the
 * database (VM, NIC, volume), and the quota ledger is back to zero.
 *
 * Needs root, libvirt, qemu-system-x86, qemu-utils (the stack tool's packages).
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildGuestImage } from '@palisade/guest-image';
import { createNetnsLab, type LabHost, type NetnsLab } from '@palisade/testkit';
import { startCrashLab, violations, type AppProcess, type CrashLab } from '../testing/crash-lab';

const exec = promisify(execFile);
/** Setup and guest bounds, not assertions: TCG on a shared 2-core machine is slow. */
const OP_BOUND_MS = 10 * 60_000;

describe('real libvirt through the worker process: create, stop, start, delete', () => {
  let netns: NetnsLab;
  let h1: LabHost;
  let lab: CrashLab;
  let worker: AppProcess;

  beforeAll(async () => {
    netns = await createNetnsLab({ libvirt: true, log: (l) => console.log(`[lab] ${l}`) });
    h1 = netns.hosts[0]!;
    const image = await buildGuestImage();
    // libvirt shapes <bandwidth> with sfq; where the kernel lacks it the agent leaves it out.
    const sfq = await exec('tc', ['-n', h1.netns, 'qdisc', 'add', 'dev', 'lo', 'root', 'sfq']).then(
      async () => (await exec('tc', ['-n', h1.netns, 'qdisc', 'del', 'dev', 'lo', 'root']), true),
      () => false,
    );
    lab = await startCrashLab({
      prefix: 'wlibvirt',
      agents: 1,
      baseDir: netns.imageDir,
      image: image.qcow2,
      agentEnv: {
        AGENT_HYPERVISOR: 'libvirt',
        LIBVIRT_URI: h1.libvirtUri!,
        AGENT_NETNS: h1.netns,
        AGENT_UNDERLAY_DEV: h1.underlayDev,
        AGENT_UNDERLAY_IP: h1.underlayIp,
        AGENT_LUKS_ITER_MS: '100',
        AGENT_NO_BANDWIDTH: sfq ? 'false' : 'true',
      },
      // No SELinux here (DESIGN.md): sVirt `preferred`, and a TCG host of this machine's size.
      host: {
        securityModels: ['none', 'dac'],
        acceleration: 'tcg',
        cpus: 2,
        ramMib: 2048,
        diskGib: 20,
      },
      flavor: { ramMib: 192, svirtRequired: false, cpuQuotaUs: 50_000 },
    });
    worker = lab.startWorker();
  }, 20 * 60_000);

  afterAll(async () => {
    try {
      await lab?.close();
    } finally {
      if (lab) netns?.ensurePartition(`/machine/palisade-${lab.ids.tenant.replace(/-/g, '')}`);
      await netns?.dispose();
    }
  }, 5 * 60_000);

  const virsh = async (...args: string[]) =>
    (await exec('virsh', ['-c', h1.libvirtUri!, ...args], { encoding: 'utf8', timeout: 120_000 }))
      .stdout;

  /** Sends a lifecycle request and waits for its operation; returns the final state. */
  async function act(method: string, p: string, body?: unknown): Promise<string> {
    const r = await lab.rest(method, p, body);
    expect(r.status).toBe(202);
    const opId = (r.data as { operation: { id: string } }).operation.id;
    await lab.waitFinal([opId], OP_BOUND_MS);
    return (await lab.operation(opId)).state;
  }

  it(
    'each operation ends as libvirt reports it, and DELETE leaves nothing on the host or in the rows',
    async () => {
      const created = await lab.rest('POST', '/vms', {
        name: 'worker-libvirt',
        flavorId: lab.ids.flavor,
        imageId: lab.ids.image,
        networkId: lab.ids.networks[0],
      });
      expect(created.status).toBe(202);
      const vmId = (created.data as { vm: { id: string } }).vm.id;
      const createOp = (created.data as { operation: { id: string } }).operation.id;
      await lab.waitFinal([createOp], OP_BOUND_MS);
      expect((await lab.operation(createOp)).state).toBe('succeeded');
      const agent = lab.agents[0]!.client;
      expect((await agent.get(vmId))?.state).toBe('running');
      expect((await virsh('domstate', vmId)).trim()).toBe('running');

      expect(await act('POST', `/vms/${vmId}/stop`, {})).toBe('succeeded');
      expect((await virsh('domstate', vmId)).trim()).toBe('shut off');
      expect((await lab.rest('GET', `/vms/${vmId}`)).data).toMatchObject({
        observedState: 'stopped',
      });

      expect(await act('POST', `/vms/${vmId}/start`, {})).toBe('succeeded');
      expect((await virsh('domstate', vmId)).trim()).toBe('running');
      expect((await lab.rest('GET', `/vms/${vmId}`)).data).toMatchObject({
        observedState: 'running',
      });

      const volumeId = (await lab.audit()).volumes.find((v) => v.vmId === vmId)!.id;
      expect(await act('DELETE', `/vms/${vmId}`)).toBe('succeeded');

      // Nothing on the host: libvirt itself, and the agent's own view.
      expect(await virsh('list', '--all', '--uuid')).not.toContain(vmId);
      expect(await virsh('secret-list')).not.toContain(volumeId);
      expect(await agent.storage()).toEqual({ volumes: [], secrets: [] });
      // Nothing in the rows, the ledger back to zero, and the worker never restarted.
      const audit = await lab.audit();
      expect(violations(audit)).toEqual([]);
      expect(audit.vms).toEqual([]);
      expect(audit.nics).toEqual([]);
      expect(audit.volumes).toEqual([]);
      expect(audit.usage).toEqual({ vcpus: 0, ramMib: 0, diskGib: 0, vms: 0 });
      expect(worker.proc.exitCode).toBeNull();
    },
    4 * OP_BOUND_MS,
  );
});
