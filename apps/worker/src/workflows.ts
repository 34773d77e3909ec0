/**
 * Every workflow this worker runs, by operation kind. Each area (VMs, volumes, snapshots,
 * networks, hosts) contributes its list; the outbox relay enqueues only the kinds listed here,
 * so an operation whose workflow is not deployed waits as `pending` instead of failing.
 */
import type { Workflow } from './operations/engine';
import { restartWorkflows } from './reconciler/restart-workflow';
import type { VmWorkflowDeps } from './vms/vm-host';
import { vmWorkflows } from './vms/vm-workflows';

export type WorkflowDeps = VmWorkflowDeps;

export function allWorkflows(deps: WorkflowDeps): Workflow<unknown>[] {
  return [...vmWorkflows(deps), ...restartWorkflows(deps)] as Workflow<unknown>[];
}
