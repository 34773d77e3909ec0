/**
 * Renewal: a host presents its current certificate (mTLS) and a CSR, and gets a new certificate for
 * the same name. Only the certificate the control plane last issued to that host is accepted, so
 * a certificate that was renewed or replaced by re-enrolment stops working here at once.
 */
import type { PeerCertificate } from 'node:tls';
import {
  AppError,
  CERT_OU,
  ErrorCode,
  type HostCertificate,
  type RenewRequest,
} from '@palisade/contracts';
import {
  getHostByName,
  recordAudit,
  recordHostCertificate,
  withPlatform,
  type Db,
} from '@palisade/db';
import type { PkiService } from '../pki/pki.service';
import { publicKeyOfCsr, sha256Hex } from '../pki/x509';
import type { GatewayRequestContext } from './enrol';

export interface ClientCertificate {
  /** True when the TLS layer verified the chain against the Palisade CA. */
  authorized: boolean;
  authorizationError: string | undefined;
  peer: PeerCertificate | null;
}

const rejected = (why: string) =>
  new AppError(ErrorCode.AGENT_CERT_REJECTED, why, {
    userMessage: `Client certificate rejected: ${why}.`,
  });

/**
 * The host a verified client certificate names, and the certificate's fingerprint. The caller
 * must still compare the fingerprint with the host row: only the host's current certificate
 * speaks for it.
 */
export function hostCertificateOf(client: ClientCertificate): {
  name: string;
  fingerprint: string;
} {
  if (!client.peer?.raw) throw rejected('no client certificate was presented');
  if (!client.authorized) throw rejected(String(client.authorizationError ?? 'not trusted'));
  const ou = client.peer.subject?.OU;
  const name = client.peer.subject?.CN;
  if (ou !== CERT_OU.host || typeof name !== 'string') throw rejected('not a host certificate');
  return { name, fingerprint: sha256Hex(client.peer.raw) };
}

export const certificateRejected = rejected;

export async function renewHostCertificate(
  deps: { db: Db; pki: PkiService },
  client: ClientCertificate,
  input: RenewRequest,
  ctx: GatewayRequestContext,
): Promise<HostCertificate> {
  const { name, fingerprint: presented } = hostCertificateOf(client);
  const publicKey = await publicKeyOfCsr(input.csr);
  return withPlatform(deps.db, `renew the certificate of host ${name}`, async (tx) => {
    const host = await getHostByName(tx, { name });
    if (!host || host.certFingerprint !== presented) {
      throw rejected('this certificate is no longer the one issued to the host');
    }
    const agentHost = host.agentUrl
      ? new URL(host.agentUrl).hostname.replace(/^\[|\]$/g, '')
      : undefined;
    const issued = await deps.pki.issueHostCertificate({
      hostName: host.name,
      publicKey,
      agentHost,
    });
    await recordHostCertificate(tx, {
      id: host.id,
      fingerprint: issued.fingerprint,
      expiresAt: issued.notAfter,
    });
    await recordAudit(tx, {
      tenantId: null,
      actorType: 'system',
      actorId: `host:${host.name}`,
      actorName: host.name,
      action: 'host.certificate.renew',
      targetType: 'host',
      targetId: host.id,
      requestId: ctx.requestId,
      sourceIp: ctx.sourceIp,
      outcome: 'success',
      details: {
        previousFingerprint: presented,
        certFingerprint: issued.fingerprint,
        notAfter: issued.notAfter.toISOString(),
      },
    });
    return {
      hostId: host.id,
      hostName: host.name,
      certificate: issued.pem,
      caChain: deps.pki.ca().certPem,
      notAfter: issued.notAfter.toISOString(),
    };
  });
}
