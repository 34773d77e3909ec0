import { z } from 'zod';
import { resourceNameSchema } from './ssh-keys';
import { operationSchema, waitFields } from './operations';
import { pageInput } from './pagination';

/** Tenant networks: one L2 segment (VLAN or VXLAN) with one IPv4 subnet. */
export const networkCreateInput = z.object({
  name: resourceNameSchema,
  cidr: z.string().max(18, 'must be at most 18 characters').describe('IPv4 CIDR, e.g. 10.0.0.0/24'),
  /** Defaults to the first host address; null for a network without a gateway. */
  gateway: z.string().max(15, 'must be at most 15 characters').nullable().optional(),
  /** Defaults to the only fabric (or the first by name). */
  fabricId: z.uuid('must be a UUID').optional(),
  ...waitFields,
});

export const networkSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  cidr: z.string(),
  gateway: z.string().nullable(),
  segmentType: z.enum(['vlan', 'vxlan']),
  segmentId: z.number().int(),
  fabricId: z.uuid(),
  status: z.enum(['pending', 'active', 'deleting', 'error']),
  createdAt: z.iso.datetime(),
});
export type Network = z.infer<typeof networkSchema>;

export const networkAcceptedSchema = z.object({
  operation: operationSchema,
  network: networkSchema,
});
export const networkListInput = pageInput;
export const networkDeleteInput = z.object({ id: z.uuid('must be a UUID'), ...waitFields });
