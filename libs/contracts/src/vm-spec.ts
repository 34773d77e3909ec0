import { z } from 'zod';

/**
 * `VmSpec`: everything a host needs to know to run one VM, and nothing it must look up. The worker
 * builds it from the database (flavor, volumes, allocations) and sends it to the agent; the agent's
 * designer (libs/hypervisor) turns it into libvirt domain XML.
 *
 * The spec carries decisions, not policy: the MCS pair, MACs, IPs and paths were allocated by the
 * control plane and are copied verbatim. It never carries secrets: a disk names the libvirt secret
 * by UUID, and the key reaches the host separately over mTLS.
 *
 * Browser-safe: zod only, no I/O.
 */

const MAX_U32 = 4_294_967_295;

const uuid = (field: string) => z.uuid({ error: `${field} must be a UUID` });
const int = (field: string, min: number, max: number) =>
  z
    .number({ error: `${field} must be a number` })
    .int({ error: `${field} must be an integer` })
    .min(min, { error: `${field} must be at least ${min}` })
    .max(max, { error: `${field} must be at most ${max}` });
const absPath = (field: string) =>
  z
    .string({ error: `${field} must be a string` })
    .max(4096, { error: `${field} must be at most 4096 characters` })
    // A path is written into XML and handed to QEMU; control characters and relative paths have no
    // legitimate use there, and `..` would let a spec escape the host's storage directory.
    .regex(/^\/[^\0-\x1f]*$/, {
      error: `${field} must be an absolute path without control characters`,
    })
    .refine((p) => !p.split('/').includes('..'), { error: `${field} must not contain '..'` });

/** A DNS label: it becomes the guest's hostname and part of the libvirt domain name. */
export const VM_NAME_PATTERN = /^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$/;

/** A unicast MAC in lower-case colon form, which is how libvirt prints it back. */
export const MAC_PATTERN = /^[0-9a-f][02468ace](:[0-9a-f]{2}){5}$/;

/** A Linux interface name (IFNAMSIZ is 16 including the NUL). */
export const BRIDGE_NAME_PATTERN = /^[A-Za-z0-9_.-]{1,15}$/;

export const vmDiskSpecSchema = z.object({
  /** The attachment's ID; the designer uses it as the disk's libvirt alias. */
  id: uuid('disks[].id'),
  volumeId: uuid('disks[].volumeId'),
  path: absPath('disks[].path'),
  format: z.literal('qcow2', { error: "disks[].format must be 'qcow2'" }),
  bus: z.literal('virtio', { error: "disks[].bus must be 'virtio'" }),
  bootOrder: int('disks[].bootOrder', 1, 255).optional(),
  /** The libvirt secret (ephemeral, private) holding the volume's LUKS key, or null if the
   *  volume is not encrypted (only images shared read-only, never tenant data). */
  encrypted: z.object({ secretUuid: uuid('disks[].encrypted.secretUuid') }).nullable(),
  iotune: z.object({
    totalIops: int('disks[].iotune.totalIops', 1, Number.MAX_SAFE_INTEGER).optional(),
    totalBytesSec: int('disks[].iotune.totalBytesSec', 1, Number.MAX_SAFE_INTEGER).optional(),
  }),
});
export type VmDiskSpec = z.infer<typeof vmDiskSpecSchema>;

export const vmNicSpecSchema = z.object({
  id: uuid('nics[].id'),
  mac: z.string().regex(MAC_PATTERN, {
    error: 'nics[].mac must be a unicast MAC in lower-case colon form (52:54:00:12:34:56)',
  }),
  bridge: z.string().regex(BRIDGE_NAME_PATTERN, {
    error: 'nics[].bridge must be a Linux interface name (1-15 of A-Z a-z 0-9 _ . -)',
  }),
  ip: z.ipv4({ error: 'nics[].ip must be an IPv4 address' }),
  /** libvirt units: kilobytes per second and kilobytes, applied in both directions. */
  bandwidth: z.object({
    averageKBps: int('nics[].bandwidth.averageKBps', 1, MAX_U32),
    peakKBps: int('nics[].bandwidth.peakKBps', 1, MAX_U32).optional(),
    burstKB: int('nics[].bandwidth.burstKB', 1, MAX_U32).optional(),
  }),
});
export type VmNicSpec = z.infer<typeof vmNicSpecSchema>;

export const vmBootSchema = z.discriminatedUnion(
  'kind',
  [
    z.object({ kind: z.literal('disk') }),
    /** Direct kernel boot: the fallback for the tiny test image, which has no bootloader. */
    z.object({
      kind: z.literal('kernel'),
      kernel: absPath('boot.kernel'),
      initrd: absPath('boot.initrd'),
      cmdline: z
        .string()
        .max(4096, { error: 'boot.cmdline must be at most 4096 characters' })
        .regex(/^[^\0-\x1f]*$/, { error: 'boot.cmdline must not contain control characters' }),
    }),
  ],
  { error: "boot.kind must be 'disk' or 'kernel'" },
);
export type VmBoot = z.infer<typeof vmBootSchema>;

