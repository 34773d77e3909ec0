/**
 * `vm.restart`: what the reconciler runs for a VM that should run and was found shut off or
 * crashed on its host (restart policy `always`). A normal recorded operation, so the tenant sees
 * it in the VM's timeline and it never interleaves with another operation on the VM.
 *
 * clear: a crashed domain is still active (libvirt `on_crash` preserve), so it is forced off
 * first; a running one is left alone (the guest came back, or the pass saw a stale state).
 * start: the same convergence as vm.start (`ensure-running` with the disk keys), and the observed
 * state from the host's answer.
 */
import { RESTART_OPERATION_KIND } from '@palisade/domain';
import type { Workflow } from '../operations/engine';
import { context, vmHost, type VmContext, type VmWorkflowDeps } from '../vms/vm-host';

export function restartWorkflows(deps: VmWorkflowDeps): Workflow<VmContext>[] {
  const { vmOf, mustAgent, startOnHost } = vmHost(deps);
  return [
    {
      kind: RESTART_OPERATION_KIND,
      context,
      steps: [
        {
          name: 'clear',
          async run(c) {
            const vm = await vmOf(c);
            const agent = await mustAgent(vm);
            const domain = await agent.get(vm.id);
            if (domain && domain.state !== 'running' && domain.state !== 'shutoff')
              await agent.stop(c.op.id, vm.id, true);
          },
        },
        { name: 'start', run: startOnHost },
      ],
    },
  ];
}
