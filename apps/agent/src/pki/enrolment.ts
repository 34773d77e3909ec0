/**
 * Getting and keeping this host's certificate. First start: pin the CA, trade the join token and
 * a CSR for a certificate, store key (0600), certificate and CA. Later starts: load them. Renewal:
 * a fresh key and CSR, sent over mTLS with the current certificate.
 */
import { hostCertificateSchema, type HostCertificate } from '@palisade/contracts';
import type { AgentConfig } from '../config';
import { fetchPinnedCa, GatewayError, postJson } from './gateway-client';
import {
  identityOf,
  loadIdentity,
  newKeyAndCsr,
  saveIdentity,
  type HostIdentity,
} from './identity';

/** Where the control plane reaches this agent. */
export function advertisedUrl(c: AgentConfig): string {
  if (c.AGENT_ADVERTISE_URL) return c.AGENT_ADVERTISE_URL;
  const wildcard = c.AGENT_HOST === '0.0.0.0' || c.AGENT_HOST === '::';
  const host = wildcard ? c.AGENT_HOSTNAME : c.AGENT_HOST;
  return `https://${host.includes(':') ? `[${host}]` : host}:${c.AGENT_PORT}`;
}

const gateway = (c: AgentConfig, path: string) => `${c.AGENT_API_URL!.replace(/\/+$/, '')}${path}`;

export async function enrol(c: AgentConfig): Promise<HostIdentity> {
  if (!c.AGENT_API_URL || !c.AGENT_JOIN_TOKEN || !c.AGENT_CA_SHA256) {
    throw new Error('enrolment needs AGENT_API_URL, AGENT_JOIN_TOKEN and AGENT_CA_SHA256');
  }
  const caPem = await fetchPinnedCa(c.AGENT_API_URL, c.AGENT_CA_SHA256);
  const { keyPem, csrPem } = await newKeyAndCsr(c.AGENT_HOSTNAME);
  const answer = hostCertificateSchema.parse(
    await postJson<HostCertificate>(
      gateway(c, '/agent/v1/enrol'),
      { token: c.AGENT_JOIN_TOKEN, csr: csrPem, agentUrl: advertisedUrl(c) },
      { ca: caPem },
    ),
  );
  if (answer.hostName !== c.AGENT_HOSTNAME) {
    throw new Error(
      `the join token is for host ${answer.hostName}, but this agent is ${c.AGENT_HOSTNAME} (AGENT_HOSTNAME)`,
    );
  }
  const identity = identityOf(keyPem, answer.certificate, caPem);
  await saveIdentity(c.AGENT_STATE_DIR, identity);
  return identity;
}

/** The stored identity, or a new one from the join token; without either, a clear error. */
export async function ensureIdentity(
  c: AgentConfig,
  log: (msg: string) => void,
): Promise<HostIdentity> {
  const stored = await loadIdentity(c.AGENT_STATE_DIR);
  if (stored) {
    if (c.AGENT_JOIN_TOKEN) log('already enrolled: AGENT_JOIN_TOKEN is ignored');
    return stored;
  }
  if (!c.AGENT_JOIN_TOKEN) {
    throw new Error(
      `not enrolled (no certificate in ${c.AGENT_STATE_DIR}/pki): set AGENT_JOIN_TOKEN, AGENT_CA_SHA256 and AGENT_API_URL from an operator's join token`,
    );
  }
  const identity = await enrolWithRetries(c, log);
  log(
    `enrolled as ${c.AGENT_HOSTNAME}; certificate valid until ${identity.notAfter.toISOString()}`,
  );
  return identity;
}

/**
 * The agent may start before the control plane is reachable (host boot, `npm run dev`): retry
 * what may pass (no connection, a 5xx) for a few minutes. A refused token or a wrong CA never
 * passes, so those stop at once.
 */
async function enrolWithRetries(c: AgentConfig, log: (msg: string) => void): Promise<HostIdentity> {
  for (let attempt = 1; ; attempt++) {
    try {
      return await enrol(c);
    } catch (e) {
      if (!(e instanceof GatewayError) || !e.retryable || attempt >= ENROL_ATTEMPTS) throw e;
      const wait = Math.min(1000 * 2 ** (attempt - 1), 30_000);
      log(`enrolment attempt ${attempt} failed (${e.message}); retrying in ${wait / 1000} s`);
      await new Promise((r) => setTimeout(r, wait));
    }
  }
}

const ENROL_ATTEMPTS = 15;

export async function renewIdentity(c: AgentConfig, current: HostIdentity): Promise<HostIdentity> {
  if (!c.AGENT_API_URL) throw new Error('renewal needs AGENT_API_URL');
  const { keyPem, csrPem } = await newKeyAndCsr(c.AGENT_HOSTNAME);
  const answer = hostCertificateSchema.parse(
    await postJson<HostCertificate>(
      gateway(c, '/agent/v1/renew'),
      { csr: csrPem },
      { ca: current.caPem, key: current.keyPem, cert: current.certPem },
    ),
  );
  const identity = identityOf(keyPem, answer.certificate, current.caPem);
  await saveIdentity(c.AGENT_STATE_DIR, identity);
  return identity;
}

/** TLS for the agent's own API: only clients with a certificate from the Palisade CA get in. */
export function serverTlsOptions(id: HostIdentity) {
  return {
    key: id.keyPem,
    cert: id.certPem,
    ca: id.caPem,
    requestCert: true,
    rejectUnauthorized: true,
    minVersion: 'TLSv1.2' as const,
  };
}
