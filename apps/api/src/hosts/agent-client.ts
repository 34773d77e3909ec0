/**
 * The control plane calling a host's agent: HTTPS with the control plane's client certificate,
 * trusting only the Palisade CA, and accepting only the certificate of THAT host (CN = its name,
 * OU = hosts), so a host cannot answer for another. Failures become AppErrors naming the host.
 */
import { request } from 'node:https';
import { checkServerIdentity, type PeerCertificate } from 'node:tls';
import type { z } from 'zod';
import { AppError, CERT_OU, ErrorCode } from '@palisade/contracts';
import type { TlsIdentity } from '../pki/pki.service';

export interface AgentTarget {
  name: string;
  agentUrl: string;
}

export function checkHostIdentity(
  expectedHost: string,
  hostname: string,
  cert: PeerCertificate,
): Error | undefined {
  const nameError = checkServerIdentity(hostname, cert);
  if (nameError) return nameError;
  if (cert.subject?.OU !== CERT_OU.host || cert.subject?.CN !== expectedHost) {
    return new Error(
      `${hostname} presented the certificate of ${String(cert.subject?.CN)} (OU ${String(cert.subject?.OU)}), not host ${expectedHost}`,
    );
  }
  return undefined;
}

export function getFromAgent<S extends z.ZodType>(
  tls: TlsIdentity,
  host: AgentTarget,
  path: string,
  schema: S,
  timeoutMs = 60_000,
): Promise<z.infer<S>> {
  const unreachable = (why: string, cause?: unknown) =>
    new AppError(ErrorCode.HOST_AGENT_UNREACHABLE, `agent of ${host.name}: ${why}`, {
      userMessage: `The agent of host ${host.name} did not answer: ${why}.`,
      cause,
    });
  return new Promise((resolve, reject) => {
    const req = request(
      new URL(path, host.agentUrl),
      {
        method: 'GET',
        ca: tls.ca,
        key: tls.key,
        cert: tls.cert,
        rejectUnauthorized: true,
        checkServerIdentity: (hostname, cert) => checkHostIdentity(host.name, hostname, cert),
        agent: false,
        timeout: timeoutMs,
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (d: Buffer) => chunks.push(d));
        res.on('end', () => {
          if (res.statusCode !== 200) return reject(unreachable(`HTTP ${res.statusCode}`));
          try {
            const parsed = schema.safeParse(JSON.parse(Buffer.concat(chunks).toString('utf8')));
            if (parsed.success) return resolve(parsed.data);
            reject(unreachable('its answer did not match the expected format', parsed.error));
          } catch (e) {
            reject(unreachable('its answer was not JSON', e));
          }
        });
      },
    );
    req.on('timeout', () => req.destroy(new Error(`no answer within ${timeoutMs} ms`)));
    req.on('error', (e) => reject(unreachable(e.message, e)));
    req.end();
  });
}
