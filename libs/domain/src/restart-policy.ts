/**
 * The reconciler's decision for a VM that should run and whose host shows it off: restart it (as
 * a recorded operation) or leave it, and why. Pure: the worker gathers the facts.
 *
 * Must never restart a VM the tenant wants off, one with an operation under way (that operation
 * owns the VM), or one whose previous automatic restart failed (a VM that cannot start would
 * otherwise get a new failing operation every pass; a person looks at it first).
 */
import type { LibvirtDomainState } from './host-observation';
import type { DesiredState } from './vm-state';

export type RestartPolicyValue = 'always' | 'never';

/** Host states that mean "not running, and nothing is in the middle of changing that". */
export const RESTARTABLE_DOMAIN_STATES: readonly LibvirtDomainState[] = ['shutoff', 'crashed'];

export interface RestartFacts {
  desiredState: DesiredState;
  /** The domain's state on its host in this pass. */
  hostState: LibvirtDomainState;
  restartPolicy: RestartPolicyValue;
  /** An operation on the VM is pending, running or compensating. */
  busy: boolean;
  /** The VM's most recent finished operation, if any. */
  lastOperation?: { kind: string; state: string } | null;
}

export type RestartDecision =
  | { readonly kind: 'none' }
  | { readonly kind: 'restart' }
  | { readonly kind: 'leave'; readonly reason: string };

/** The operation kind of a restart the reconciler starts. */
export const RESTART_OPERATION_KIND = 'vm.restart';

export function restartDecision(f: RestartFacts): RestartDecision {
  if (f.desiredState !== 'running' || !RESTARTABLE_DOMAIN_STATES.includes(f.hostState))
    return { kind: 'none' };
  if (f.busy) return { kind: 'leave', reason: 'an operation on the VM is in progress' };
  if (f.restartPolicy === 'never') return { kind: 'leave', reason: 'restart policy is never' };
  if (f.lastOperation?.kind === RESTART_OPERATION_KIND && f.lastOperation.state === 'failed')
    return {
      kind: 'leave',
      reason: 'the last automatic restart failed; start, rebuild or delete the VM',
    };
  return { kind: 'restart' };
}
