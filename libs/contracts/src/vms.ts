import { z } from 'zod';
import { operationSchema, waitFields } from './operations';
import { pageInput, tagFilter } from './pagination';
import { restartPolicySchema } from './reconciler';

/**
 * VMs as tenants see and change them. A VM's name becomes its guest hostname and part of the
 * libvirt domain name and XML, hence the DNS-label charset (the database checks the same).
 */
export const vmNameSchema = z
  .string()
  .min(2, 'must be at least 2 characters')
  .max(63, 'must be at most 63 characters')
  .regex(
    /^[a-z][a-z0-9-]*[a-z0-9]$/,
    'must be lowercase letters, digits and dashes, starting with a letter and not ending with a dash',
  );

export const TAG_MAX = 20;
export const tagsSchema = z
  .array(
    z
      .string()
      .min(1, 'must not be empty')
      .max(63, 'must be at most 63 characters')
      .regex(/^[A-Za-z0-9_.:=-]+$/, 'must be letters, digits and _ . : = -'),
  )
  .max(TAG_MAX, `must be at most ${TAG_MAX} tags`);

/** The NoCloud seed limit (the database checks the same bound in bytes). */
export const USER_DATA_MAX_BYTES = 32 * 1024;

const uuid = z.uuid('must be a UUID');

export const vmCreateInput = z.object({
  name: vmNameSchema,
  flavorId: uuid,
  imageId: uuid,
  networkId: uuid,
  sshKeyIds: z
    .array(uuid)
    .max(20, 'must be at most 20 keys')
    .refine((ids) => new Set(ids).size === ids.length, { message: 'must not list a key twice' })
    .default([]),
  userData: z
    .string()
    .refine((s) => new TextEncoder().encode(s).length <= USER_DATA_MAX_BYTES, {
      message: `must be at most ${USER_DATA_MAX_BYTES} bytes`,
    })
    .optional(),
  tags: tagsSchema.default([]),
  /** What the reconciler does when the VM is found off while it should run (default always). */
  restartPolicy: restartPolicySchema.optional(),
  ...waitFields,
});
export type VmCreateInput = z.infer<typeof vmCreateInput>;

export const vmSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  flavorId: z.uuid(),
  imageId: z.uuid(),
  desiredState: z.enum(['running', 'stopped', 'deleted']),
  observedState: z.string(),
  tags: z.array(z.string()),
  restartPolicy: restartPolicySchema,
  nics: z.array(z.object({ networkId: z.uuid(), mac: z.string(), ip: z.string() })),
  /** The sVirt category pair, e.g. c12,c345 (unique across the cluster). */
  mcs: z.string().nullable(),
  /**
   * The SSH keys the VM was created with, as its seed carries them. A key deleted since is still
   * listed (the VM keeps it) with `id: null`.
   */
  sshKeys: z.array(
    z.object({ id: z.uuid().nullable(), name: z.string(), fingerprint: z.string() }),
  ),
  /**
   * Isolation its host could not give it when it last started, each with the reason, e.g.
   * `{ mechanism: 'bandwidth', reason: 'bandwidth limit not enforced: kernel lacks sfq' }`.
   * Empty when the host enforced everything (or the VM has not started yet).
   */
  weakenings: z.array(z.object({ mechanism: z.string(), reason: z.string() })),
  createdAt: z.iso.datetime(),
  updatedAt: z.iso.datetime(),
});
export type Vm = z.infer<typeof vmSchema>;

export const vmAcceptedSchema = z.object({ operation: operationSchema, vm: vmSchema });
export type VmAccepted = z.infer<typeof vmAcceptedSchema>;

export const vmListInput = pageInput.extend({
  state: z.enum(['running', 'stopped']).optional().describe('desired state'),
  tag: tagFilter,
  name: z.string().max(63, 'must be at most 63 characters').optional().describe('name prefix'),
});

export const vmUpdateInput = z
  .object({
    id: uuid,
    name: vmNameSchema.optional(),
    tags: tagsSchema.optional(),
    restartPolicy: restartPolicySchema.optional(),
  })
  .refine((v) => v.name !== undefined || v.tags !== undefined || v.restartPolicy !== undefined, {
    message: 'give name, tags or restartPolicy to change',
    path: ['name'],
  });

export const vmActionInput = z.object({ id: uuid, ...waitFields });
export const vmResizeInput = z.object({ id: uuid, flavorId: uuid, ...waitFields });
export const vmRebuildInput = z.object({ id: uuid, imageId: uuid.optional(), ...waitFields });

/** Dry run of a create or a resize: whether it would be accepted now, and if not, every reason. */
// One object (not a union) because REST generation needs an object input.
export const vmCheckInput = z
  .object({
    action: z.enum(['create', 'resize']),
    flavorId: uuid,
    /** The VM to resize (resize only). */
    id: uuid.optional(),
    /** The network a create would use (create only): is there an address left? */
    networkId: uuid.optional(),
  })
  .refine((v) => v.action !== 'resize' || v.id !== undefined, {
    message: 'is required to check a resize',
    path: ['id'],
  });
export const vmCheckOutput = z.object({
  allowed: z.boolean(),
  reasons: z.array(z.object({ code: z.string(), message: z.string() })),
});
