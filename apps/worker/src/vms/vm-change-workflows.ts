/**
 * The `vm.resize` and `vm.rebuild` workflows: changing what a VM is made of, on the host it holds.
 *
 * vm.resize (a stopped VM; the API has already switched `flavor_id`, bumped `spec_revision`,
 * moved the quota ledger by the difference and remembered the old flavor in
 * `resize_from_flavor_id`):
 *   claim (re-check, under the host's row lock, that the host holds the VM at the new size; the
 *   claim itself is the VM's flavor on its host, so it already follows the new flavor) ->
 *   grow-root (the root volume grows when the flavor's disk did; it never shrinks) ->
 *   commit (forget the old flavor). Nothing on the host is redefined here: every start defines
 *   the domain from the current flavor and spec revision (`ensure-running`), so the next start
 *   runs the new size. Compensation puts the old flavor back and gives the quota difference back,
 *   both in one transaction guarded by `resize_from_flavor_id`, so exactly once.
 *
 * vm.rebuild (running, stopped or in error; the API has switched `image_id`):
 *   stop (forced: the disk is about to be erased) -> erase (crypto-erase: the wrapped key first,
 *   then the host's secret and file) -> reimage (a new key, a new LUKS qcow2 on the image, same
 *   volume ID and path) -> start (only if the tenant wants it running). The VM keeps its row, so
 *   its MAC, IP and MCS pair. A failed rebuild cannot bring the erased disk back: it leaves the VM
 *   in `error` (rebuild again, or delete), or, when nothing was erased yet, in the state its host
 *   reports.
 *
 * Must never: put a key in job data, a log or an error; shrink a volume; give quota back twice.
 */
import { ErrorCode } from '@palisade/contracts';
import {
  getFlavor,
  getVm,
  insertVolume,
  listSnapshots,
  lockUsage,
  recheckHeldHost,
  updateVm,
  updateVolume,
  writeUsage,
  type FlavorRow,
} from '@palisade/db';
import { applyDelta, resourceDelta, vmFootprint } from '@palisade/domain';
import { StepRefused, type Workflow } from '../operations/engine';
import {
  context,
  GiB,
  vmHost,
  type VmContext,
  type VmWorkflowDeps,
  placementRequestOf,
} from './vm-host';
import { newVolumeKey, wrapVolumeKey } from './volume-keys';

const footprint = (f: FlavorRow) =>
  vmFootprint({ vcpus: f.vcpus, ramMiB: f.ramMib, diskGiB: f.diskGib });