export const vmSpecSchema = z
  .object({
    vmId: uuid('vmId'),
    tenantId: uuid('tenantId'),
    name: z.string().regex(VM_NAME_PATTERN, {
      error: 'name must be 1-63 characters of a-z, 0-9 and -, not starting or ending with -',
    }),
    /** Bumped on every change of the desired spec; written into the domain metadata so the agent
     *  can tell a stale definition from a current one. */
    specRevision: int('specRevision', 0, Number.MAX_SAFE_INTEGER),
    vcpus: int('vcpus', 1, 256),
    memoryMiB: int('memoryMiB', 16, 4 * 1024 * 1024),
    /** cgroup CPU controls as libvirt's `<cputune>` takes them: `quotaUs` is per vCPU per
     *  `periodUs` (libvirt applies it to each vcpuN cgroup), -1 for unlimited. */
    cpu: z.object({
      shares: int('cpu.shares', 2, 262_144),
      quotaUs: int('cpu.quotaUs', -1, 17_592_186_044_415).refine((q) => q === -1 || q >= 1000, {
        error: 'cpu.quotaUs must be -1 (unlimited) or at least 1000',
      }),
      periodUs: int('cpu.periodUs', 1000, 1_000_000),
    }),
    memtune: z
      .object({
        hardLimitMiB: int('memtune.hardLimitMiB', 16, 4 * 1024 * 1024).optional(),
        softLimitMiB: int('memtune.softLimitMiB', 16, 4 * 1024 * 1024).optional(),
      })
      .refine(
        (m) =>
          m.hardLimitMiB === undefined ||
          m.softLimitMiB === undefined ||
          m.softLimitMiB <= m.hardLimitMiB,
        {
          error: 'memtune.softLimitMiB must not exceed memtune.hardLimitMiB',
          path: ['softLimitMiB'],
        },
      )
      .optional(),
    /** cgroup v1 blkio weight range, which is also what libvirt's schema accepts. */
    blkio: z.object({ weight: int('blkio.weight', 100, 1000) }),
    disks: z.array(vmDiskSpecSchema).max(20, { error: 'disks must have at most 20 entries' }),
    /** The NoCloud `cidata` image: attached raw and read-only. */
    seed: z.object({ path: absPath('seed.path') }),
    nics: z.array(vmNicSpecSchema).max(8, { error: 'nics must have at most 8 entries' }),
    isolation: z.object({
      /** `required`: refuse to run where sVirt (SELinux or AppArmor) cannot be enforced, unless
       *  the host's operator explicitly allowed weaker isolation. `preferred`: run anyway and say
       *  so in the isolation report. */
      svirt: z.enum(['required', 'preferred'], {
        error: "isolation.svirt must be 'required' or 'preferred'",
      }),
      /** The cluster-unique MCS category pair `c1,c2`, allocated by the control plane. */
      mcs: z
        .object({ c1: int('isolation.mcs.c1', 0, 1023), c2: int('isolation.mcs.c2', 0, 1023) })
        .refine((m) => m.c1 < m.c2, {
          error: 'isolation.mcs.c1 must be less than isolation.mcs.c2',
          path: ['c2'],
        }),
    }),
    console: z
      .object({
        vnc: z.enum(['none', 'loopback', 'unix'], {
          error: "console.vnc must be 'none', 'loopback' or 'unix'",
        }),
        vncSocketPath: absPath('console.vncSocketPath').optional(),
      })
      .refine((c) => c.vnc !== 'unix' || c.vncSocketPath !== undefined, {
        error: "console.vncSocketPath is required when console.vnc is 'unix'",
        path: ['vncSocketPath'],
      }),
    boot: vmBootSchema,
    machine: z.enum(['pc', 'q35'], { error: "machine must be 'pc' or 'q35'" }).optional(),
  })
  .superRefine((spec, ctx) => {
    const unique = (collection: 'disks' | 'nics', key: string, values: string[]) => {
      const seen = new Set<string>();
      values.forEach((v, i) => {
        if (seen.has(v))
          ctx.addIssue({
            code: 'custom',
            message: `${collection}[].${key} must be unique`,
            path: [collection, i, key],
          });
        seen.add(v);
      });
    };
    unique(
      'disks',
      'id',
      spec.disks.map((d) => d.id),
    );
    unique(
      'disks',
      'path',
      spec.disks.map((d) => d.path),
    );
    unique(
      'nics',
      'id',
      spec.nics.map((n) => n.id),
    );
    unique(
      'nics',
      'mac',
      spec.nics.map((n) => n.mac),
    );
    if (spec.disks.some((d) => d.path === spec.seed.path))
      ctx.addIssue({
        code: 'custom',
        message: 'seed.path must differ from every disk path',
        path: ['seed', 'path'],
      });
    if (spec.boot.kind === 'disk' && spec.disks.length === 0)
      ctx.addIssue({
        code: 'custom',
        message: "disks must not be empty when boot.kind is 'disk'",
        path: ['disks'],
      });
    const orders = spec.disks.flatMap((d) => (d.bootOrder === undefined ? [] : [d.bootOrder]));
    if (new Set(orders).size !== orders.length)
      ctx.addIssue({
        code: 'custom',
        message: 'disks[].bootOrder must be unique',
        path: ['disks'],
      });
    if (spec.memtune?.hardLimitMiB !== undefined && spec.memtune.hardLimitMiB < spec.memoryMiB)
      ctx.addIssue({
        code: 'custom',
        // A hard limit below guest RAM gets QEMU OOM-killed as soon as the guest touches its memory.
        message: 'memtune.hardLimitMiB must be at least memoryMiB',
        path: ['memtune', 'hardLimitMiB'],
      });
  });
export type VmSpec = z.infer<typeof vmSpecSchema>;
