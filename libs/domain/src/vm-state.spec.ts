import { readFileSync } from 'node:fs';
import path from 'node:path';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  ACTION_ALLOWED_IN,
  ACTION_TRANSITIONAL_STATE,
  allowedActions,
  canPerform,
  DESIRED_STATES,
  desiredStateAfter,
  isObservedTransition,
  OBSERVED_STATES,
  OBSERVED_TRANSITIONS,
  reconcileVm,
  VM_ACTIONS,
  type DesiredState,
  type ObservedState,
} from './vm-state';

const vm = (observedState: ObservedState, desiredState: DesiredState = 'running') => ({
  observedState,
  desiredState,
});

describe('canPerform', () => {
  it.each([
    ['start', 'running', 'cannot start: VM is running'],
    ['stop', 'stopped', 'cannot stop: VM is stopped'],
    ['reboot', 'starting', 'cannot reboot: VM is starting'],
    ['resize', 'running', 'cannot resize: VM is running'],
    ['forceOff', 'stopped', 'cannot force off: VM is stopped'],
    ['snapshot', 'error', 'cannot snapshot: VM is in error'],
    // Live snapshots of LUKS disks crash QEMU 7.2: stopped VMs only.
    ['snapshot', 'running', 'cannot snapshot: VM is running'],
    ['start', 'unknown', 'cannot start: VM state is unknown (its host is not reporting)'],
    ['delete', 'migrating', 'cannot delete: VM is migrating'],
    ['rebuild', 'building', 'cannot rebuild: VM is building'],
  ] as const)('%s is refused when the VM is %s: "%s"', (action, state, detail) => {
    expect(canPerform(action, vm(state))).toEqual({ ok: false, reason: 'invalid_state', detail });
  });

  it('allows each action in exactly the states of the table', () => {
    for (const action of VM_ACTIONS)
      for (const state of OBSERVED_STATES)
        expect(canPerform(action, vm(state, 'running')).ok, `${action} in ${state}`).toBe(
          ACTION_ALLOWED_IN[action].includes(state),
        );
  });

  it('gives a way out of error and of a stuck transition', () => {
    expect(allowedActions(vm('error'))).toEqual(['forceOff', 'rebuild', 'delete']);
    expect(allowedActions(vm('stopping'))).toEqual(['forceOff', 'delete']);
    expect(allowedActions(vm('unknown'))).toEqual(['delete']);
    expect(allowedActions(vm('running'))).toEqual([
      'stop',
      'reboot',
      'forceOff',
      'rebuild',
      'delete',
    ]);
    expect(allowedActions(vm('stopped', 'stopped'))).toEqual([
      'start',
      'resize',
      'rebuild',
      'delete',
      'snapshot',
    ]);
  });

  it('refuses everything once a delete is accepted, whatever the host still shows', () => {
    for (const action of VM_ACTIONS)
      expect(canPerform(action, vm('running', 'deleted'))).toEqual({
        ok: false,
        reason: 'invalid_state',
        detail: `cannot ${action === 'forceOff' ? 'force off' : action}: VM is being deleted`,
      });
  });

  it('accepts only a delete while another operation runs on the VM', () => {
    const busy = { ...vm('running'), activeOperation: 'snapshot' as const };
    expect(canPerform('stop', busy)).toEqual({
      ok: false,
      reason: 'operation_in_progress',
      detail: 'cannot stop: VM has a snapshot in progress',
    });
    expect(canPerform('delete', busy)).toEqual({ ok: true });
    expect(canPerform('stop', { ...busy, activeOperation: null })).toEqual({ ok: true });
  });

  it('nothing is allowed on a deleted VM, and every refusal names the action', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...VM_ACTIONS),
        fc.constantFrom(...DESIRED_STATES),
        (action, desired) => {
          const r = canPerform(action, vm('deleted', desired));
          expect(r.ok).toBe(false);
          if (!r.ok) expect(r.detail).toMatch(/^cannot [a-z ]+: VM /);
        },
      ),
    );
  });
});

