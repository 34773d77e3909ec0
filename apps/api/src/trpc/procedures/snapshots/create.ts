import { snapshotAcceptedSchema, snapshotCreateInput } from '@palisade/contracts';
import { getSnapshotByName, getVm, insertSnapshot } from '@palisade/db';
import { accept, ACCEPTED_OPENAPI } from '../../../resources/accept';
import { nameConflict, notFound } from '../../../resources/errors';
import { consume } from '../../../resources/ledger';
import { tenantProcedure } from '../../trpc';
import { lockVmFor } from '../vms/action';
import { toSnapshot } from './to-dto';

/**
 * Snapshots a VM's disks. The operation targets the VM, not the snapshot: taking, reverting and
 * deleting snapshots act on the VM's disks, so they queue behind (and block) its lifecycle
 * operations under the same one-operation-per-VM rule.
 */
export const create = tenantProcedure('snapshot.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/snapshots',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['snapshots'],
      summary: 'Snapshot a VM (202)',
    },
  })
  .input(snapshotCreateInput)
  .output(snapshotAcceptedSchema)
  .mutation(({ ctx, input }) => {
    const tenantId = ctx.tenant.id;
    return accept(
      ctx,
      {
        kind: 'snapshot.create',
        targetType: 'vm',
        input,
        run: async (tx) => {
          if (!(await getVm(tx, { tenantId, id: input.vmId })))
            throw notFound('VM', input.vmId, 'vmId');
          const vm = await lockVmFor(tx, tenantId, input.vmId, 'snapshot');
          await consume(tx, tenantId, { snapshots: 1 });
          const row = await tx
            .transaction((sp) => insertSnapshot(sp, { tenantId, vmId: vm.id, name: input.name }))
            .catch((e: unknown) => nameConflict(e, 'snapshots_vm_name', 'snapshot', input.name));
          return { targetId: vm.id, audit: { snapshotId: row.id, name: row.name } };
        },
        // Replays come with the same input (the Idempotency-Key check guarantees it).
        view: async (tx) => {
          const row = await getSnapshotByName(tx, { tenantId, vmId: input.vmId, name: input.name });
          if (!row) throw notFound('snapshot', input.name);
          return { snapshot: toSnapshot(row) };
        },
      },
      input,
    );
  });
