/**
 * Creating a join token, shared by the operator procedure and the `host:join-token` CLI (which an
 * operator uses for the first host, and `npm run dev` for its local agent). The token is returned
 * once; only the hash of its secret is stored, with the audit event, in one transaction.
 */
import type { CreateJoinTokenInput, JoinToken } from '@palisade/contracts';
import {
  type AuditEventInput,
  type Db,
  ensureHost,
  insertJoinToken,
  recordAudit,
  withPlatform,
} from '@palisade/db';
import { formatToken, hashSecret, newSecret } from '../agent-gateway/join-token';

export async function createHostJoinToken(
  db: Db,
  input: CreateJoinTokenInput,
  p: {
    caFingerprint: string;
    createdBy: string;
    /** The audit event `host.join_token.create` for the token's host, from whoever asked. */
    auditFor: (hostId: string, details: Record<string, unknown>) => AuditEventInput;
  },
): Promise<JoinToken> {
  const secret = newSecret();
  const expiresAt = new Date(Date.now() + input.ttlMinutes * 60_000);
  const { host, tokenId } = await withPlatform(
    db,
    `create a join token for host ${input.hostName}`,
    async (tx) => {
      const host = await ensureHost(tx, { name: input.hostName });
      const token = await insertJoinToken(tx, {
        hostId: host.id,
        secretHash: hashSecret(secret),
        expiresAt,
        createdBy: p.createdBy,
      });
      await recordAudit(
        tx,
        p.auditFor(host.id, {
          hostName: host.name,
          joinTokenId: token.id,
          expiresAt: expiresAt.toISOString(),
          reenrol: host.certFingerprint !== null,
        }),
      );
      return { host, tokenId: token.id };
    },
  );
  return {
    token: formatToken(tokenId, secret),
    hostId: host.id,
    hostName: host.name,
    expiresAt: expiresAt.toISOString(),
    caFingerprint: p.caFingerprint,
  };
}
