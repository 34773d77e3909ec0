import { describe, expect, it } from 'vitest';
import {
  compensationOrder,
  initialSteps,
  isFinalAttempt,
  nextStep,
  progressOf,
  withStep,
  type StepRecord,
} from './workflow';

const steps = (...states: StepRecord['state'][]): StepRecord[] =>
  states.map((state, i) => ({ name: `s${i}`, state }));

describe('workflow bookkeeping', () => {
  it('starts a fresh run with every step pending', () => {
    expect(initialSteps(['a', 'b'], [])).toEqual({
      ok: true,
      steps: [
        { name: 'a', state: 'pending' },
        { name: 'b', state: 'pending' },
      ],
    });
  });

  it('resumes from the recorded steps, and refuses a record of a different workflow', () => {
    const recorded: StepRecord[] = [
      { name: 'a', state: 'done' },
      { name: 'b', state: 'running' },
    ];
    expect(initialSteps(['a', 'b'], recorded)).toEqual({ ok: true, steps: recorded });
    const r = initialSteps(['a', 'c'], recorded);
    expect(r.ok).toBe(false);
    expect(!r.ok && r.reason).toMatch(/\[a, b\].*\[a, c\]/);
  });

  it('re-runs a step a dead worker left running, and skips finished ones', () => {
    expect(nextStep(steps('done', 'running', 'pending'))).toBe(1);
    expect(nextStep(steps('done', 'skipped', 'pending'))).toBe(2);
    expect(nextStep(steps('done', 'skipped'))).toBeNull();
  });

  it('counts progress over finished steps only', () => {
    expect(progressOf(steps('done', 'running', 'pending'))).toBe(33);
    expect(progressOf(steps('done', 'done'))).toBe(100);
    expect(progressOf([])).toBe(100);
  });

  it('undoes, last first, every step that ran or may have half-run, and nothing that never ran', () => {
    expect(compensationOrder(steps('done', 'done', 'failed', 'pending'))).toEqual([2, 1, 0]);
    expect(compensationOrder(steps('done', 'running', 'pending'))).toEqual([1, 0]);
    expect(compensationOrder(steps('skipped', 'compensated', 'pending'))).toEqual([]);
  });

  it('knows the final attempt: attempts used up, unrecoverable, or past the deadline', () => {
    const base = { maxAttempts: 3, unrecoverable: false, pastDeadline: false };
    expect(isFinalAttempt({ ...base, attemptsMade: 1 })).toBe(false);
    expect(isFinalAttempt({ ...base, attemptsMade: 2 })).toBe(true);
    expect(isFinalAttempt({ ...base, attemptsMade: 0, unrecoverable: true })).toBe(true);
    expect(isFinalAttempt({ ...base, attemptsMade: 0, pastDeadline: true })).toBe(true);
  });

  it('changes a step by copy, never in place', () => {
    const before = steps('pending');
    const after = withStep(before, 0, { state: 'done' });
    expect(before[0]!.state).toBe('pending');
    expect(after[0]!.state).toBe('done');
  });
});
