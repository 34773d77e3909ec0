import { byIdInput, isolationReportSchema, vmIsolationSchema } from '@palisade/contracts';
import { getIsolationReport, getVm, nicsOf, withTenant } from '@palisade/db';
import { checkIsolation } from '@palisade/domain';
import { notFound } from '../../../resources/errors';
import { tenantProcedure } from '../../trpc';
import { usableFlavorOrAny } from './refs';
import { hostAddress } from './to-dto';

/**
 * A VM's isolation, as its host last measured it (right after the VM last started): the sVirt
 * label from the live XML, the CPU quota from cgroupfs, the tap's bridge and bound filter, and
 * every disk's encryption from `qemu-img info` — each compared with what the VM's spec asks.
 * Another tenant's VM is not found.
 */
export const isolation = tenantProcedure('vm.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/vms/{id}/isolation',
      protect: true,
      tags: ['vms'],
      summary: "A VM's isolation report, measured on its host and checked against its spec",
    },
  })
  .input(byIdInput)
  .output(vmIsolationSchema)
  .query(({ ctx, input }) =>
    withTenant(ctx.db, ctx.tenant.id, async (tx) => {
      const tenantId = ctx.tenant.id;
      const vm = await getVm(tx, { tenantId, id: input.id });
      if (!vm) throw notFound('VM', input.id);
      const row = await getIsolationReport(tx, { tenantId, vmId: vm.id });
      const flavor = await usableFlavorOrAny(tx, vm.flavorId);
      const nics = await nicsOf(tx, { tenantId, vmIds: [vm.id] });
      // Stored as the agent sent it; parsed again so a report of an older agent that no longer
      // fits the contract reads as unknown instead of breaking the answer.
      const parsed = isolationReportSchema.safeParse(row?.report);
      const report = parsed.success ? parsed.data : null;
      const weakenings = (row?.weakenings ?? []) as { mechanism: string; reason: string }[];
      const { verdict, checks } = checkIsolation(
        {
          mcs: vm.mcsC1 === null || vm.mcsC2 === null ? null : { c1: vm.mcsC1, c2: vm.mcsC2 },
          cpu: { quotaUs: flavor.cpuQuotaUs ?? null, periodUs: flavor.cpuPeriodUs },
          // The rate the worker asks the host for (vm-host.ts): the flavor's kbit/s as KiB/s.
          nics: nics.map((n) => ({
            mac: n.mac,
            ip: hostAddress(n.ip),
            averageKBps: Math.max(1, Math.floor((flavor.netAverageKbps ?? 1_000_000) / 8)),
          })),
        },
        report,
        weakenings,
      );
      return {
        vmId: vm.id,
        measuredAt: row?.measuredAt?.toISOString() ?? null,
        verdict,
        checks,
        weakenings,
        error:
          row?.error ??
          (row && !parsed.success ? 'the stored report does not match this version' : null) ??
          (row ? null : 'not measured yet: the VM has not started since it was created'),
        report,
      };
    }),
  );