export function vmChangeWorkflows(deps: VmWorkflowDeps): Workflow<VmContext>[] {
  const { db } = deps;
  const { tx, vmOf, agentOf, mustAgent, rootVolume, keyOf, refs, startOnHost } = vmHost(deps);

  /** Puts the flavor the resize came from back, with the quota difference, once: the marker
   *  column is cleared in the same transaction, so a repeat finds nothing to undo. */
  async function restoreFlavor(c: VmContext): Promise<void> {
    await tx(`vm ${c.vmId}: undo resize`, async (t) => {
      // The VM row first, then the ledger: the API's order for VM changes (ledger.ts).
      const vm = await getVm(t, {
        tenantId: c.tenantId,
        id: c.vmId,
        forUpdate: true,
        includeDeleted: true,
      });
      if (!vm?.resizeFromFlavorId) return;
      const from = await getFlavor(t, { id: vm.resizeFromFlavorId });
      const to = await getFlavor(t, { id: vm.flavorId });
      if (!from || !to) throw new Error(`vm ${vm.id}: flavor vanished (flavors are restricted)`);
      const { usage } = await lockUsage(t, { tenantId: c.tenantId });
      // Not checked against the limits: the VM really is of the old flavor again.
      await writeUsage(t, {
        tenantId: c.tenantId,
        usage: applyDelta(usage, resourceDelta(footprint(to), footprint(from))),
      });
      await updateVm(t, {
        tenantId: c.tenantId,
        id: vm.id,
        // A new revision, never an old one: the next start defines the old size again.
        set: { flavorId: from.id, resizeFromFlavorId: null, specRevision: vm.specRevision + 1 },
      });
    });
  }

  const resize: Workflow<VmContext> = {
    kind: 'vm.resize',
    context,
    steps: [
      {
        name: 'claim',
        async run(c) {
          const vm = await vmOf(c);
          const { flavor, nics } = await refs(vm, c.tenantId);
          const fit = await recheckHeldHost(db, {
            vmId: vm.id,
            request: placementRequestOf(flavor, nics),
            options: { weigher: 'spread' },
          });
          if (!fit.ok)
            throw new StepRefused(
              `The VM's host ${fit.hostName} cannot hold flavor ${flavor.name}: ${fit.rejection.detail}. The VM keeps its previous flavor.`,
              ErrorCode.PLACEMENT_NO_VALID_HOST,
            );
        },
        undo: restoreFlavor,
      },
      {
        name: 'grow-root',
        async run(c) {
          const vm = await vmOf(c);
          const { flavor, image } = await refs(vm, c.tenantId);
          const root = await rootVolume(c);
          // Never shrink: a smaller flavor keeps the disk it has (the guest's file system is on it).
          if (!root || flavor.diskGib <= root.sizeGib) return;
          const agent = await agentOf(vm);
          // As at create: the image may be larger than the flavor's disk.
          const sizeBytes = Math.max(flavor.diskGib * GiB, image.sizeBytes);
          await agent?.resizeVolume({
            operationId: c.op.id,
            volumeId: root.id,
            sizeBytes,
            key: keyOf(root),
          });
          await tx(`volume ${root.id}: grown`, (t) =>
            updateVolume(t, {
              tenantId: c.tenantId,
              id: root.id,
              set: { sizeGib: flavor.diskGib },
            }),
          );
        },
      },
      {
        name: 'commit',
        async run(c) {
          await tx(`vm ${c.vmId}: resize done`, (t) =>
            updateVm(t, { tenantId: c.tenantId, id: c.vmId, set: { resizeFromFlavorId: null } }),
          );
        },
      },
    ],
  };

  /** The VM's observed state after a failed rebuild: its host's word while the disk is intact;
   *  `error` once the disk was erased (only another rebuild or a delete helps then). */
  async function observeAfterFailedRebuild(c: VmContext): Promise<void> {
    const vm = await vmOf(c);
    const root = await rootVolume(c);
    let state: 'running' | 'stopped' | 'error' | 'unknown' = 'error';
    if (root?.wrappedKey && root.status === 'attached') {
      const onHost = await (await agentOf(vm))?.get(vm.id).catch(() => undefined);
      state =
        onHost === undefined
          ? 'unknown'
          : onHost?.state === 'running'
            ? 'running'
            : onHost?.state === 'shutoff'
              ? 'stopped'
              : 'error';
    }
    await tx(`vm ${vm.id}: observed after failed rebuild`, (t) =>
      updateVm(t, { tenantId: c.tenantId, id: vm.id, set: { observedState: state } }),
    );
  }

  const rebuild: Workflow<VmContext> = {
    kind: 'vm.rebuild',
    context,
    steps: [
      {
        name: 'stop',
        async run(c) {
          const vm = await vmOf(c);
          if (!vm.hostId)
            throw new StepRefused(
              'The VM holds no host (its create did not finish); delete it and create it again.',
              ErrorCode.INVALID_STATE,
            );
          // Internal qcow2 snapshots live in the disk a rebuild erases: refuse before touching it.
          const snaps = await tx(`vm ${vm.id}: snapshots`, (t) =>
            listSnapshots(t, { tenantId: c.tenantId, vmId: vm.id, limit: 1 }),
          );
          if (snaps.items.length > 0)
            throw new StepRefused(
              'The VM has snapshots, which a rebuild would destroy; delete them first.',
              ErrorCode.INVALID_STATE,
            );
          const agent = await mustAgent(vm);
          const onHost = await agent.get(vm.id);
          if (onHost && onHost.state !== 'shutoff') {
            const status = await agent.stop(c.op.id, vm.id, true);
            if (status.state !== 'shutoff')
              throw new Error(`vm ${vm.id} is ${status.state} on its host after force-off`);
          }
          await tx(`vm ${vm.id}: building`, (t) =>
            updateVm(t, { tenantId: c.tenantId, id: vm.id, set: { observedState: 'building' } }),
          );
        },
        undo: observeAfterFailedRebuild,
      },
      {
        name: 'erase',
        async run(c) {
          const root = await rootVolume(c);
          if (!root) return;
          // The wrapped key first: from then on nothing can open the old disk, whatever follows.
          await tx(`volume ${root.id}: crypto-erase for rebuild`, (t) =>
            updateVolume(t, {
              tenantId: c.tenantId,
              id: root.id,
              set: { wrappedKey: null, status: 'deleting' },
            }),
          );
          await (await mustAgent(await vmOf(c))).deleteVolume(c.op.id, root.id);
        },
      },
      {
        name: 'reimage',
        async run(c) {
          const vm = await vmOf(c);
          const { flavor, image } = await refs(vm, c.tenantId);
          const agent = await mustAgent(vm);
          let root = await rootVolume(c);
          if (!root || !root.wrappedKey) {
            // The new key is made and wrapped here, inside the step: it never enters job data.
            const id = root?.id ?? crypto.randomUUID();
            const wrappedKey = wrapVolumeKey(deps.masterKey, {
              tenantId: c.tenantId,
              volumeId: id,
              key: newVolumeKey(),
            });
            root = await tx(`vm ${c.vmId}: new root key`, (t) =>
              root
                ? updateVolume(t, {
                    tenantId: c.tenantId,
                    id,
                    set: { wrappedKey, status: 'pending' },
                  })
                : insertVolume(t, {
                    id,
                    tenantId: c.tenantId,
                    name: `root-${c.vmId}`,
                    sizeGib: Math.max(1, flavor.diskGib),
                    vmId: c.vmId,
                    hostId: vm.hostId,
                    status: 'pending',
                    wrappedKey,
                  }),
            );
            if (!root) throw new Error(`vm ${c.vmId}: root volume vanished`);
          }
          // With `base`, the agent verifies the image by checksum before it builds on it.
          await agent.ensureVolume({
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
      },
      {
        name: 'start',
        async run(c) {
          const vm = await vmOf(c);
          if (vm.desiredState === 'running') return startOnHost(c);
          await tx(`vm ${vm.id}: rebuilt, stopped`, (t) =>
            updateVm(t, { tenantId: c.tenantId, id: vm.id, set: { observedState: 'stopped' } }),
          );
        },
      },
    ],
  };

  return [resize, rebuild];
}
