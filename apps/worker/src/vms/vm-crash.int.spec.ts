/**
 * Crash safety of vm.create and vm.delete (issue 5, item 7): the REAL worker process (as
 * `npm start` runs it: outbox relay, BullMQ, engine) is SIGKILLed at every step boundary of
 * both workflows, and a fresh worker (never the killed one) takes over. VMs are created and
 * deleted through the real API process (REST), hosts are simulated agents over real mTLS, and
 * the lab has its own database and Redis (testing/crash-lab.ts).
 *
 * Kill points (operations/fault-injection.ts, armed by the test-only WORKER_FAULT_KILL_AT):
 * `before` the step ran, `after-host` its first host call answered but before its row writes,
 * `after` it finished but before the engine recorded it. Steps without a host call (place,
 * remove) have no `after-host`. The matrix and its outcomes: docs/operations/crash-safety.md.
 *
 * Proven every time: the operation ends (here: succeeded, the agents never fail), and nothing
 * is doubled or leaked: no domain, volume or secret twice or left over on any host, one NIC per
 * VM with unique MCS pair, MAC and IP, placement only on the host that holds the domain, and
 * the quota ledger equal to the VMs it counts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrashLab, violations, type AppProcess, type CrashLab } from '../testing/crash-lab';

const CREATE_STEPS = ['place', 'image', 'volume', 'segment', 'define-start'];
const DELETE_STEPS = ['destroy', 'volumes', 'remove'];
/** Steps that call no host: `after-host` does not exist there. */
const HOSTLESS = new Set(['place', 'remove']);
const POINTS = ['before', 'after-host', 'after'] as const;
const matrix = (kind: string, steps: string[]) =>
  steps.flatMap((s) =>
    POINTS.filter((p) => p !== 'after-host' || !HOSTLESS.has(s)).map((p) => `${kind}:${s}:${p}`),
  );
const CREATE_CASES = matrix('vm.create', CREATE_STEPS);
const DELETE_CASES = matrix('vm.delete', DELETE_STEPS);
/** Setup bound for one worker to boot and reach its crash point; not an assertion. */
const DEATH_BOUND_MS = 150_000;

describe('crash safety: the worker SIGKILLed at every step of vm.create and vm.delete', () => {
  let lab: CrashLab;
  const toDelete: string[] = [];

  beforeAll(async () => {
    lab = await startCrashLab({ prefix: 'crash' });
  }, 600_000);

  afterAll(async () => {
    await lab?.close();
  }, 120_000);

  async function diesAt(worker: AppProcess, at: string): Promise<void> {
    const timer = new Promise<'timeout'>((r) => setTimeout(() => r('timeout'), DEATH_BOUND_MS));
    const end = await Promise.race([worker.exited, timer]);
    if (end === 'timeout') {
      await worker.stop();
      throw new Error(`worker did not reach ${at}:\n${worker.log()}`);
    }
    expect(end.signal).toBe('SIGKILL');
    expect(worker.log()).toContain(`fault injection: SIGKILL at ${at}`);
  }

  /** Kill a worker at `at` while it runs `opId`, then let a fresh worker finish it. */
  async function killThenRecover(opId: string, at: string): Promise<void> {
    await diesAt(lab.startWorker({ WORKER_FAULT_KILL_AT: at }), at);
    // The death left the operation mid-way: not final, and no worker runs now.
    expect((await lab.operation(opId)).state).toBe('running');
    const fresh = lab.startWorker();
    try {
      await lab.waitFinal([opId]);
    } finally {
      await fresh.stop();
    }
  }

  it.each(CREATE_CASES)(
    'vm.create, worker killed at %s: ends succeeded, nothing doubled or leaked',
    async (at) => {
      const n = CREATE_CASES.indexOf(at);
      const { vm, operation } = await lab.createVm(`crash-c${n}`);
      await killThenRecover(operation.id, at);

      const op = await lab.operation(operation.id);
      expect(op.state).toBe('succeeded');
      const audit = await lab.audit();
      expect(violations(audit)).toEqual([]);
      const row = audit.vms.find((v) => v.id === vm.id)!;
      expect(row).toMatchObject({ hostId: lab.ids.hosts[0], observedState: 'running' });
      expect(audit.hosts[0]!.domains.filter((d) => d === vm.id)).toEqual([vm.id]);
      expect(audit.hosts[1]!.domains).not.toContain(vm.id);
      toDelete.push(vm.id);
    },
    400_000,
  );

  it.each(DELETE_CASES)(
    'vm.delete, worker killed at %s: ends succeeded, nothing left anywhere',
    async (at) => {
      const vmId = toDelete.shift();
      if (!vmId) throw new Error('the create cases left no VM to delete');
      const before = await lab.audit();
      const volumeIds = before.volumes.filter((v) => v.vmId === vmId).map((v) => v.id);
      expect(volumeIds).toHaveLength(1);
      const mcs = before.vms.find((v) => v.id === vmId)!.mcs;

      const { operation } = await lab.deleteVm(vmId);
      await killThenRecover(operation.id, at);

      expect((await lab.operation(operation.id)).state).toBe('succeeded');
      const audit = await lab.audit();
      expect(violations(audit)).toEqual([]);
      // Gone from the rows (VM, NIC with MAC and IP, MCS pair, placement, volume) and the host.
      expect(audit.vms.map((v) => v.id)).not.toContain(vmId);
      expect(audit.vms.map((v) => v.mcs)).not.toContain(mcs);
      expect(audit.nics.map((n) => n.vmId)).not.toContain(vmId);
      for (const h of audit.hosts) {
        expect(h.domains).not.toContain(vmId);
        expect(h.volumes).not.toContain(volumeIds[0]);
        expect(h.secrets).not.toContain(volumeIds[0]);
      }
    },
    400_000,
  );

  it('killed twice in one vm.create (image, then define-start): a third worker finishes it', async () => {
    const { vm, operation } = await lab.createVm('crash-twice');
    await diesAt(
      lab.startWorker({ WORKER_FAULT_KILL_AT: 'vm.create:image:before' }),
      'vm.create:image:before',
    );
    await diesAt(
      lab.startWorker({ WORKER_FAULT_KILL_AT: 'vm.create:define-start:before' }),
      'vm.create:define-start:before',
    );
    const fresh = lab.startWorker();
    try {
      await lab.waitFinal([operation.id]);
    } finally {
      await fresh.stop();
    }
    expect((await lab.operation(operation.id)).state).toBe('succeeded');
    const audit = await lab.audit();
    expect(violations(audit)).toEqual([]);
    expect(audit.hosts[0]!.domains).toContain(vm.id);
  }, 600_000);

  it('after the whole matrix: every operation ended, the ledger counts exactly the VMs left', async () => {
    const audit = await lab.audit();
    expect(audit.operations.length).toBe(CREATE_CASES.length + DELETE_CASES.length + 1);
    expect(audit.operations.filter((o) => o.state !== 'succeeded')).toEqual([]);
    expect(violations(audit)).toEqual([]);
    const left = CREATE_CASES.length - DELETE_CASES.length + 1;
    expect(audit.usage.vms).toBe(left);
    expect(audit.hosts[0]!.domains).toHaveLength(left);
  });
});
