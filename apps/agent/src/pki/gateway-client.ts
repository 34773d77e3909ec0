/**
 * How the agent talks to the control plane's agent gateway. Before enrolment it trusts nothing: it
 * fetches the gateway's certificate chain, keeps the CA only if its SHA-256 is the one the operator
 * gave (AGENT_CA_SHA256), and only then opens a verified connection and sends the join token.
 */
import { createHash, X509Certificate } from 'node:crypto';
import { request } from 'node:https';
import { isIP } from 'node:net';
import {
  checkServerIdentity,
  connect,
  type DetailedPeerCertificate,
  type PeerCertificate,
} from 'node:tls';
import { CERT_OU, type ErrorBody } from '@palisade/contracts';

export class GatewayError extends Error {
  constructor(
    message: string,
    readonly status: number | null,
    readonly body: ErrorBody | null,
    /** Worth trying again later: the gateway was unreachable or failed on its side. */
    readonly retryable = status === null || status >= 500,
  ) {
    super(message);
    this.name = 'GatewayError';
  }
}

/** The CA certificate (PEM) the gateway presents, if its fingerprint is `pin` and it signed the leaf. */
export function fetchPinnedCa(url: string, pin: string): Promise<string> {
  const u = new URL(url);
  return new Promise((resolve, reject) => {
    const socket = connect({
      host: u.hostname,
      port: Number(u.port || 443),
      servername: isIP(u.hostname) ? undefined : u.hostname,
      // Verification happens below, against the pin: there is no trusted CA yet.
      rejectUnauthorized: false,
    });
    socket.setTimeout(15_000, () => socket.destroy(new Error(`${url}: TLS handshake timed out`)));
    socket.once('error', (e) => reject(new GatewayError(`${url}: ${e.message}`, null, null)));
    socket.once('secureConnect', () => {
      const chain: Buffer[] = [];
      let c: DetailedPeerCertificate | undefined = socket.getPeerCertificate(true);
      while (c?.raw && !chain.some((r) => r.equals(c!.raw))) {
        chain.push(c.raw);
        c = c.issuerCertificate;
      }
      socket.end();
      const leaf = chain[0] ? new X509Certificate(chain[0]) : null;
      const ca = chain
        .map((raw) => ({ raw, fp: createHash('sha256').update(raw).digest('hex') }))
        .find((x) => x.fp === pin);
      if (!leaf || !ca) {
        return reject(
          new GatewayError(
            `${url}: no certificate in the gateway's chain has the pinned fingerprint ${pin}; refusing to send the join token`,
            null,
            null,
            false,
          ),
        );
      }
      const caCert = new X509Certificate(ca.raw);
      if (!caCert.ca || !leaf.verify(caCert.publicKey)) {
        return reject(
          new GatewayError(
            `${url}: the pinned CA did not sign the gateway's certificate`,
            null,
            null,
          ),
        );
      }
      resolve(caCert.toString());
    });
  });
}

/**
 * The gateway's certificate must name the host we dialled AND be the control plane's: hosts hold
 * certificates from the same CA, and a host whose SAN happened to match the gateway's name must
 * not be able to stand in for it (and collect another host's join token).
 */
export function checkControlPlaneIdentity(
  hostname: string,
  cert: PeerCertificate,
): Error | undefined {
  const nameError = checkServerIdentity(hostname, cert);
  if (nameError) return nameError;
  if (cert.subject?.OU !== CERT_OU.controlPlane) {
    return new Error(
      `the certificate of ${hostname} is not the control plane's (OU ${String(cert.subject?.OU)})`,
    );
  }
  return undefined;
}

export interface TlsClientOptions {
  ca: string;
  key?: string;
  cert?: string;
}

/** POSTs JSON over HTTPS verified against `tls.ca` only; non-2xx answers become GatewayErrors. */
export function postJson<T>(url: string, body: unknown, tls: TlsClientOptions): Promise<T> {
  return new Promise((resolve, reject) => {
    const req = request(
      url,
      {
        method: 'POST',
        headers: { 'content-type': 'application/json' },
        ca: tls.ca,
        key: tls.key,
        cert: tls.cert,
        rejectUnauthorized: true,
        checkServerIdentity: checkControlPlaneIdentity,
        agent: false,
        timeout: 30_000,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          const text = Buffer.concat(chunks).toString('utf8');
          let json: unknown = null;
          try {
            json = JSON.parse(text);
          } catch {
            /* reported below */
          }
          const status = res.statusCode ?? 0;
          if (status >= 200 && status < 300 && json !== null) return resolve(json as T);
          const err = json as ErrorBody | null;
          reject(
            new GatewayError(
              `${url}: ${status} ${err?.code ?? ''} ${err?.message ?? text.slice(0, 200)}`.trim(),
              status,
              err,
            ),
          );
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`${url}: timed out`)));
    req.on('error', (e) =>
      reject(e instanceof GatewayError ? e : new GatewayError(`${url}: ${e.message}`, null, null)),
    );
    req.end(JSON.stringify(body));
  });
}
