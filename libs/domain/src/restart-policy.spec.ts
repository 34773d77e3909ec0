import { describe, expect, it } from 'vitest';
import { restartDecision, type RestartFacts } from './restart-policy';

const base: RestartFacts = {
  desiredState: 'running',
  hostState: 'shutoff',
  restartPolicy: 'always',
  busy: false,
  lastOperation: { kind: 'vm.start', state: 'succeeded' },
};

describe('restartDecision', () => {
  it('restarts a VM that should run and is shut off or crashed, with policy always', () => {
    expect(restartDecision(base)).toEqual({ kind: 'restart' });
    expect(restartDecision({ ...base, hostState: 'crashed' })).toEqual({ kind: 'restart' });
    expect(restartDecision({ ...base, lastOperation: null })).toEqual({ kind: 'restart' });
  });

  it('leaves it with policy never, and says so', () => {
    expect(restartDecision({ ...base, restartPolicy: 'never' })).toEqual({
      kind: 'leave',
      reason: 'restart policy is never',
    });
  });

  it('leaves a VM with an operation in progress: that operation owns it', () => {
    expect(restartDecision({ ...base, busy: true })).toMatchObject({ kind: 'leave' });
  });

  it('does not retry a failed automatic restart every pass', () => {
    expect(
      restartDecision({ ...base, lastOperation: { kind: 'vm.restart', state: 'failed' } }),
    ).toMatchObject({ kind: 'leave', reason: expect.stringContaining('last automatic restart') });
    expect(
      restartDecision({ ...base, lastOperation: { kind: 'vm.restart', state: 'succeeded' } }),
    ).toEqual({ kind: 'restart' });
  });

  it('has nothing to do for a VM the tenant wants off, or one that is running or changing', () => {
    expect(restartDecision({ ...base, desiredState: 'stopped' })).toEqual({ kind: 'none' });
    expect(restartDecision({ ...base, desiredState: 'deleted' })).toEqual({ kind: 'none' });
    for (const hostState of ['running', 'paused', 'shutdown', 'blocked'] as const)
      expect(restartDecision({ ...base, hostState })).toEqual({ kind: 'none' });
  });
});
