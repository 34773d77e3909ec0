import { snapshotAcceptedSchema, snapshotActionInput } from '@palisade/contracts';
import { ACCEPTED_OPENAPI } from '../../../resources/accept';
import { invalidState } from '../../../resources/errors';
import { tenantProcedure } from '../../trpc';
import { snapshotChange } from './change';

/** Reverts a VM's disks to an available snapshot. */
export const revert = tenantProcedure('snapshot.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/snapshots/{id}/revert',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['snapshots'],
      summary: 'Revert a VM to a snapshot (202)',
    },
  })
  .input(snapshotActionInput)
  .output(snapshotAcceptedSchema)
  .mutation(({ ctx, input }) =>
    snapshotChange(ctx, 'snapshot.revert', input, async (_tx, snapshot) => {
      if (snapshot.status !== 'available')
        throw invalidState(`snapshot ${snapshot.name} is ${snapshot.status}, not available`);
    }),
  );
