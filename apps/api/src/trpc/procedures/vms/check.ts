import { AppError, vmCheckInput, vmCheckOutput } from '@palisade/contracts';
import { getNetwork, getVm, ipsInUse, withTenant, type Tx } from '@palisade/db';
import { allocateIpv4, ipv4Subnet, resourceDelta } from '@palisade/domain';
import { notFound } from '../../../resources/errors';
import { wouldFit } from '../../../resources/ledger';
import { tenantProcedure } from '../../trpc';
import { lockVmFor } from './action';
import { footprintOf, usableFlavor, usableFlavorOrAny } from './refs';

type Reason = { code: string; message: string };

/** Runs `step`; an AppError becomes a reason, anything else is a real failure. */
async function reasonOf(step: () => Promise<unknown>): Promise<Reason | null> {
  try {
    await step();
    return null;
  } catch (e) {
    if (e instanceof AppError) return { code: e.code, message: e.userMessage ?? e.message };
    throw e;
  }
}

/**
 * Dry run of a create or a resize: would it be accepted now, and if not, every reason (the same
 * codes and words the real request would answer). Nothing is locked or changed, so the answer
 * can be overtaken by a concurrent request; the real request decides under the ledger lock.
 */
export const check = tenantProcedure('vm.read')
  .meta({
    openapi: {
      method: 'POST',
      path: '/vms/check',
      protect: true,
      tags: ['vms'],
      summary: 'Check whether a create or resize would be accepted (dry run)',
    },
  })
  .input(vmCheckInput)
  .output(vmCheckOutput)
  .mutation(({ ctx, input }) => {
    const tenantId = ctx.tenant.id;
    // Nothing here writes; lockVmFor's row lock ends with this short transaction.
    return withTenant(ctx.db, tenantId, async (tx: Tx) => {
      const reasons: Reason[] = [];
      const add = (r: Reason | null) => r && reasons.push(r);
      if (input.action === 'create') {
        add(
          await reasonOf(async () => {
            const flavor = await usableFlavor(tx, input.flavorId);
            const fit = await wouldFit(tx, tenantId, footprintOf(flavor));
            if (!fit.ok)
              for (const s of fit.shortfalls)
                reasons.push({ code: 'quota.exceeded', message: s.message });
          }),
        );
        if (input.networkId) {
          // A network that is not the tenant's is a bad request, not a reason: 404 as everywhere.
          const network = await getNetwork(tx, { tenantId, id: input.networkId });
          if (!network) throw notFound('network', input.networkId, 'networkId');
          add(
            await reasonOf(async () => {
              const subnet = ipv4Subnet(network.cidr, network.gateway);
              const ip =
                subnet.ok &&
                allocateIpv4(subnet.value, await ipsInUse(tx, { tenantId, networkId: network.id }));
              if (ip && !ip.ok)
                reasons.push({ code: 'allocation.exhausted', message: `networkId: ${ip.detail}` });
            }),
          );
        }
      } else {
        if (!(await getVm(tx, { tenantId, id: input.id! }))) throw notFound('VM', input.id!);
        add(
          await reasonOf(async () => {
            const vm = await lockVmFor(tx, tenantId, input.id!, 'resize');
            const from = await usableFlavorOrAny(tx, vm.flavorId);
            const to = await usableFlavor(tx, input.flavorId);
            const fit = await wouldFit(
              tx,
              tenantId,
              resourceDelta(footprintOf(from), footprintOf(to)).grow,
            );
            if (!fit.ok)
              for (const s of fit.shortfalls)
                reasons.push({ code: 'quota.exceeded', message: s.message });
          }),
        );
      }
      return { allowed: reasons.length === 0, reasons };
    });
  });
