import { snapshotAcceptedSchema, snapshotActionInput } from '@palisade/contracts';
import { updateSnapshot } from '@palisade/db';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { release } from '../../../resources/ledger';
import { tenantProcedure } from '../../trpc';
import { snapshotChange } from './change';

/** Deletes a snapshot; its quota is released at once. */
export const remove = tenantProcedure('snapshot.write')
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/snapshots/{id}',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['snapshots'],
      summary: 'Delete a snapshot (202)',
    },
  })
  .input(snapshotActionInput)
  .output(snapshotAcceptedSchema)
  .mutation(({ ctx, input }) =>
    snapshotChange(ctx, 'snapshot.delete', input, async (tx, snapshot) => {
      await updateSnapshot(tx, {
        tenantId: ctx.tenant.id,
        id: snapshot.id,
        set: { status: 'deleting' },
      });
      await release(tx, ctx.tenant.id, { snapshots: 1 });
    }),
  );
