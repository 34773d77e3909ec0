/**
 * What a host's reports mean for the control plane's records: a libvirt lifecycle event or a
 * domain state becomes a VM's observed state, and a heartbeat moves the host's state. Pure: the
 * API's agent gateway does the I/O and applies the answers.
 *
 * Must never report `stopped` for a VM whose host is silent: silence is `unknown`, because the
 * guest may well still be running (no fencing is configured, so nobody knows).
 */
import type { HostState } from './placement';
import type { ObservedState } from './vm-state';

/**
 * Observed states owned by a running workflow, which a report must not overwrite: the workflow
 * moves the VM out of them itself. A guest that stops during a delete is part of the delete; the
 * "stopped" event must not make the VM look startable again.
 */
export const WORKFLOW_OWNED_STATES: readonly ObservedState[] = [
  'building',
  'migrating',
  'deleting',
  'deleted',
];

/**
 * The observed state a libvirt lifecycle event implies, or null when it implies none (the event
 * changes nothing a tenant sees, or a later event will say more). Vocabulary: libvirt's
 * `virDomainEventType` / detail names as `virsh event --loop` prints them.
 * - `stopped/crashed` and `crashed/*` are `error`: the guest died; a person decides (force off,
 *   rebuild or delete), the reconciler does not restart it blindly.
 * - `stopped/failed` is `error` too: QEMU could not keep running the guest.
 * - `stopped/migrated` is null: the VM runs on the destination now, which reports it there.
 * - `shutdown/*` is null: it says the guest began powering off; `stopped/shutdown` follows.
 * - `suspended/*` (paused) is null: Palisade has no paused state; snapshots and migrations pause
 *   briefly and resume.
 * - `defined`/`undefined` are null: they change the definition, not whether the guest runs.
 */
export function observedStateOfEvent(event: string, detail: string): ObservedState | null {
  switch (event) {
    case 'started':
    case 'resumed':
      return 'running';
    case 'stopped':
      if (detail === 'crashed' || detail === 'failed') return 'error';
      if (detail === 'migrated') return null;
      return 'stopped';
    case 'crashed':
      return 'error';
    default:
      return null;
  }
}

/** libvirt's domain states, as a host lists them (`virsh domstate`). */
export type LibvirtDomainState =
  'nostate' | 'running' | 'blocked' | 'paused' | 'shutdown' | 'shutoff' | 'crashed' | 'pmsuspended';

/** The observed state a listed domain implies, or null when it implies none (paused, no state). */
export function observedStateOfDomain(state: LibvirtDomainState): ObservedState | null {
  switch (state) {
    case 'running':
    case 'blocked': // running, waiting on a resource
      return 'running';
    case 'shutdown': // powering off
      return 'stopping';
    case 'shutoff':
      return 'stopped';
    case 'crashed':
      return 'error';
    default:
      return null;
  }
}

/**
 * Whether a reported state replaces the recorded one: not when a workflow owns the current
 * state, and not when nothing changes. Anything else is the host's truth and wins, including
 * moves the lifecycle diagram does not draw (a guest started by libvirt's autostart after a
 * host reboot goes from stopped to running without `starting`).
 */
export function shouldRecordObserved(current: ObservedState, reported: ObservedState | null) {
  return reported !== null && reported !== current && !WORKFLOW_OWNED_STATES.includes(current);
}

/**
 * The host state after a heartbeat: a silent host that speaks again is `up`; an operator's
 * `draining` or `maintenance` stays until the operator ends it; `enrolling` cannot send one (it
 * has no certificate yet) but would be `up` if it did.
 */
export function hostStateAfterHeartbeat(current: HostState): HostState {
  return current === 'draining' || current === 'maintenance' ? current : 'up';
}
