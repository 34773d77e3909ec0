/**
 * The `vm.migrate` workflow: a cold migration of one VM to another host, as its own operation on
 * the VM (in the tenant's timeline, and never interleaved with another operation on it: one
 * unfinished operation per target). Today only a host drain starts it (drain-workflow.ts), which
 * also removes what the VM left on the source once it has moved.
 *
 * claim (a target through placement, excluding the source; booked in `vms.migration_host_id`,
 * so no other VM takes that room) -> stop (ACPI, forced after the agent's timeout) -> copy (the
 * base image and segments on the target, then each volume file streamed source -> worker ->
 * target, ciphertext as stored, SHA-256 verified on import) -> start-target (only if the tenant
 * wants it running; the keys reach the target here, and only here) -> switch (the VM, its volumes
 * and its claim move to the target in one transaction: the commit point).
 *
 * Crash safety: every step converges when run again. Until `switch` the VM lives on the source
 * and a failure compensates back to it: the target's copies and domain are removed, the claim
 * released, and the VM started again on the source if it should run. After `switch` nothing is
 * undone (the undos see no target claim left and do nothing on the target).
 *
 * Live migration is not attempted: these hosts run guests under TCG with host-local storage, so
 * a live move would have to copy the disks while the guest writes them (block migration) and is
 * not worth its risk here; the DESIGN brief asks for it only where both hosts support it.
 *
 * Must never: move a key anywhere but `ensure-running` on the target; undo anything once the VM
 * has switched hosts.
 */
import { ErrorCode } from '@palisade/contracts';
import {
  claimPlacement,
  listHosts,
  releaseMigrationClaim,
  switchVmHost,
  volumesOfVm,
  type VmRow,
} from '@palisade/db';
import { StepRefused, type Workflow } from '../operations/engine';
import {
  context,
  vmHost,
  type VmContext,
  type VmWorkflowDeps,
  placementRequestOf,
} from '../vms/vm-host';

export const MIGRATE_KIND = 'vm.migrate';

export function migrateWorkflow(deps: VmWorkflowDeps): Workflow<VmContext> {
  const { db } = deps;
  const { tx, vmOf, agentOf, mustAgent, refs, startOnHost, stopOnHost } = vmHost(deps);

  /** The target's agent while the VM holds a target claim; null once it switched (or never
   *  claimed), which is what keeps the undos off a VM that has already moved. */
  const targetOf = async (vm: VmRow) =>
    vm.migrationHostId ? agentOf({ ...vm, hostId: vm.migrationHostId }) : null;
  const mustTarget = async (vm: VmRow) => {
    const t = await targetOf(vm);
    if (!t) throw new Error(`vm ${vm.id} holds no migration target`);
    return t;
  };
  const volumesOf = (c: VmContext) =>
    tx(`vm ${c.vmId}: volumes`, (t) => volumesOfVm(t, { tenantId: c.tenantId, vmId: c.vmId }));

  return {
    kind: MIGRATE_KIND,
    context,
    steps: [
      {
        name: 'claim',
        async run(c) {
          const vm = await vmOf(c);
          if (!vm.hostId)
            throw new StepRefused(`VM ${vm.name} is on no host.`, ErrorCode.INVALID_STATE);
          if (vm.migrationHostId) return;
          const { flavor, nics } = await refs(vm, c.tenantId);
          const others = (await tx('hosts: list', (t) => listHosts(t)))
            .map((h) => h.id)
            .filter((id) => id !== vm.hostId);
          const claim = await claimPlacement(db, {
            vmId: vm.id,
            slot: 'migration',
            onlyHostIds: others,
            request: placementRequestOf(flavor, nics),
            options: { weigher: 'spread' },
          });
          if (!claim.ok)
            throw new StepRefused(
              `No other host can take VM ${vm.name}: ${claim.detail}.`,
              ErrorCode.PLACEMENT_NO_VALID_HOST,
            );
        },
        async undo(c) {
          await tx(`vm ${c.vmId}: release migration claim`, (t) =>
            releaseMigrationClaim(t, { tenantId: c.tenantId, vmId: c.vmId }),
          );
        },
      },
      {
        name: 'stop',
        async run(c) {
          const vm = await vmOf(c);
          // A VM defined nowhere yet (stopped before its first start) has nothing to stop.
          if (await (await mustAgent(vm)).get(vm.id)) await stopOnHost(false)(c);
        },
        async undo(c) {
          // Back as it was: running on the host it lives on, if that is what the tenant wants.
          const vm = await vmOf(c);
          if (vm.desiredState === 'running') await startOnHost(c);
        },
      },
      {
        name: 'copy',
        async run(c) {
          const vm = await vmOf(c);
          const source = await mustAgent(vm);
          const target = await mustTarget(vm);
          const { image, nics } = await refs(vm, c.tenantId);
          // The import re-points a root volume at the target's own, verified copy of the base.
          await target.ensureImage({
            operationId: c.op.id,
            checksum: image.checksum,
            format: image.format,
          });
          for (const { network } of nics)
            await target.ensureSegment({
              operationId: c.op.id,
              segment: { type: network.segmentType, id: network.segmentId },
            });
          for (const v of await volumesOf(c))
            await source.copyVolumeTo(target, { operationId: c.op.id, volumeId: v.id });
        },
        async undo(c) {
          const vm = await vmOf(c);
          const target = await targetOf(vm);
          if (!target) return;
          for (const v of await volumesOf(c)) await target.deleteVolume(c.op.id, v.id);
        },
      },
      {
        name: 'start-target',
        async run(c) {
          const vm = await vmOf(c);
          // A stopped VM is defined on its new host by its next start, like after create.
          if (vm.desiredState === 'running') await startOnHost(c, await mustTarget(vm));
        },
        async undo(c) {
          const vm = await vmOf(c);
          await (await targetOf(vm))?.destroy(c.op.id, vm.id);
        },
      },
      {
        name: 'switch',
        async run(c) {
          const vm = await vmOf(c);
          if (!vm.migrationHostId) return; // switched by an earlier run of this step
          const moved = await tx(`vm ${vm.id}: switch host`, (t) =>
            switchVmHost(t, {
              tenantId: c.tenantId,
              vmId: vm.id,
              from: vm.hostId!,
              to: vm.migrationHostId!,
            }),
          );
          if (!moved) throw new Error(`vm ${vm.id} changed hosts during its migration`);
        },
      },
    ],
  };
}
