/**
 * Hosts and their enrolment: the operator's procedures and the wire format between a host agent
 * and the control plane's agent gateway. The agent knows the control plane only through these
 * schemas. Browser-safe: no I/O.
 */
import { z } from 'zod';

/** A host's name: one DNS label. It is the certificate's CN and ends up in host-side names. */
export const hostNameSchema = z
  .string()
  .min(1, 'must not be empty')
  .max(63, 'must be at most 63 characters')
  .regex(
    /^[a-z0-9]([a-z0-9-]*[a-z0-9])?$/,
    'must be a DNS label: lowercase letters, digits and dashes, starting and ending with a letter or digit',
  );

/** SHA-256 of a certificate's DER, as 64 lowercase hex digits (colons allowed on input). */
export const sha256FingerprintSchema = z
  .string()
  .transform((s) => s.replace(/:/g, '').toLowerCase())
  .pipe(z.string().regex(/^[0-9a-f]{64}$/, 'must be a SHA-256 fingerprint: 64 hex digits'));

export const JOIN_TOKEN_TTL_MINUTES = { default: 60, max: 7 * 24 * 60 } as const;

export const createJoinTokenInput = z.object({
  hostName: hostNameSchema,
  ttlMinutes: z
    .number()
    .int('must be a whole number')
    .min(1, 'must be at least 1 minute')
    .max(
      JOIN_TOKEN_TTL_MINUTES.max,
      `must be at most ${JOIN_TOKEN_TTL_MINUTES.max} minutes (7 days)`,
    )
    .default(JOIN_TOKEN_TTL_MINUTES.default),
});
export type CreateJoinTokenInput = z.infer<typeof createJoinTokenInput>;

/** Shown once: only the token's hash is stored. */
export const joinTokenSchema = z.object({
  token: z.string(),
  hostId: z.uuid(),
  hostName: z.string(),
  expiresAt: z.iso.datetime(),
  /** What the agent pins (AGENT_CA_SHA256) before it trusts the gateway with the token. */
  caFingerprint: z.string(),
});
export type JoinToken = z.infer<typeof joinTokenSchema>;

export const HOST_STATES = ['enrolling', 'up', 'unreachable', 'draining', 'maintenance'] as const;

export const hostSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  state: z.enum(HOST_STATES),
  enabled: z.boolean(),
  agentUrl: z.string().nullable(),
  certFingerprint: z.string().nullable(),
  certExpiresAt: z.iso.datetime().nullable(),
  lastHeartbeatAt: z.iso.datetime().nullable(),
  createdAt: z.iso.datetime(),
});
export type Host = z.infer<typeof hostSchema>;

/** `pjt.<token id>.<secret>`: the id finds the row, the secret is compared by hash. */
export const JOIN_TOKEN_PATTERN =
  /^pjt\.[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}\.[A-Za-z0-9_-]{43}$/;

const pem = (label: string, max: number) =>
  z
    .string()
    .max(max, `must be at most ${max} characters`)
    .refine((s) => s.trim().startsWith(`-----BEGIN ${label}-----`), {
      message: `must be a PEM ${label}`,
    });

/** POST /agent/v1/enrol: the join token is the credential; the CSR proves the key. */
export const enrolRequestSchema = z.object({
  token: z.string().regex(JOIN_TOKEN_PATTERN, 'must be a Palisade join token (pjt.…)'),
  csr: pem('CERTIFICATE REQUEST', 16_384),
  /** Where the control plane reaches this agent; its host goes into the certificate's SAN. */
  agentUrl: z.url({ protocol: /^https$/, error: 'must be an https:// URL' }),
});
export type EnrolRequest = z.infer<typeof enrolRequestSchema>;

/** POST /agent/v1/renew, over mTLS with the host's current certificate. */
export const renewRequestSchema = z.object({ csr: pem('CERTIFICATE REQUEST', 16_384) });
export type RenewRequest = z.infer<typeof renewRequestSchema>;

export const hostCertificateSchema = z.object({
  hostId: z.uuid(),
  hostName: z.string(),
  /** The host's certificate, PEM. */
  certificate: z.string(),
  /** The chain up to and including the Palisade CA, PEM (today: the CA alone). */
  caChain: z.string(),
  notAfter: z.iso.datetime(),
});
export type HostCertificate = z.infer<typeof hostCertificateSchema>;

/** Organisational units that tell the two kinds of Palisade certificates apart. */
export const CERT_OU = { host: 'palisade-hosts', controlPlane: 'palisade-control-plane' } as const;

/** What a host can enforce, as its agent reports it over mTLS (GET /v1/host/compliance). */
export const complianceReportSchema = z.object({
  status: z.enum(['compliant', 'degraded', 'non-compliant']),
  securityDriver: z.enum(['selinux', 'apparmor', 'none']),
  acceleration: z.enum(['kvm', 'tcg']).nullable(),
  checks: z.array(
    z.object({ id: z.string(), status: z.enum(['pass', 'fail', 'warn']), detail: z.string() }),
  ),
  /** What the host's kernel can enforce for tenant networks, tried in a throwaway namespace by
   *  the agent's probe: 802.1Q VLAN links, VXLAN, and libvirt's `<bandwidth>` shaping. Optional
   *  because agents older than this field do not send it. */
  network: z.object({ vlan: z.boolean(), vxlan: z.boolean(), bandwidth: z.boolean() }).optional(),
});
export type ComplianceReportWire = z.infer<typeof complianceReportSchema>;

export const hostByIdInput = z.object({ id: z.uuid('must be a UUID') });

/** admin.hosts.get: the host, what its agent last reported, and the VMs placed on it. */
export const hostDetailSchema = hostSchema.extend({
  cpus: z.number().int(),
  ramMib: z.number().int(),
  diskGib: z.number().int(),
  securityModels: z.array(z.string()),
  acceleration: z.enum(['kvm', 'tcg']).nullable(),
  allowWeakerIsolation: z.boolean(),
  compliance: complianceReportSchema.nullable(),
  vms: z.array(
    z.object({
      id: z.uuid(),
      tenantId: z.uuid(),
      name: z.string(),
      desiredState: z.string(),
      observedState: z.string(),
    }),
  ),
});
export type HostDetail = z.infer<typeof hostDetailSchema>;

/** admin.hosts.drain: the host (now `draining`) and the `host.drain` operation recorded for it. */
export const drainHostOutput = z.object({ host: hostSchema, operationId: z.uuid() });
export type DrainHostOutput = z.infer<typeof drainHostOutput>;