describe('action effects', () => {
  it('sets the desired state the action implies, and keeps it for in-place changes', () => {
    expect(desiredStateAfter('start', 'stopped')).toBe('running');
    expect(desiredStateAfter('forceOff', 'running')).toBe('stopped');
    expect(desiredStateAfter('delete', 'stopped')).toBe('deleted');
    for (const d of DESIRED_STATES) {
      expect(desiredStateAfter('resize', d)).toBe(d);
      expect(desiredStateAfter('snapshot', d)).toBe(d);
    }
  });

  it('every transitional state an action records is reachable from every state the action is allowed in', () => {
    for (const action of VM_ACTIONS) {
      const t = ACTION_TRANSITIONAL_STATE[action];
      if (t === null) continue;
      for (const from of ACTION_ALLOWED_IN[action])
        expect(isObservedTransition(from, t), `${action}: ${from} -> ${t}`).toBe(true);
    }
  });

  it('deleted is terminal; unknown connects to everything else', () => {
    for (const s of OBSERVED_STATES) {
      if (s !== 'deleted') expect(isObservedTransition('deleted', s)).toBe(false);
      expect(isObservedTransition(s, 'unknown')).toBe(s !== 'deleted');
      expect(isObservedTransition('unknown', s)).toBe(true);
    }
    expect(isObservedTransition('stopped', 'running')).toBe(false);
  });
});

describe('the README diagram', () => {
  const readme = readFileSync(path.join(__dirname, '..', 'README.md'), 'utf8');
  const mermaid = /```mermaid\n([\s\S]*?)```/.exec(readme)?.[1] ?? '';

  it('draws exactly the transitions of OBSERVED_TRANSITIONS', () => {
    const drawn = new Set(
      [...mermaid.matchAll(/^\s*(\w+) --> (\w+)/gm)].map((m) => `${m[1]}->${m[2]}`),
    );
    const table = new Set(
      Object.entries(OBSERVED_TRANSITIONS).flatMap(([from, tos]) =>
        tos.map((to) => `${from}->${to}`),
      ),
    );
    expect([...drawn].sort()).toEqual([...table].sort());
  });

  it('lists exactly the allowed states of ACTION_ALLOWED_IN', () => {
    for (const action of VM_ACTIONS) {
      // Prettier pads the table's cells; match whatever the padding.
      const row = new RegExp(`^\\|\\s*${action}\\s*\\|\\s*([a-z, ]+?)\\s*\\|$`, 'm').exec(readme);
      expect(row, action).not.toBeNull();
      expect(row?.[1]?.split(', '), action).toEqual(ACTION_ALLOWED_IN[action]);
    }
  });
});

describe('reconcileVm', () => {
  it.each([
    ['running', 'running', { kind: 'in_sync' }],
    ['stopped', 'stopped', { kind: 'in_sync' }],
    ['running', 'stopped', { kind: 'repair', action: 'start' }],
    ['stopped', 'running', { kind: 'repair', action: 'stop' }],
    ['deleted', 'running', { kind: 'repair', action: 'delete' }],
    ['deleted', 'error', { kind: 'repair', action: 'delete' }],
    ['deleted', 'deleted', { kind: 'in_sync' }],
    ['running', 'starting', { kind: 'wait', detail: 'VM is starting' }],
    ['running', 'unknown', { kind: 'wait', detail: 'the host is not reporting' }],
    [
      'running',
      'error',
      { kind: 'attention', detail: 'VM is in error; force it off, rebuild it or delete it' },
    ],
    [
      'stopped',
      'deleted',
      { kind: 'attention', detail: 'VM should be stopped but its host no longer has it' },
    ],
  ] as const)('desired %s, observed %s', (desired, observed, decision) => {
    expect(reconcileVm(vm(observed, desired))).toEqual(decision);
  });

  it('never interferes with a running operation', () => {
    fc.assert(
      fc.property(
        fc.constantFrom(...DESIRED_STATES),
        fc.constantFrom(...OBSERVED_STATES),
        fc.constantFrom(...VM_ACTIONS),
        (desired, observed, op) => {
          expect(reconcileVm({ ...vm(observed, desired), activeOperation: op }).kind).toBe('wait');
        },
      ),
    );
  });

  it('every repair it asks for is one canPerform allows (or the delete that is already accepted)', () => {
    for (const desired of DESIRED_STATES)
      for (const observed of OBSERVED_STATES) {
        const d = reconcileVm(vm(observed, desired));
        if (d.kind !== 'repair') continue;
        if (d.action === 'delete') expect(ACTION_ALLOWED_IN.delete).toContain(observed);
        else expect(canPerform(d.action, vm(observed, desired)).ok).toBe(true);
      }
  });
});
