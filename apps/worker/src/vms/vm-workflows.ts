/**
 * The `vm.create` and `vm.delete` workflows: the control plane's side of a VM's life on a host.
 * Each step is idempotent for its operation (the agent's calls converge; rows are looked up
 * before they are written), and each step of create has an undo that gives back what it took.
 *
 * vm.create: place (claim a host) -> image (verified on the host) -> volume (root LUKS qcow2 on
 * the image; its key generated here and stored only wrapped) -> segment -> define-start ->
 * record (observed state from the agent's answer, never assumed).
 * vm.delete: destroy (domain, seed) -> volumes (crypto-erase, then the file) -> segments (the
 * host's bridges of the VM's networks that no other VM there uses) -> remove (the row:
 * MCS pair, MAC, IP and host claim go with it; quota was released by the API at accept).
 * vm.start / vm.stop / vm.force_off / vm.reboot: the power actions, state from the host.
 *
 * Must never: put a key in job data, a log or an error; guess a VM's state.
 */
import { ErrorCode } from '@palisade/contracts';
import {
  claimPlacement,
  getFlavor,
  getVm,
  insertVolume,
  releasePlacement,
  removeDeletedVm,
  removeSnapshotsOfVm,
  updateVm,
  updateVolume,
  volumesOfVm,
} from '@palisade/db';
import { vmFootprint } from '@palisade/domain';
import { hostSegments } from '../networks/host-segments';
import { StepRefused, type Workflow } from '../operations/engine';
import { giveBackQuota } from '../operations/quota';
import {
  context,
  GiB,
  vmHost,
  type VmContext,
  type VmWorkflowDeps,
  placementRequestOf,
} from './vm-host';
import { newVolumeKey, wrapVolumeKey } from './volume-keys';

export type { VmWorkflowDeps } from './vm-host';

