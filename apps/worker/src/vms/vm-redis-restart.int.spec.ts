/**
 * Redis restarted during a burst of creates (issue 5, item 7): two real worker processes and the
 * real API process run against the lab's private redis-server (testing/crash-lab.ts), which is
 * stopped by PID in the middle of a burst of `POST /v1/vms` and started again on the same port
 * and data folder (appendonly, as in production).
 *
 * Proven: the API keeps accepting while Redis is away (the outbox holds the operations); the
 * same two workers, never restarted, resume on their own; every operation ends succeeded, none
 * lost and none run twice in effect (one domain, one volume and one secret per VM on its host,
 * nothing else), and the quota ledger counts exactly the VMs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startCrashLab, violations, type AppProcess, type CrashLab } from '../testing/crash-lab';

const BEFORE = 6;
const DURING = 5;
const AFTER = 5;

describe('crash safety: Redis restarted during a burst of creates', () => {
  let lab: CrashLab;
  const workers: AppProcess[] = [];

  beforeAll(async () => {
    lab = await startCrashLab({ prefix: 'redis' });
    workers.push(lab.startWorker(), lab.startWorker());
  }, 600_000);

  afterAll(async () => {
    await lab?.close();
  }, 120_000);

  it('the API accepts through the outage, the same workers resume, every create ends once', async () => {
    const ops: string[] = [];
    const vms: string[] = [];
    const create = async (n: number) => {
      const { vm, operation } = await lab.createVm(`burst-${n}`, n % 2);
      ops.push(operation.id);
      vms.push(vm.id);
    };
    // The burst: pairs in flight at once, as several clients would send them.
    let n = 0;
    const burst = async (count: number) => {
      for (let i = 0; i < count; i += 2)
        await Promise.all([create(n++), ...(i + 1 < count ? [create(n++)] : [])]);
    };

    await burst(BEFORE);
    // The workers are up and consuming before Redis goes: one of these has ended.
    for (const end = Date.now() + 180_000; ;) {
      const states = await Promise.all(ops.map((id) => lab.operation(id)));
      if (states.some((o) => o.state === 'succeeded')) break;
      if (Date.now() > end) throw new Error('no operation ended before the outage');
      await new Promise((r) => setTimeout(r, 200));
    }
    await burst(2);
    await lab.redis.stop();
    const openAtStop = (await Promise.all(ops.map((id) => lab.operation(id)))).filter(
      (o) => o.state !== 'succeeded',
    );
    // The premise: Redis went away mid-burst, with work still under way.
    expect(openAtStop.length).toBeGreaterThan(0);

    await burst(DURING); // accepted by the API although Redis is down
    expect(ops).toHaveLength(BEFORE + 2 + DURING);
    await lab.redis.start();
    await burst(AFTER);

    await lab.waitFinal(ops, 300_000);
    const states = await Promise.all(ops.map((id) => lab.operation(id)));
    expect(states.filter((s) => s.state !== 'succeeded')).toEqual([]);

    // The same two processes did it all: neither exited nor was replaced.
    for (const w of workers)
      expect({ code: w.proc.exitCode, signal: w.proc.signalCode }).toEqual({
        code: null,
        signal: null,
      });

    const audit = await lab.audit();
    expect(violations(audit)).toEqual([]);
    expect(audit.operations).toHaveLength(ops.length);
    const onHosts = audit.hosts.flatMap((h) => h.domains).sort();
    expect(onHosts).toEqual([...vms].sort());
    expect(audit.hosts.flatMap((h) => h.volumes)).toHaveLength(vms.length);
    expect(audit.usage.vms).toBe(vms.length);
    for (const vm of audit.vms) expect(vm.observedState).toBe('running');
  }, 600_000);
});
