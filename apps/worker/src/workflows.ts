/**
 * Every workflow this worker runs, by operation kind. Each area (VMs, volumes, snapshots,
 * networks, hosts) contributes its list; the outbox relay enqueues only the kinds listed here,
 * so an operation whose workflow is not deployed waits as `pending` instead of failing.
 */
import { drainWorkflows } from './hosts/drain-workflow';
import type { Workflow } from './operations/engine';
import { restartWorkflows } from './reconciler/restart-workflow';
import type { VmWorkflowDeps } from './vms/vm-host';
import { networkWorkflows } from './networks/network-workflows';
import { vmChangeWorkflows } from './vms/vm-change-workflows';
import { snapshotWorkflows } from './snapshots/snapshot-workflows';
import { vmWorkflows } from './vms/vm-workflows';
import { volumeWorkflows } from './volumes/volume-workflows';

export type WorkflowDeps = VmWorkflowDeps;

export function allWorkflows(deps: WorkflowDeps): Workflow<unknown>[] {
  // vm.migrate is not listed: only a drain runs it (hosts/drain-workflow.ts).
  return [
    ...vmWorkflows(deps),
    ...vmChangeWorkflows(deps),
    ...volumeWorkflows(deps),
    ...snapshotWorkflows(deps),
    ...networkWorkflows(deps),
    ...drainWorkflows(deps),
    ...restartWorkflows(deps),
  ] as Workflow<unknown>[];
}
