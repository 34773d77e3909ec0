import {
  AppError,
  ErrorCode,
  networkAcceptedSchema,
  networkDeleteInput,
} from '@palisade/contracts';
import {
  activeOperationOf,
  countNicsOnNetwork,
  getNetwork,
  lockUsage,
  setNetworkStatus,
} from '@palisade/db';
import { accept, ACCEPTED_OPENAPI } from '../../../resources/accept';
import { busy, notFound } from '../../../resources/errors';
import { release } from '../../../resources/ledger';
import { tenantProcedure } from '../../trpc';
import { networkView } from './to-dto';

/** Deletes a network; refused while any VM still has a NIC on it. */
export const remove = tenantProcedure('network.write')
  .meta({
    openapi: {
      method: 'DELETE',
      path: '/networks/{id}',
      protect: true,
      ...ACCEPTED_OPENAPI,
      tags: ['networks'],
      summary: 'Delete a network (202)',
    },
  })
  .input(networkDeleteInput)
  .output(networkAcceptedSchema)
  .mutation(({ ctx, input }) => {
    const tenantId = ctx.tenant.id;
    return accept(
      ctx,
      {
        kind: 'network.delete',
        targetType: 'network',
        input,
        run: async (tx) => {
          // Ledger first (see ledger.ts, lock order): a VM create holding the ledger key-share
          // locks this network when it inserts its NIC.
          await lockUsage(tx, { tenantId });
          const network = await getNetwork(tx, { tenantId, id: input.id, forUpdate: true });
          if (!network) throw notFound('network', input.id);
          const active = await activeOperationOf(tx, { tenantId, targetId: network.id });
          if (active) throw busy('network', active.kind, active.id);
          const nics = await countNicsOnNetwork(tx, { tenantId, networkId: network.id });
          if (nics > 0)
            throw new AppError(
              ErrorCode.RESOURCE_IN_USE,
              `network ${network.id} has ${nics} NICs`,
              {
                userMessage: `Network ${network.name} still has ${nics} VM interface${nics === 1 ? '' : 's'}; delete those VMs first.`,
                details: { nics },
              },
            );
          await setNetworkStatus(tx, { tenantId, id: network.id, status: 'deleting' });
          await release(tx, tenantId, { networks: 1 });
          return { targetId: network.id, audit: { name: network.name } };
        },
        view: (tx, id) => networkView(tx, tenantId, id),
      },
      input,
    );
  });
