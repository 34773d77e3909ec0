/**
 * Enrolment: a host trades a one-time join token and a CSR for a certificate. The token is checked
 * and consumed, the certificate's fingerprint recorded and the host moved to `up`, and the audit
 * event written, all in one transaction: a token buys exactly one certificate.
 */
import { AppError, ErrorCode, type EnrolRequest, type HostCertificate } from '@palisade/contracts';
import {
  consumeJoinToken,
  getHostById,
  lockJoinToken,
  recordAudit,
  recordHostCertificate,
  withPlatform,
  type Db,
} from '@palisade/db';
import type { PkiService } from '../pki/pki.service';
import { publicKeyOfCsr } from '../pki/x509';
import { NO_ROW_HASH, parseToken, secretMatches } from './join-token';

export interface GatewayRequestContext {
  requestId: string;
  sourceIp: string | undefined;
}

const unknownToken = () =>
  new AppError(ErrorCode.ENROL_TOKEN_UNKNOWN, 'join token unknown or secret mismatch', {
    userMessage: 'token: this join token is not valid.',
    details: { field: 'token' },
  });

export async function enrolHost(
  deps: { db: Db; pki: PkiService },
  input: EnrolRequest,
  ctx: GatewayRequestContext,
): Promise<HostCertificate> {
  const parsed = parseToken(input.token);
  if (!parsed) throw unknownToken();
  const agentHost = new URL(input.agentUrl).hostname.replace(/^\[|\]$/g, '');
  return withPlatform(deps.db, `enrol a host with join token ${parsed.id}`, async (tx) => {
    const token = await lockJoinToken(tx, { id: parsed.id });
    // Compare even when there is no row, so "no such id" and "wrong secret" take the same time.
    const matches = secretMatches(parsed.secret, token?.secretHash ?? NO_ROW_HASH);
    if (!token || !matches) throw unknownToken();
    // Past the secret check, the caller holds the real token: it may learn why it no longer works.
    if (token.usedAt) {
      throw new AppError(ErrorCode.ENROL_TOKEN_USED, `join token ${token.id} already used`, {
        userMessage: `token: this join token was already used at ${token.usedAt.toISOString()}; ask an operator for a new one.`,
        details: { field: 'token' },
      });
    }
    const expired = () =>
      new AppError(ErrorCode.ENROL_TOKEN_EXPIRED, `join token ${token.id} expired`, {
        userMessage: `token: this join token expired at ${token.expiresAt.toISOString()}; ask an operator for a new one.`,
        details: { field: 'token' },
      });
    if (token.expiresAt.getTime() <= Date.now()) throw expired();
    const publicKey = await publicKeyOfCsr(input.csr);
    // The database's clock has the last word on expiry.
    if (!(await consumeJoinToken(tx, { id: token.id }))) throw expired();
    const host = await getHostById(tx, { id: token.hostId });
    const issued = await deps.pki.issueHostCertificate({
      hostName: host!.name,
      publicKey,
      agentHost,
    });
    await recordHostCertificate(tx, {
      id: host!.id,
      fingerprint: issued.fingerprint,
      expiresAt: issued.notAfter,
      agentUrl: input.agentUrl,
    });
    await recordAudit(tx, {
      tenantId: null,
      actorType: 'system',
      actorId: `host:${host!.name}`,
      actorName: host!.name,
      action: 'host.enrol',
      targetType: 'host',
      targetId: host!.id,
      requestId: ctx.requestId,
      sourceIp: ctx.sourceIp,
      outcome: 'success',
      details: {
        joinTokenId: token.id,
        certFingerprint: issued.fingerprint,
        notAfter: issued.notAfter.toISOString(),
        agentUrl: input.agentUrl,
      },
    });
    return {
      hostId: host!.id,
      hostName: host!.name,
      certificate: issued.pem,
      caChain: deps.pki.ca().certPem,
      notAfter: issued.notAfter.toISOString(),
    };
  });
}

/**
 * A refused enrolment leaves a trace (its transaction rolled back): the token's id, never its
 * secret, the reason and the source address, in a transaction of its own.
 */
export async function recordFailedEnrolment(
  db: Db,
  token: string,
  error: AppError,
  ctx: GatewayRequestContext,
): Promise<void> {
  const tokenId = parseToken(token)?.id ?? null;
  await withPlatform(db, 'record a refused host enrolment', (tx) =>
    recordAudit(tx, {
      tenantId: null,
      actorType: 'system',
      actorId: `enrolment:${ctx.sourceIp ?? 'unknown'}`,
      action: 'host.enrol',
      targetType: 'host_join_token',
      targetId: tokenId,
      requestId: ctx.requestId,
      sourceIp: ctx.sourceIp,
      outcome: 'denied',
      details: { code: error.code },
    }),
  );
}
