import { AppError, complianceReportSchema, ErrorCode, hostByIdInput } from '@palisade/contracts';
import { getHostById, withPlatform } from '@palisade/db';
import { getFromAgent } from '../../../hosts/agent-client';
import { platformProcedure } from '../../trpc';

/**
 * A host's compliance, asked of its agent now over mTLS (operators). Read-only: recording it on
 * the host row belongs to the monitoring job, which will call the same client.
 */
export const compliance = platformProcedure('platform.host.read')
  .meta({
    openapi: {
      method: 'GET',
      path: '/admin/hosts/{id}/compliance',
      protect: true,
      tags: ['admin: hosts'],
      summary: "Ask a host's agent for its compliance report",
    },
  })
  .input(hostByIdInput)
  .output(complianceReportSchema)
  .query(async ({ ctx, input }) => {
    const host = await withPlatform(ctx.db, `read host ${input.id}`, (tx) =>
      getHostById(tx, { id: input.id }),
    );
    if (!host) {
      throw new AppError(ErrorCode.NOT_FOUND, `host ${input.id}`, {
        userMessage: 'Host not found.',
      });
    }
    if (!host.agentUrl || !host.certFingerprint) {
      throw new AppError(ErrorCode.HOST_NOT_ENROLLED, `host ${host.name} has no agent yet`, {
        userMessage: `Host ${host.name} has not enrolled yet: start its agent with a join token.`,
      });
    }
    return getFromAgent(
      ctx.pki.controlPlaneTls(),
      { name: host.name, agentUrl: host.agentUrl },
      '/v1/host/compliance',
      complianceReportSchema,
    );
  });
