import { z } from 'zod';

const positive = (max: number, unit: string) =>
  z
    .number()
    .int('must be a whole number')
    .min(1, `must be at least 1 ${unit}`)
    .max(max, `must be at most ${max} ${unit}`);

/** A VM size and the cgroup limits the designer turns into <cputune>, <iotune> and <bandwidth>. */
export const flavorCreateInput = z
  .object({
    name: z
      .string()
      .min(1, 'must not be empty')
      .max(63, 'must be at most 63 characters')
      .regex(/^[a-z0-9][a-z0-9.-]*$/, 'must be lowercase letters, digits, dots and dashes'),
    vcpus: positive(128, 'vCPU'),
    ramMiB: z
      .number()
      .int('must be a whole number')
      .min(64, 'must be at least 64 MiB')
      .max(1_048_576, 'must be at most 1 TiB'),
    diskGiB: positive(65_536, 'GiB'),
    cpuShares: z.number().int().min(2).max(262_144).default(1024),
    cpuPeriodUs: z
      .number()
      .int()
      .min(1000, 'must be at least 1000 µs')
      .max(1_000_000, 'must be at most 1 s')
      .default(100_000),
    /** Per-vCPU CFS quota; null means no cap. */
    cpuQuotaUs: z.number().int().min(1000, 'must be at least 1000 µs').nullable().default(null),
    diskIops: z.number().int().min(1).nullable().default(null),
    diskBytesSec: z.number().int().min(1).nullable().default(null),
    netAverageKbps: z.number().int().min(1).nullable().default(null),
    netPeakKbps: z.number().int().min(1).nullable().default(null),
    svirtRequired: z.boolean().default(true),
  })
  .refine(
    (f) => f.netPeakKbps === null || f.netAverageKbps === null || f.netPeakKbps >= f.netAverageKbps,
    {
      path: ['netPeakKbps'],
      message: 'must be at least netAverageKbps',
    },
  );
export type FlavorCreateInput = z.infer<typeof flavorCreateInput>;

export const flavorSchema = z.object({
  id: z.uuid(),
  name: z.string(),
  vcpus: z.number().int(),
  ramMiB: z.number().int(),
  diskGiB: z.number().int(),
  cpuShares: z.number().int(),
  cpuPeriodUs: z.number().int(),
  cpuQuotaUs: z.number().int().nullable(),
  diskIops: z.number().int().nullable(),
  diskBytesSec: z.number().int().nullable(),
  netAverageKbps: z.number().int().nullable(),
  netPeakKbps: z.number().int().nullable(),
  svirtRequired: z.boolean(),
  disabled: z.boolean(),
});
export type Flavor = z.infer<typeof flavorSchema>;

export const flavorSetDisabledInput = z.object({
  id: z.uuid('must be a UUID'),
  disabled: z.boolean(),
});
