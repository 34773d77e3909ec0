import { createJoinTokenInput, joinTokenSchema } from '@palisade/contracts';
import { ensureHost, insertJoinToken, recordAudit, withPlatform } from '@palisade/db';
import { formatToken, hashSecret, newSecret } from '../../../agent-gateway/join-token';
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
  .mutation(async ({ ctx, input }) => {
    // Fails with enrolment.disabled before anything is written when the CA is not configured.
    const caFingerprint = ctx.pki.ca().fingerprint;
    const secret = newSecret();
    const expiresAt = new Date(Date.now() + input.ttlMinutes * 60_000);
    const { host, tokenId } = await withPlatform(
      ctx.db,
      `create a join token for host ${input.hostName}`,
      async (tx) => {
        const host = await ensureHost(tx, { name: input.hostName });
        const token = await insertJoinToken(tx, {
          hostId: host.id,
          secretHash: hashSecret(secret),
          expiresAt,
          createdBy: ctx.principal.subject,
        });
        await recordAudit(
          tx,
          auditOf(
            { ...ctx, tenant: null },
            'host.join_token.create',
            { type: 'host', id: host.id },
            {
              hostName: host.name,
              joinTokenId: token.id,
              expiresAt: expiresAt.toISOString(),
              reenrol: host.certFingerprint !== null,
            },
          ),
        );
        return { host, tokenId: token.id };
      },
    );
    return {
      token: formatToken(tokenId, secret),
      hostId: host.id,
      hostName: host.name,
      expiresAt: expiresAt.toISOString(),
      caFingerprint,
    };
  });
