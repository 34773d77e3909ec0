import { createJoinTokenInput, joinTokenSchema } from '@palisade/contracts';
import { createHostJoinToken } from '../../../hosts/join-tokens';
import { auditOf } from '../../audit';
import { platformProcedure } from '../../trpc';

/**
 * A one-time join token for a host (operators). The host row is created in state `enrolling` (or
 * an existing host is re-enrolled). The token is returned here ONCE; only its hash is stored. The
 * CA fingerprint goes with it: the agent pins it before it sends the token anywhere.
 */
export const createJoinToken = platformProcedure('platform.host.write')
  .meta({
    openapi: {
      method: 'POST',
      path: '/admin/hosts/join-tokens',
      protect: true,
      tags: ['admin: hosts'],
      summary: 'Create a one-time join token for a host',
    },
  })
  .input(createJoinTokenInput)
  .output(joinTokenSchema)
  .mutation(({ ctx, input }) => {
    // Fails with enrolment.disabled before anything is written when the CA is not configured.
    const caFingerprint = ctx.pki.ca().fingerprint;
    return createHostJoinToken(ctx.db, input, {
      caFingerprint,
      createdBy: ctx.principal.subject,
      auditFor: (hostId, details) =>
        auditOf(
          { ...ctx, tenant: null },
          'host.join_token.create',
          { type: 'host', id: hostId },
          details,
        ),
    });
  });
