/**
 * What a host's agent reports to the control plane over the gateway's mTLS: heartbeats with the
 * host's inventory, and batches of libvirt lifecycle events from its event queue. The host is
 * always the one named by the client certificate; nothing in these bodies says which host sends
 * them, so a body cannot speak for another host. Browser-safe: no I/O.
 */
import { z } from 'zod';
import { complianceReportSchema, HOST_STATES } from './hosts';

/** libvirt's domain states (`virsh domstate`), as the hypervisor port reports them. */
export const DOMAIN_STATES = [
  'nostate',
  'running',
  'blocked',
  'paused',
  'shutdown',
  'shutoff',
  'crashed',
  'pmsuspended',
] as const;

/** Most domains one report may list: far above what one host runs, low enough to bound a body. */
export const MAX_REPORTED_DOMAINS = 2000;
/** Most events one batch may carry; the agent sends the rest in the next batch. */
export const MAX_EVENT_BATCH = 500;

/** One domain on the host. `vmId` is Palisade's VM ID from the domain metadata; absent for a
 *  domain Palisade did not define (a foreign one). */
export const reportedDomainSchema = z.object({
  uuid: z.string().min(1).max(64),
  name: z.string().min(1).max(255),
  state: z.enum(DOMAIN_STATES),
  vmId: z.uuid('must be a UUID').optional(),
});
export type ReportedDomain = z.infer<typeof reportedDomainSchema>;

const count = z.number().int('must be a whole number').min(0, 'must not be negative');

/** POST /agent/v1/heartbeat: the host's inventory now. */
export const heartbeatRequestSchema = z.object({
  probe: z.object({
    kernel: z.string().max(255),
    cpuModel: z.string().max(255),
    libvirtVersion: z.string().max(64).nullable(),
    qemuVersion: z.string().max(64).nullable(),
  }),
  capacity: z.object({ cpus: count, ramMib: count, diskGib: count }),
  securityModels: z.array(z.string().min(1).max(64)).max(16),
  acceleration: z.enum(['kvm', 'tcg']).nullable(),
  compliance: complianceReportSchema,
  /** Absent when the agent could not ask libvirt: its VMs' states are then unknown. */
  domains: z
    .array(reportedDomainSchema)
    .max(MAX_REPORTED_DOMAINS, `must list at most ${MAX_REPORTED_DOMAINS} domains`)
    .optional(),
});
export type HeartbeatRequest = z.infer<typeof heartbeatRequestSchema>;

export const heartbeatResponseSchema = z.object({
  hostId: z.uuid(),
  state: z.enum(HOST_STATES),
  /** Palisade VMs whose observed state this report changed. */
  vmsUpdated: z.number().int(),
  /** Domains on the host that are not Palisade's, or not Palisade VMs placed on this host. */
  foreignDomains: z.number().int(),
});
export type HeartbeatResponse = z.infer<typeof heartbeatResponseSchema>;

/** One entry of the agent's event queue; `seq` grows by one per event and never repeats while
 *  the agent runs. */
export const agentEventSchema = z.discriminatedUnion('kind', [
  z.object({
    seq: z.number().int().min(1),
    kind: z.literal('lifecycle'),
    uuid: z.string().max(64),
    name: z.string().max(255),
    vmId: z.uuid('must be a UUID').optional(),
    /** libvirt's event and detail, e.g. `stopped` / `shutdown`, `crashed` / `panicked`. */
    event: z.string().min(1).max(32),
    detail: z.string().max(32),
    at: z.iso.datetime(),
  }),
  z.object({
    seq: z.number().int().min(1),
    kind: z.literal('disconnected'),
    reason: z.string().max(1000),
    at: z.iso.datetime(),
  }),
  /** libvirt's event stream is back after a `disconnected`; the batch that carries this one also
   *  carries the full domain list, read after libvirt came back. */
  z.object({
    seq: z.number().int().min(1),
    kind: z.literal('reconnected'),
    at: z.iso.datetime(),
  }),
]);
export type AgentEvent = z.infer<typeof agentEventSchema>;

/** POST /agent/v1/events: a batch from the queue, oldest first. After a `disconnected` event the
 *  agent adds the full domain list (`domains`), because events in between were lost. */
export const eventBatchSchema = z.object({
  events: z
    .array(agentEventSchema)
    .min(1, 'must hold at least one event')
    .max(MAX_EVENT_BATCH, `must hold at most ${MAX_EVENT_BATCH} events`),
  domains: z
    .array(reportedDomainSchema)
    .max(MAX_REPORTED_DOMAINS, `must list at most ${MAX_REPORTED_DOMAINS} domains`)
    .optional(),
});
export type EventBatch = z.infer<typeof eventBatchSchema>;

export const eventBatchResponseSchema = z.object({
  /** The agent may drop every event up to and including this sequence number. */
  acknowledged: z.number().int(),
  vmsUpdated: z.number().int(),
  /** Events about domains that are not Palisade VMs placed on this host: logged, not applied. */
  ignored: z.number().int(),
});
export type EventBatchResponse = z.infer<typeof eventBatchResponseSchema>;

/** GET /v1/events?after=<seq> on the agent's own mTLS API (tests and debugging). */
export const agentEventsQuerySchema = z.object({
  after: z.coerce.number().int('must be a whole number').min(0, 'must not be negative').default(0),
});
export const agentEventsPageSchema = z.object({
  events: z.array(agentEventSchema),
  /** The highest sequence number handed out so far. */
  lastSeq: z.number().int(),
  /** The highest sequence number the control plane acknowledged. */
  acknowledged: z.number().int(),
  /** Events dropped because the queue was full before the control plane took them. */
  dropped: z.number().int(),
});
export type AgentEventsPage = z.infer<typeof agentEventsPageSchema>;
