import { z } from 'zod';
import { pageInput } from './pagination';

/** Quotas (limits set by operators) and usage (the ledger), in the same resource units. */
const count = z
  .number()
  .int('must be a whole number')
  .min(0, 'must not be negative')
  .max(2 ** 31 - 1, `must be at most ${2 ** 31 - 1}`);

export const resourceCountsSchema = z.object({
  vcpus: count,
  ramMiB: count,
  diskGiB: count,
  vms: count,
  volumes: count,
  snapshots: count,
  networks: count,
  publicIps: count,
});
export type ResourceCounts = z.infer<typeof resourceCountsSchema>;

export const quotaSchema = z.object({ limits: resourceCountsSchema, usage: resourceCountsSchema });

export const quotaSetInput = z.object({
  tenantId: z.uuid('must be a UUID'),
  limits: resourceCountsSchema.partial(),
});

export const auditEventSchema = z.object({
  id: z.uuid(),
  tenantId: z.uuid().nullable(),
  actorType: z.enum(['user', 'service', 'system']),
  actorId: z.string(),
  actorName: z.string().nullable(),
  action: z.string(),
  targetType: z.string().nullable(),
  targetId: z.string().nullable(),
  requestId: z.string().nullable(),
  outcome: z.enum(['success', 'failure', 'denied']),
  details: z.record(z.string(), z.unknown()).nullable(),
  createdAt: z.iso.datetime(),
});
export type AuditEvent = z.infer<typeof auditEventSchema>;
export const auditListInput = pageInput.extend({
  action: z.string().max(63, 'must be at most 63 characters').optional(),
  targetId: z.string().max(63, 'must be at most 63 characters').optional(),
});
export const adminAuditListInput = auditListInput.extend({
  tenantId: z.uuid('must be a UUID').optional(),
});
