/**
 * Pure helpers of the portal's pages: what a state means to a person, which rows a quota table
 * has, which actions a VM offers. No React and no API here, so they are tested alone.
 * Never decides access: `mayWrite` only hides buttons the API would refuse anyway.
 */
import {
  FINISHED_OPERATION_STATES,
  type Operation,
  type ResourceCounts,
  type TenantRole,
  type Vm,
} from '@palisade/contracts';

/**
 * Whether a role's buttons for `kind` are worth showing. Mirrors docs/api/permissions.md (the
 * policy lives in libs/auth, which the UIs do not import); a wrong answer here costs a 403
 * from the API, shown with its code, never an action the API did not allow.
 */
export function mayWrite(role: TenantRole, kind: 'resources' | 'people'): boolean {
  if (kind === 'people') return role === 'owner' || role === 'admin';
  return role !== 'viewer';
}

export function isFinished(op: Pick<Operation, 'state'>): boolean {
  return FINISHED_OPERATION_STATES.includes(op.state);
}

/** One sentence on where an operation stands, including why it failed. */
export function describeOperation(
  op: Pick<Operation, 'kind' | 'state' | 'progress' | 'error'>,
): string {
  switch (op.state) {
    case 'pending':
      return `${op.kind} is pending: it stays pending until a worker runs it.`;
    case 'running':
      return `${op.kind} is running (${op.progress}%).`;
    case 'compensating':
      return `${op.kind} failed and is being undone${op.error ? `: ${op.error.message}` : '.'}`;
    case 'succeeded':
      return `${op.kind} succeeded.`;
    case 'failed':
      return op.error
        ? `${op.kind} failed: ${op.error.message} (${op.error.code})`
        : `${op.kind} failed.`;
    case 'cancelled':
      return `${op.kind} was cancelled${op.error ? `: ${op.error.message}` : '.'}`;
  }
}

export const QUOTA_RESOURCES: { key: keyof ResourceCounts; label: string; unit?: string }[] = [
  { key: 'vms', label: 'VMs' },
  { key: 'vcpus', label: 'vCPUs' },
  { key: 'ramMiB', label: 'RAM', unit: 'MiB' },
  { key: 'diskGiB', label: 'Disk', unit: 'GiB' },
  { key: 'volumes', label: 'Volumes' },
  { key: 'snapshots', label: 'Snapshots' },
  { key: 'networks', label: 'Networks' },
  { key: 'publicIps', label: 'Public IPs' },
];

export interface QuotaRow {
  key: keyof ResourceCounts;
  label: string;
  used: number;
  limit: number;
  /** e.g. "2 of 8" or "512 of 1024 MiB". */
  text: string;
  /** 0–100; 100 when the limit is 0 (nothing may be created). */
  percent: number;
}

export function quotaRows(q: { limits: ResourceCounts; usage: ResourceCounts }): QuotaRow[] {
  return QUOTA_RESOURCES.map(({ key, label, unit }) => {
    const used = q.usage[key];
    const limit = q.limits[key];
    return {
      key,
      label,
      used,
      limit,
      text: `${used} of ${limit}${unit ? ` ${unit}` : ''}`,
      percent: limit === 0 ? 100 : Math.min(100, Math.round((used / limit) * 100)),
    };
  });
}

export type VmAction = 'start' | 'stop' | 'reboot' | 'forceOff' | 'delete';

/** The lifecycle actions that make sense for a VM's desired state (the API checks for real). */
export function vmActions(vm: Pick<Vm, 'desiredState'>): VmAction[] {
  if (vm.desiredState === 'deleted') return [];
  if (vm.desiredState === 'stopped') return ['start', 'delete'];
  return ['stop', 'reboot', 'forceOff', 'delete'];
}

export const VM_ACTION_LABELS: Record<
  VmAction,
  { label: string; question: (n: string) => string }
> = {
  start: { label: 'Start', question: (n) => `Start ${n}?` },
  stop: { label: 'Stop', question: (n) => `Stop ${n}? The guest is asked to shut down.` },
  reboot: { label: 'Reboot', question: (n) => `Reboot ${n}?` },
  forceOff: {
    label: 'Force off',
    question: (n) => `Force ${n} off? Like pulling the plug: unsaved data in the guest is lost.`,
  },
  delete: {
    label: 'Delete',
    question: (n) => `Delete ${n}? Its disk is destroyed and cannot be recovered.`,
  },
};

/** Splits a comma- or space-separated tag field into the tags array the API takes. */
export function parseTags(text: string): string[] {
  return text
    .split(/[\s,]+/)
    .map((t) => t.trim())
    .filter(Boolean);
}
