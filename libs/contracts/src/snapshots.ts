import { z } from 'zod';
import { resourceNameSchema } from './ssh-keys';
import { operationSchema, waitFields } from './operations';
import { pageInput } from './pagination';

/** Snapshots of a VM's disks. */
const id = z.uuid('must be a UUID');
export const snapshotCreateInput = z.object({ vmId: id, name: resourceNameSchema, ...waitFields });
export const snapshotSchema = z.object({
  id: z.uuid(),
  vmId: z.uuid(),
  name: z.string(),
  status: z.enum(['pending', 'available', 'deleting', 'error']),
  sizeBytes: z.number().int().nullable(),
  createdAt: z.iso.datetime(),
});
export type Snapshot = z.infer<typeof snapshotSchema>;
export const snapshotAcceptedSchema = z.object({
  operation: operationSchema,
  snapshot: snapshotSchema,
});
export const snapshotListInput = pageInput.extend({
  vmId: id.optional().describe('only snapshots of this VM'),
});
export const snapshotActionInput = z.object({ id, ...waitFields });
