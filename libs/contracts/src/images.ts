import { z } from 'zod';

/** Base images a tenant may boot a VM from: public ones (operators') and the tenant's own. */
export const imageSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  os: z.string(),
  format: z.enum(['qcow2', 'raw']),
  sizeBytes: z.number().int(),
  visibility: z.enum(['public', 'tenant']),
  status: z.enum(['pending', 'active', 'deprecated', 'deleted']),
});
export type Image = z.infer<typeof imageSchema>;
