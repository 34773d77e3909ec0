import { z } from 'zod';
import { BRIDGE_NAME_PATTERN, MAC_PATTERN, VM_NAME_PATTERN, vmSpecSchema } from './vm-spec';

/**
 * The agent's host-operation API (worker -> agent, HTTPS with mTLS, control-plane certificate
 * only). Every mutating call carries the operation ID it runs for and is idempotent: the worker
 * may send it again after a crash or a lost answer, and gets the same result.
 *
 * Definitions here are host-independent: the worker names volumes, images and segments; the
 * agent turns them into paths, bridge names and domain XML (libs/hypervisor designer). Secrets
 * (LUKS keys) travel only in these request bodies over mTLS, never in job data or logs.
 *
 * Browser-safe: zod only.
 */

const uuid = (field: string) => z.uuid({ error: `${field} must be a UUID` });
const sha256 = (field: string) =>
  z.string().regex(/^[0-9a-f]{64}$/, { error: `${field} must be a lowercase hex SHA-256` });
/** A LUKS key: base64 of at least 32 random bytes; QEMU reads it as UTF-8 text. */
const luksKey = (field: string) =>
  z
    .string()
    .regex(/^[A-Za-z0-9+/]{43,}={0,2}$/, { error: `${field} must be base64 of at least 32 bytes` });

export const agentImageFormatSchema = z.enum(['qcow2', 'raw'], {
  error: "format must be 'qcow2' or 'raw'",
});

const withOperation = { operationId: uuid('operationId') };

/** POST /v1/images/ensure: the image is in the host's image store, verified by checksum. */
export const agentEnsureImageInput = z.object({
  ...withOperation,
  checksum: sha256('checksum'),
  format: agentImageFormatSchema,
  /** Where the agent downloads the image when its store lacks it (http or https; verified by
   *  checksum and format before it enters the store). Without it the image must be in place. */
  sourceUrl: z
    .url({ protocol: /^https?$/, error: 'sourceUrl must be an http:// or https:// URL' })
    .max(2048, { error: 'sourceUrl must be at most 2048 characters' })
    .optional(),
});
export type AgentEnsureImageInput = z.infer<typeof agentEnsureImageInput>;
export const agentImageSchema = z.object({
  checksum: z.string(),
  format: agentImageFormatSchema,
  virtualSizeBytes: z.number().int().nonnegative(),
});
export type AgentImage = z.infer<typeof agentImageSchema>;

/** POST /v1/volumes/ensure: a LUKS qcow2, on the base image when one is named. */
export const agentEnsureVolumeInput = z.object({
  ...withOperation,
  volumeId: uuid('volumeId'),
  sizeBytes: z
    .number({ error: 'sizeBytes must be a number' })
    .int({ error: 'sizeBytes must be an integer' })
    .min(1024 * 1024, { error: 'sizeBytes must be at least 1 MiB' })
    .max(2 ** 46, { error: 'sizeBytes must be at most 64 TiB' }),
  base: z.object({ checksum: sha256('base.checksum'), format: agentImageFormatSchema }).optional(),
  key: luksKey('key'),
});
export type AgentEnsureVolumeInput = z.infer<typeof agentEnsureVolumeInput>;
export const agentVolumeSchema = z.object({
  volumeId: z.string(),
  encrypted: z.boolean(),
  virtualSizeBytes: z.number().int().nonnegative(),
});
export type AgentVolume = z.infer<typeof agentVolumeSchema>;

/** POST /v1/volumes/resize: grow only (a smaller size is refused); the key opens the LUKS layer. */
export const agentResizeVolumeInput = z.object({
  ...withOperation,
  volumeId: uuid('volumeId'),
  sizeBytes: agentEnsureVolumeInput.shape.sizeBytes,
  key: luksKey('key'),
});
export type AgentResizeVolumeInput = z.infer<typeof agentResizeVolumeInput>;

