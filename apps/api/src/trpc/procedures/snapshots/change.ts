/** Reverting and deleting a snapshot: both act on the VM's disks, so both lock the VM. */
import type { z } from 'zod';
import type { snapshotAcceptedSchema } from '@palisade/contracts';
import { getSnapshot, type SnapshotRow, type Tx } from '@palisade/db';
import { accept } from '../../../resources/accept';
import { notFound } from '../../../resources/errors';
import type { TrpcContext } from '../../context';
import type { TenantScope } from '../../trpc';
import { lockVmFor } from '../vms/action';
import { toSnapshot } from './to-dto';

type Ctx = TrpcContext & { principal: NonNullable<TrpcContext['principal']>; tenant: TenantScope };

export function snapshotChange(
  ctx: Ctx,
  kind: string,
  input: { id: string; wait?: boolean; waitSeconds?: number },
  apply: (tx: Tx, snapshot: SnapshotRow) => Promise<void>,
): Promise<z.infer<typeof snapshotAcceptedSchema>> {
  const tenantId = ctx.tenant.id;
  return accept(
    ctx,
    {
      kind,
      targetType: 'vm',
      input,
      run: async (tx) => {
        const snapshot = await getSnapshot(tx, { tenantId, id: input.id, forUpdate: true });
        if (!snapshot) throw notFound('snapshot', input.id);
        const vm = await lockVmFor(tx, tenantId, snapshot.vmId, 'snapshot');
        await apply(tx, snapshot);
        return { targetId: vm.id, audit: { snapshotId: snapshot.id, name: snapshot.name } };
      },
      view: async (tx) => {
        const row = await getSnapshot(tx, { tenantId, id: input.id, includeDeleted: true });
        if (!row) throw notFound('snapshot', input.id);
        return { snapshot: toSnapshot(row) };
      },
    },
    input,
  );
}