export function vmWorkflows(deps: VmWorkflowDeps): Workflow<VmContext>[] {
  const { db } = deps;
  const {
    tx,
    vmOf,
    agentOf,
    mustAgent,
    rootVolume,
    keyOf,
    refs,
    eraseVolume,
    startOnHost,
    stopOnHost,
  } = vmHost(deps);
  const { releaseIdleSegments } = hostSegments(deps);

  const create: Workflow<VmContext> = {
    kind: 'vm.create',
    context,
    steps: [
      {
        name: 'place',
        async run(c) {
          const vm = await vmOf(c);
          const { flavor, nics } = await refs(vm, c.tenantId);
          const claim = await claimPlacement(db, {
            vmId: vm.id,
            request: placementRequestOf(flavor, nics),
            options: { weigher: 'spread' },
          });
          if (!claim.ok)
            throw new StepRefused(
              `No host can run this VM: ${claim.detail}.`,
              ErrorCode.PLACEMENT_NO_VALID_HOST,
            );
        },
        // The first step, so its undo runs last: everything on the host is gone by now. An undone
        // create leaves no VM behind: the row goes (its MCS pair, MAC and IP with it) and its
        // quota is given back, in one transaction under the VM's row lock, so a compensation run
        // twice gives back once. The tenant reads why on the failed operation.
        async undo(c) {
          await tx(`vm ${c.vmId}: release placement`, (t) => releasePlacement(t, c.vmId));
          await tx(`vm ${c.vmId}: undo create`, async (t) => {
            const vm = await getVm(t, {
              tenantId: c.tenantId,
              id: c.vmId,
              includeDeleted: true,
              forUpdate: true,
            });
            if (!vm) return;
            const flavor = await getFlavor(t, { id: vm.flavorId });
            if (vm.desiredState !== 'deleted')
              await updateVm(t, {
                tenantId: c.tenantId,
                id: vm.id,
                set: { desiredState: 'deleted' },
              });
            await removeDeletedVm(t, { tenantId: c.tenantId, id: vm.id });
            // A VM the tenant deleted meanwhile had its quota given back by that delete's accept.
            if (flavor && vm.desiredState !== 'deleted')
              await giveBackQuota(
                t,
                c.tenantId,
                vmFootprint({
                  vcpus: flavor.vcpus,
                  ramMiB: flavor.ramMib,
                  diskGiB: flavor.diskGib,
                }),
              );
          });
        },
      },
      {
        name: 'image',
        async run(c) {
          const vm = await vmOf(c);
          const { image } = await refs(vm, c.tenantId);
          await (
            await mustAgent(vm)
          ).ensureImage({
            operationId: c.op.id,
            checksum: image.checksum,
            format: image.format,
          });
        },
      },
      {
        name: 'volume',
        async run(c) {
          const vm = await vmOf(c);
          const { flavor, image } = await refs(vm, c.tenantId);
          let root = await rootVolume(c);
          if (!root) {
            // The key is made and wrapped here, inside the step: it never enters job data.
            const id = crypto.randomUUID();
            const wrapped = wrapVolumeKey(deps.masterKey, {
              tenantId: c.tenantId,
              volumeId: id,
              key: newVolumeKey(),
            });
            root = await tx(`vm ${c.vmId}: root volume`, (t) =>
              insertVolume(t, {
                id,
                tenantId: c.tenantId,
                name: `root-${c.vmId}`,
                sizeGib: Math.max(1, flavor.diskGib),
                vmId: c.vmId,
                hostId: vm.hostId,
                status: 'pending',
                wrappedKey: wrapped,
              }),
            );
          }
          await (
            await mustAgent(vm)
          ).ensureVolume({
            operationId: c.op.id,
            volumeId: root.id,
            sizeBytes: Math.max(root.sizeGib * GiB, image.sizeBytes),
            base: { checksum: image.checksum, format: image.format },
            key: keyOf(root),
          });
          await tx(`volume ${root.id}: attached`, (t) =>
            updateVolume(t, { tenantId: c.tenantId, id: root.id, set: { status: 'attached' } }),
          );
        },
        async undo(c) {
          const root = await rootVolume(c);
          if (root) await eraseVolume(c, await agentOf(await vmOf(c)), root);
        },
      },
      {
        name: 'segment',
        // A segment is shared by the network's VMs on this host: the undo removes it only where
        // no other VM there uses it (host-segments.ts).
        undo: releaseIdleSegments,
        async run(c) {
          const vm = await vmOf(c);
          const agent = await mustAgent(vm);
          for (const { network } of (await refs(vm, c.tenantId)).nics)
            await agent.ensureSegment({
              operationId: c.op.id,
              segment: { type: network.segmentType, id: network.segmentId },
            });
        },
      },
      {
        name: 'define-start',
        run: startOnHost,
        async undo(c) {
          const vm = await vmOf(c);
          await (await agentOf(vm))?.destroy(c.op.id, vm.id);
        },
      },
    ],
  };

  const remove: Workflow<VmContext> = {
    kind: 'vm.delete',
    context,
    steps: [
      {
        name: 'destroy',
        async run(c) {
          const vm = await vmOf(c);
          await (await agentOf(vm))?.destroy(c.op.id, vm.id);
          await tx(`vm ${vm.id}: observed`, (t) =>
            updateVm(t, { tenantId: c.tenantId, id: vm.id, set: { observedState: 'deleted' } }),
          );
        },
      },
      {
        name: 'volumes',
        async run(c) {
          const vm = await vmOf(c);
          const agent = await agentOf(vm);
          const rows = await tx(`vm ${c.vmId}: volumes`, (t) =>
            volumesOfVm(t, { tenantId: c.tenantId, vmId: c.vmId }),
          );
          // Only the VM's own root volume is erased: a tenant's data volumes outlive the VM and
          // are available again (their file stays on this host, where they live).
          for (const v of rows)
            if (v.name === `root-${c.vmId}`) await eraseVolume(c, agent, v);
            else
              await tx(`volume ${v.id}: detached by vm delete`, (t) =>
                updateVolume(t, {
                  tenantId: c.tenantId,
                  id: v.id,
                  set: { vmId: null, status: 'available' },
                }),
              );
        },
      },
      // After destroy (the domain's taps are gone) and before remove (the NICs say which
      // segments): the host's bridges no other VM there uses go with this VM.
      { name: 'segments', run: releaseIdleSegments },
      {
        name: 'remove',
        // Its snapshots lived inside the disks the `volumes` step erased: their rows go with the
        // VM's, and the quota they still held comes back, in the same transaction (so once).
        async run(c) {
          await tx(`vm ${c.vmId}: remove`, async (t) => {
            const snaps = await removeSnapshotsOfVm(t, { tenantId: c.tenantId, vmId: c.vmId });
            if (snaps.charged > 0) await giveBackQuota(t, c.tenantId, { snapshots: snaps.charged });
            await removeDeletedVm(t, { tenantId: c.tenantId, id: c.vmId });
          });
        },
      },
    ],
  };

  const power: Workflow<VmContext>[] = [
    { kind: 'vm.start', context, steps: [{ name: 'start', run: startOnHost }] },
    { kind: 'vm.stop', context, steps: [{ name: 'stop', run: stopOnHost(false) }] },
    { kind: 'vm.force_off', context, steps: [{ name: 'force-off', run: stopOnHost(true) }] },
    // A cold reboot: power off (ACPI, forced after the timeout), then start with the keys
    // re-sent. The port has no in-guest reboot, and this also applies a changed definition.
    {
      kind: 'vm.reboot',
      context,
      steps: [
        { name: 'stop', run: stopOnHost(false) },
        { name: 'start', run: startOnHost },
      ],
    },
  ];

  return [create, remove, ...power];
}
