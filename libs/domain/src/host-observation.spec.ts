import { describe, expect, it } from 'vitest';
import {
  hostStateAfterHeartbeat,
  observedStateOfDomain,
  observedStateOfEvent,
  shouldRecordObserved,
  WORKFLOW_OWNED_STATES,
} from './host-observation';
import { OBSERVED_STATES } from './vm-state';

describe('observedStateOfEvent', () => {
  it.each([
    ['started', 'booted', 'running'],
    ['resumed', 'unpaused', 'running'],
    ['stopped', 'shutdown', 'stopped'],
    ['stopped', 'destroyed', 'stopped'],
    ['stopped', 'crashed', 'error'],
    ['stopped', 'failed', 'error'],
    ['crashed', 'panicked', 'error'],
  ] as const)('%s/%s is %s', (event, detail, state) => {
    expect(observedStateOfEvent(event, detail)).toBe(state);
  });

  it.each([
    ['stopped', 'migrated'],
    ['shutdown', 'guest'],
    ['suspended', 'paused'],
    ['defined', 'added'],
    ['undefined', 'removed'],
    ['pmsuspended', 'memory'],
  ])('%s/%s changes no observed state', (event, detail) => {
    expect(observedStateOfEvent(event, detail)).toBeNull();
  });

  it('never maps any event to unknown: only a silent host makes a VM unknown', () => {
    for (const event of ['started', 'stopped', 'crashed', 'resumed', 'suspended', 'shutdown'])
      for (const detail of ['booted', 'shutdown', 'destroyed', 'crashed', 'failed', 'x'])
        expect(observedStateOfEvent(event, detail)).not.toBe('unknown');
  });
});

describe('observedStateOfDomain', () => {
  it.each([
    ['running', 'running'],
    ['blocked', 'running'],
    ['shutdown', 'stopping'],
    ['shutoff', 'stopped'],
    ['crashed', 'error'],
    ['paused', null],
    ['pmsuspended', null],
    ['nostate', null],
  ] as const)('a %s domain is %s', (state, observed) => {
    expect(observedStateOfDomain(state)).toBe(observed);
  });
});

describe('shouldRecordObserved', () => {
  it('records a change the host reports, including unknown -> anything', () => {
    expect(shouldRecordObserved('running', 'stopped')).toBe(true);
    expect(shouldRecordObserved('unknown', 'running')).toBe(true);
    expect(shouldRecordObserved('stopped', 'running')).toBe(true);
  });
  it('ignores no-ops and nulls', () => {
    expect(shouldRecordObserved('running', 'running')).toBe(false);
    expect(shouldRecordObserved('running', null)).toBe(false);
  });
  it('leaves states a workflow owns alone: a deleting VM stopping stays deleting', () => {
    for (const owned of WORKFLOW_OWNED_STATES)
      for (const reported of OBSERVED_STATES)
        expect(shouldRecordObserved(owned, reported)).toBe(false);
  });
});

describe('hostStateAfterHeartbeat', () => {
  it('an unreachable host that reports again is up', () => {
    expect(hostStateAfterHeartbeat('unreachable')).toBe('up');
    expect(hostStateAfterHeartbeat('up')).toBe('up');
  });
  it("an operator's draining or maintenance survives heartbeats", () => {
    expect(hostStateAfterHeartbeat('draining')).toBe('draining');
    expect(hostStateAfterHeartbeat('maintenance')).toBe('maintenance');
  });
});
