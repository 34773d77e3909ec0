/**
 * The VM lifecycle: what a tenant wants (`desiredState`), what the host last reported
 * (`observedState`), which actions each observed state allows, and what the reconciler should do
 * when the two disagree. The API asks `canPerform` before accepting an action; the same answer
 * is shown in the UI (buttons disabled with the reason).
 *
 * Must never allow two lifecycle changes at once (Incus's operation lock): a VM with an operation
 * in progress accepts nothing but a delete. The database row lock is the second guard.
 *
 * The diagram in libs/domain/README.md is drawn by hand from the tables here; a test fails when
 * an edge of `OBSERVED_TRANSITIONS` is missing from it.
 */

export const DESIRED_STATES = ['running', 'stopped', 'deleted'] as const;
export type DesiredState = (typeof DESIRED_STATES)[number];

export const OBSERVED_STATES = [
  'building',
  'starting',
  'running',
  'stopping',
  'stopped',
  'rebooting',
  'migrating',
  'error',
  'unknown',
  'deleting',
  'deleted',
] as const;
export type ObservedState = (typeof OBSERVED_STATES)[number];

export const VM_ACTIONS = [
  'start',
  'stop',
  'reboot',
  'forceOff',
  'resize',
  'rebuild',
  'delete',
  'snapshot',
] as const;
export type VmAction = (typeof VM_ACTIONS)[number];

/** States in which the host is in the middle of something; they end on their own or time out. */
export const TRANSITIONAL_STATES: readonly ObservedState[] = [
  'building',
  'starting',
  'stopping',
  'rebooting',
  'migrating',
  'deleting',
];

/**
 * Which observed states allow each action. Why the less obvious entries:
 * - resize is cold (stopped only): changing vCPUs and RAM of a running guest needs hotplug the
 *   guest may not support, and the cgroup limits are rewritten with the domain definition.
 * - forceOff is the way out of a stuck start, stop or reboot, and out of error.
 * - rebuild (reimage the root disk) and delete are the ways out of error.
 * - delete is refused while migrating (the VM exists on two hosts until the migration ends) and
 *   accepted when the state is unknown: the row is marked, and the host is cleaned when it
 *   reports again.
 */
export const ACTION_ALLOWED_IN: Readonly<Record<VmAction, readonly ObservedState[]>> = {
  start: ['stopped'],
  stop: ['running'],
  reboot: ['running'],
  forceOff: ['starting', 'running', 'stopping', 'rebooting', 'error'],
  resize: ['stopped'],
  rebuild: ['running', 'stopped', 'error'],
  delete: [
    'building',
    'starting',
    'running',
    'stopping',
    'stopped',
    'rebooting',
    'error',
    'unknown',
  ],
  // Stopped only: an internal qcow2 snapshot of a running domain with a LUKS disk aborts QEMU 7.2
  // (assertion in qcow2_co_encdec; the domain ends "shut off (crashed)"), measured on these hosts;
  // see libs/hypervisor/README.md, snapshots. Hosts take offline snapshots with the key.
  snapshot: ['stopped'],
};

/** How each state reads after "VM", in refusals shown to tenants. */
const STATE_PHRASE: Readonly<Record<ObservedState, string>> = {
  building: 'is building',
  starting: 'is starting',
  running: 'is running',
  stopping: 'is stopping',
  stopped: 'is stopped',
  rebooting: 'is rebooting',
  migrating: 'is migrating',
  error: 'is in error',
  unknown: 'state is unknown (its host is not reporting)',
  deleting: 'is being deleted',
  deleted: 'is deleted',
};

const ACTION_VERB: Readonly<Record<VmAction, string>> = {
  start: 'start',
  stop: 'stop',
  reboot: 'reboot',
  forceOff: 'force off',
  resize: 'resize',
  rebuild: 'rebuild',
  delete: 'delete',
  snapshot: 'snapshot',
};

export interface VmLifecycle {
  readonly desiredState: DesiredState;
  readonly observedState: ObservedState;
  /** The action of the operation currently running on the VM, if any. */
  readonly activeOperation?: VmAction | null;
}

export type CanPerform =
  | { readonly ok: true }
  | {
      readonly ok: false;
      readonly reason: 'invalid_state' | 'operation_in_progress';
      /** e.g. "cannot start: VM is running". */
      readonly detail: string;
    };

