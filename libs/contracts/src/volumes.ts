import { z } from 'zod';
import { resourceNameSchema } from './ssh-keys';
import { operationSchema, waitFields } from './operations';
import { pageInput } from './pagination';

/** Volumes: LUKS-encrypted qcow2 disks a tenant attaches to its VMs. */
const sizeGiB = z
  .number()
  .int('must be a whole number')
  .min(1, 'must be at least 1 GiB')
  .max(65_536, 'must be at most 65536 GiB');

export const volumeCreateInput = z.object({ name: resourceNameSchema, sizeGiB, ...waitFields });

export const volumeSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  sizeGiB: z.number().int(),
  vmId: z.uuid().nullable(),
  status: z.enum(['pending', 'available', 'attached', 'deleting', 'deleted', 'error']),
  createdAt: z.iso.datetime(),
});
export type Volume = z.infer<typeof volumeSchema>;

export const volumeAcceptedSchema = z.object({ operation: operationSchema, volume: volumeSchema });
export const volumeListInput = pageInput.extend({
  vmId: z.uuid('must be a UUID').optional().describe('only volumes attached to this VM'),
});
const id = z.uuid('must be a UUID');
export const volumeAttachInput = z.object({ id, vmId: id, ...waitFields });
export const volumeActionInput = z.object({ id, ...waitFields });
export const volumeExtendInput = z.object({ id, sizeGiB, ...waitFields });