/** POST /v1/volumes/delete: the secret first (the key leaves the host), then the file. */
export const agentDeleteVolumeInput = z.object({ ...withOperation, volumeId: uuid('volumeId') });
export type AgentDeleteVolumeInput = z.infer<typeof agentDeleteVolumeInput>;

export const agentSegmentRefSchema = z.object({
  type: z.enum(['vxlan', 'vlan'], { error: "segment.type must be 'vxlan' or 'vlan'" }),
  id: z
    .number({ error: 'segment.id must be a number' })
    .int({ error: 'segment.id must be an integer' })
    .min(1, { error: 'segment.id must be at least 1' })
    .max(16_777_215, { error: 'segment.id must be at most 16777215' }),
});
export type AgentSegmentRef = z.infer<typeof agentSegmentRefSchema>;

/** POST /v1/segments/ensure: the tenant segment's bridge and uplink on this host. */
export const agentEnsureSegmentInput = z.object({
  ...withOperation,
  segment: agentSegmentRefSchema,
});
export type AgentEnsureSegmentInput = z.infer<typeof agentEnsureSegmentInput>;
export const agentSegmentSchema = z.object({
  bridge: z.string().regex(BRIDGE_NAME_PATTERN),
});

/** POST /v1/segments/remove: bridge and uplink go; refused while a VM's tap is on the bridge. */
export const agentRemoveSegmentInput = agentEnsureSegmentInput;
export type AgentRemoveSegmentInput = z.infer<typeof agentRemoveSegmentInput>;

const spec = vmSpecSchema.shape;

/**
 * A VM as the control plane knows it. The agent adds what only the host knows: disk, seed and
 * kernel paths, bridge names, the libvirt secret per encrypted disk.
 */
export const agentVmDefinitionSchema = z
  .object({
    vmId: spec.vmId,
    tenantId: spec.tenantId,
    specRevision: spec.specRevision,
    vcpus: spec.vcpus,
    memoryMiB: spec.memoryMiB,
    cpu: spec.cpu,
    memtune: spec.memtune,
    blkio: spec.blkio,
    isolation: spec.isolation,
    console: spec.console,
    machine: spec.machine,
  })
  .extend({
    name: z.string().regex(VM_NAME_PATTERN, {
      error: 'name must be 1-63 characters of a-z, 0-9 and -, not starting or ending with -',
    }),
    disks: z
      .array(
        z.object({
          id: uuid('disks[].id'),
          volumeId: uuid('disks[].volumeId'),
          bootOrder: z.number().int().min(1).max(255).optional(),
          iotune: spec.disks.element.shape.iotune,
        }),
      )
      .max(20, { error: 'disks must have at most 20 entries' }),
    nics: z
      .array(
        z.object({
          id: uuid('nics[].id'),
          mac: z.string().regex(MAC_PATTERN, { error: 'nics[].mac must be a unicast MAC' }),
          ip: z.ipv4({ error: 'nics[].ip must be an IPv4 address' }),
          prefixLength: z.number().int().min(8).max(30),
          gateway: z.ipv4().optional(),
          segment: agentSegmentRefSchema,
          bandwidth: spec.nics.element.shape.bandwidth,
        }),
      )
      .max(8, { error: 'nics must have at most 8 entries' }),
    /** Direct kernel boot from two images in the store (Palisade Tiny), or from the first disk. */
    boot: z.discriminatedUnion(
      'kind',
      [
        z.object({ kind: z.literal('disk') }),
        z.object({
          kind: z.literal('kernel'),
          kernel: sha256('boot.kernel'),
          initrd: sha256('boot.initrd'),
          cmdline: z
            .string()
            .max(4096)
            .regex(/^[^\0-\x1f]*$/),
        }),
      ],
      { error: "boot.kind must be 'disk' or 'kernel'" },
    ),
    userData: z
      .string()
      .max(32 * 1024)
      .optional(),
    sshAuthorizedKeys: z.array(z.string().max(16_384)).max(32).default([]),
  });
export type AgentVmDefinition = z.infer<typeof agentVmDefinitionSchema>;