export function canPerform(action: VmAction, vm: VmLifecycle): CanPerform {
  const verb = ACTION_VERB[action];
  // A VM whose deletion was accepted is gone for the tenant, whatever the host still shows.
  if (vm.desiredState === 'deleted' && vm.observedState !== 'deleted')
    return { ok: false, reason: 'invalid_state', detail: `cannot ${verb}: VM is being deleted` };
  if (vm.activeOperation && action !== 'delete')
    return {
      ok: false,
      reason: 'operation_in_progress',
      detail: `cannot ${verb}: VM has a ${ACTION_VERB[vm.activeOperation]} in progress`,
    };
  if (!ACTION_ALLOWED_IN[action].includes(vm.observedState))
    return {
      ok: false,
      reason: 'invalid_state',
      detail: `cannot ${verb}: VM ${STATE_PHRASE[vm.observedState]}`,
    };
  return { ok: true };
}

/** Every action the VM accepts now, in `VM_ACTIONS` order (for the UI's enabled buttons). */
export function allowedActions(vm: VmLifecycle): VmAction[] {
  return VM_ACTIONS.filter((a) => canPerform(a, vm).ok);
}

/** The desired state once `action` is accepted. */
export function desiredStateAfter(action: VmAction, current: DesiredState): DesiredState {
  switch (action) {
    case 'start':
    case 'reboot':
      return 'running';
    case 'stop':
    case 'forceOff':
      return 'stopped';
    case 'delete':
      return 'deleted';
    case 'resize':
    case 'rebuild':
    case 'snapshot':
      return current;
  }
}

/** The observed state the worker records while the action runs (null: the state does not change). */
export const ACTION_TRANSITIONAL_STATE: Readonly<Record<VmAction, ObservedState | null>> = {
  start: 'starting',
  stop: 'stopping',
  reboot: 'rebooting',
  forceOff: 'stopping',
  resize: null,
  rebuild: 'building',
  delete: 'deleting',
  snapshot: null,
};

/**
 * Observed transitions the lifecycle produces (what the diagram draws). Any state may also become
 * `unknown` when its host stops reporting, and `unknown` becomes whatever the host reports next;
 * those edges are implied, not listed.
 */
export const OBSERVED_TRANSITIONS: Readonly<Record<ObservedState, readonly ObservedState[]>> = {
  building: ['starting', 'stopped', 'error', 'deleting'],
  starting: ['running', 'stopping', 'stopped', 'error', 'deleting'],
  running: ['stopping', 'stopped', 'rebooting', 'migrating', 'building', 'error', 'deleting'],
  stopping: ['stopped', 'running', 'error', 'deleting'],
  stopped: ['starting', 'building', 'error', 'deleting'],
  rebooting: ['running', 'stopping', 'stopped', 'error', 'deleting'],
  migrating: ['running', 'error'],
  error: ['stopping', 'stopped', 'building', 'deleting'],
  unknown: [],
  deleting: ['deleted', 'error'],
  deleted: [],
};

export function isObservedTransition(from: ObservedState, to: ObservedState): boolean {
  if (from === to) return true;
  if (from === 'deleted') return false;
  if (to === 'unknown' || from === 'unknown') return true;
  return OBSERVED_TRANSITIONS[from].includes(to);
}

export type ReconcileDecision =
  | { readonly kind: 'in_sync' }
  /** Enqueue this action as an operation. */
  | { readonly kind: 'repair'; readonly action: 'start' | 'stop' | 'delete' }
  /** Leave it: something is under way, or the host is silent; deadlines handle the stuck. */
  | { readonly kind: 'wait'; readonly detail: string }
  /** No automatic repair: a person (tenant or operator) must act. */
  | { readonly kind: 'attention'; readonly detail: string };

/**
 * What the reconciler does about one VM. The desired state wins: a guest that powered itself off
 * while desired `running` is started again, unless the API recorded the guest's shutdown event
 * as a new desired state first (that is the agent event handler's job, not this function's).
 */
export function reconcileVm(vm: VmLifecycle): ReconcileDecision {
  const { desiredState: desired, observedState: observed } = vm;
  if (vm.activeOperation)
    return { kind: 'wait', detail: `a ${ACTION_VERB[vm.activeOperation]} is in progress` };
  if (observed === 'unknown') return { kind: 'wait', detail: 'the host is not reporting' };
  if (TRANSITIONAL_STATES.includes(observed))
    return { kind: 'wait', detail: `VM ${STATE_PHRASE[observed]}` };
  if (observed === 'error') {
    if (desired === 'deleted') return { kind: 'repair', action: 'delete' };
    return { kind: 'attention', detail: 'VM is in error; force it off, rebuild it or delete it' };
  }
  if (desired === 'deleted')
    return observed === 'deleted' ? { kind: 'in_sync' } : { kind: 'repair', action: 'delete' };
  if (observed === 'deleted')
    return { kind: 'attention', detail: `VM should be ${desired} but its host no longer has it` };
  if (observed === desired) return { kind: 'in_sync' };
  return { kind: 'repair', action: desired === 'running' ? 'start' : 'stop' };
}
