import { afterEach, describe, expect, it } from 'vitest';
import { workerConfigSchema } from '../config';
import {
  afterHostCall,
  armFault,
  aroundStep,
  disarmFault,
  faultSpecSchema,
  type FaultSpec,
} from './fault-injection';

const base = {
  REDIS_URL: 'redis://127.0.0.1:6379',
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/d',
};

describe('fault injection (test-only crash points)', () => {
  afterEach(() => disarmFault());

  it('the config refuses WORKER_FAULT_KILL_AT unless NODE_ENV=test, naming the variable', () => {
    const prod = workerConfigSchema.safeParse({
      ...base,
      NODE_ENV: 'production',
      WORKER_FAULT_KILL_AT: 'vm.create:volume:after-host',
    });
    expect(prod.success).toBe(false);
    expect(prod.error?.issues[0]).toMatchObject({
      path: ['WORKER_FAULT_KILL_AT'],
      message: expect.stringMatching(/NODE_ENV=test/),
    });
    const test = workerConfigSchema.parse({
      ...base,
      NODE_ENV: 'test',
      WORKER_FAULT_KILL_AT: 'vm.create:volume:after-host',
    });
    expect(test.WORKER_FAULT_KILL_AT).toEqual({
      kind: 'vm.create',
      step: 'volume',
      point: 'after-host',
    });
    expect(workerConfigSchema.parse(base).WORKER_FAULT_KILL_AT).toBeUndefined();
  });

  it('a malformed point is refused with the expected form', () => {
    const r = faultSpecSchema.safeParse('vm.create:volume:midway');
    expect(r.success).toBe(false);
    expect(r.error?.issues[0]?.message).toMatch(/before, after-host, after/);
  });

  it('fires once, at the armed point of the armed step only', async () => {
    const fired: FaultSpec[] = [];
    armFault({ kind: 'vm.create', step: 'volume', point: 'after-host' }, (s) => fired.push(s));
    const trace: string[] = [];
    const step = (name: string) =>
      aroundStep('vm.create', name, async () => {
        trace.push(`${name}:run`);
        afterHostCall();
        trace.push(`${name}:host-answered`);
        afterHostCall(); // a second host call in the same step is not the point
      });
    await step('image');
    expect(fired).toEqual([]);
    await step('volume');
    expect(fired).toEqual([{ kind: 'vm.create', step: 'volume', point: 'after-host' }]);
    await step('volume');
    expect(fired).toHaveLength(1);
    expect(trace).toEqual([
      'image:run',
      'image:host-answered',
      'volume:run',
      'volume:host-answered',
      'volume:run',
      'volume:host-answered',
    ]);
  });

  it('before and after bracket the step; another kind never fires', async () => {
    const fired: string[] = [];
    armFault({ kind: 'vm.delete', step: 'remove', point: 'after' }, (s) => fired.push(s.point));
    await aroundStep('vm.create', 'remove', async () => fired.push('other-kind'));
    await aroundStep('vm.delete', 'remove', async () => fired.push('run'));
    expect(fired).toEqual(['other-kind', 'run', 'after']);
    armFault({ kind: 'vm.delete', step: 'remove', point: 'before' }, (s) => fired.push(s.point));
    await aroundStep('vm.delete', 'remove', async () => fired.push('run'));
    expect(fired.slice(3)).toEqual(['before', 'run']);
  });
});
