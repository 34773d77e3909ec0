import {
  AppError,
  complianceReportSchema,
  ErrorCode,
  hostByIdInput,
  hostDetailSchema,
} from '@palisade/contracts';
import { getHostById, listVmsOnHost, withPlatform } from '@palisade/db';
import { platformProcedure } from '../../trpc';
import { toHost } from './to-dto';

/**
 * One host as the control plane last heard from it (operators): its state, the capacity, security
 * models, acceleration and compliance its agent's last heartbeat reported, and every VM placed on
 * it with its observed state (`unknown` while the host is silent).
 */
export const get = platformProcedure('platform.host.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/admin/hosts/{id}',
      protect: true,
      tags: ['admin: hosts'],
      summary: 'Get a host with its last reported inventory and its VMs',
    },
  })
  .input(hostByIdInput)
  .output(hostDetailSchema)
  .query(({ ctx, input }) =>
    withPlatform(ctx.db, `read host ${input.id}`, async (tx) => {
      const host = await getHostById(tx, { id: input.id });
      if (!host)
        throw new AppError(ErrorCode.NOT_FOUND, `host ${input.id}`, {
          userMessage: 'Host not found.',
        });
      const compliance = complianceReportSchema.safeParse(host.compliance);
      return {
        ...toHost(host),
        cpus: host.cpus,
        ramMib: host.ramMib,
        diskGib: host.diskGib,
        securityModels: host.securityModels,
        acceleration: host.acceleration,
        allowWeakerIsolation: host.allowWeakerIsolation,
        compliance: compliance.success ? compliance.data : null,
        vms: await listVmsOnHost(tx, { hostId: host.id }),
      };
    }),
  );