/** POST /v1/vms/ensure-running: define (or redefine) and start; keys for every encrypted disk. */
export const agentEnsureVmRunningInput = z.object({
  ...withOperation,
  vm: agentVmDefinitionSchema,
  /** LUKS key per volume ID; re-sent on every start because libvirt's secrets are ephemeral. */
  keys: z.record(z.uuid({ error: 'keys must be keyed by volume ID' }), luksKey('keys[]')),
});
export type AgentEnsureVmRunningInput = z.infer<typeof agentEnsureVmRunningInput>;

/** POST /v1/vms/:id/destroy: force off, undefine, remove the seed (volumes are separate calls). */
export const agentOperationInput = z.object(withOperation);
export type AgentOperationInput = z.infer<typeof agentOperationInput>;

/** Keys by volume ID, as for `ensure-running`. */
const diskKeys = z.record(z.uuid({ error: 'keys must be keyed by volume ID' }), luksKey('keys[]'));

/**
 * POST /v1/vms/:id/reboot: a cold cycle on the host (ACPI stop, force off after the agent's
 * timeout, start). `keys` is optional: re-sent, they re-define the ephemeral secrets a libvirtd
 * restart dropped, so the start cannot fail for want of them.
 */
export const agentRebootVmInput = z.object({ ...withOperation, keys: diskKeys.optional() });
export type AgentRebootVmInput = z.infer<typeof agentRebootVmInput>;

export const agentSnapshotNameSchema = z
  .string({ error: 'name must be a string' })
  .regex(/^[A-Za-z0-9][A-Za-z0-9._-]{0,63}$/, {
    error:
      'name must be 1-64 characters of letters, digits, ".", "_" or "-", starting with a letter or digit',
  });

/**
 * POST /v1/vms/:id/snapshots/{create,revert,delete}: internal qcow2 snapshots of every disk of a
 * shut-off VM (refused while it runs). Opening a LUKS image for writing needs its key, so `keys`
 * names one per encrypted disk's volume.
 */
export const agentSnapshotInput = z.object({
  ...withOperation,
  name: agentSnapshotNameSchema,
  keys: diskKeys,
});
export type AgentSnapshotInput = z.infer<typeof agentSnapshotInput>;

/** GET /v1/vms/:id/snapshots: names every disk has, oldest first. */
export const agentSnapshotListSchema = z.object({ items: z.array(z.string()) });
export type AgentSnapshotList = z.infer<typeof agentSnapshotListSchema>;

export const agentVmStateSchema = z.enum([
  'nostate',
  'running',
  'blocked',
  'paused',
  'shutdown',
  'shutoff',
  'crashed',
  'pmsuspended',
]);

export const agentVmStatusSchema = z.object({
  vmId: z.string(),
  state: agentVmStateSchema,
  /** What the designer weakened on this host (e.g. no sVirt where the operator allowed it). */
  weakenings: z.array(z.object({ mechanism: z.string(), reason: z.string() })).default([]),
});
export type AgentVmStatus = z.infer<typeof agentVmStatusSchema>;

export const agentVmDetailsSchema = agentVmStatusSchema.extend({ xml: z.string() });
export type AgentVmDetails = z.infer<typeof agentVmDetailsSchema>;

export const agentVmListSchema = z.object({
  items: z.array(z.object({ vmId: z.string(), name: z.string(), state: agentVmStateSchema })),
});

/** GET /v1/storage: the host's volumes (by ID) and libvirt secrets (by UUID; a volume's secret
 *  has the volume's ID). Names only, never a key. */
export const agentStorageSchema = z.object({
  volumes: z.array(z.string()),
  secrets: z.array(z.string()),
});
export type AgentStorage = z.infer<typeof agentStorageSchema>;

/** Every error the agent answers: the stable code, a message, and details (never a secret). */
export const agentErrorSchema = z.object({
  code: z.string(),
  message: z.string(),
  details: z.record(z.string(), z.unknown()).optional(),
});
export type AgentErrorBody = z.infer<typeof agentErrorSchema>;
