import { z } from 'zod';

/**
 * A VM's isolation report: what its host *measured* for each isolation mechanism, each value
 * with the place it was read (a cgroupfs file, the live domain XML, sysfs, `qemu-img info`), so a
 * tenant or operator can check the claim. The agent produces it on the VM's host; the API passes
 * it to the VM's tenant unchanged.
 *
 * It never carries what the spec asked for: comparing the two is the reader's job (the designer's
 * `IsolationSummary` is the other half). Browser-safe: zod only, no I/O.
 */

const measured = <T extends z.ZodType>(value: T) => z.object({ value, source: z.string() });

export const isolationReportSchema = z.object({
  vmId: z.string(),
  domainName: z.string(),
  measuredAt: z.iso.datetime(),
  /** Every `<seclabel>` of the live domain (libvirt adds the ones it applied, e.g. `dac`). */
  seclabels: z.array(
    z.object({
      model: z.string().nullable(),
      type: z.string(),
      label: z.string().nullable(),
      imageLabel: z.string().nullable(),
      source: z.string(),
    }),
  ),
  cgroups: z.object({
    /** The domain's cgroup below each controller's root, e.g. `machine/palisade-x.partition/qemu-3-name.libvirt-qemu`; null when not found. */
    path: z.string().nullable(),
    cpuShares: measured(z.number().int().nullable()),
    /** cputune quota and period as applied per vCPU thread group. */
    vcpus: z.array(
      z.object({
        vcpu: z.number().int(),
        quotaUs: z.number().int(),
        periodUs: z.number().int(),
        source: z.string(),
      }),
    ),
    /** null: unlimited (cgroup v1 reports PAGE_COUNTER_MAX) or not readable; `source` says which. */
    memoryHardLimitBytes: measured(z.number().int().nullable()),
    memorySoftLimitBytes: measured(z.number().int().nullable()),
    /** null where the kernel's I/O scheduler exposes no `blkio.weight` (e.g. none/mq-deadline). */
    blkioWeight: measured(z.number().int().nullable()),
  }),
  network: z.array(
    z.object({
      mac: z.string(),
      tap: z.string().nullable(),
      /** The bridge the tap is enslaved to, from sysfs `master`. */
      bridge: measured(z.string().nullable()),
      /** The filterref in the live XML, with its parameters. */
      filter: measured(z.string().nullable()),
      filterParameters: z.record(z.string(), z.string()),
      /** The filter libvirt's nwfilter driver has bound to the tap (`virsh nwfilter-binding-list`). */
      binding: measured(z.string().nullable()),
      /** The `<bandwidth>` of the live interface (KiB/s averages, as libvirt writes them); null
       *  when the live XML has none, i.e. the NIC's traffic is not rate-limited. Optional only so
       *  reports from agents older than this field still parse. */
      bandwidth: measured(
        z
          .object({
            inboundAverageKBps: z.number().int().nullable(),
            outboundAverageKBps: z.number().int().nullable(),
          })
          .nullable(),
      ).optional(),
    }),
  ),
  storage: z.array(
    z.object({
      target: z.string(),
      path: z.string(),
      readonly: z.boolean(),
      format: z.string().nullable(),
      /** `luks`, or `none` for an unencrypted image (e.g. the read-only seed). */
      encryption: measured(z.string()),
    }),
  ),
  /**
   * Every mechanism the measurements show weaker than Palisade's standard, in words a tenant can
   * read, e.g. `bandwidth limit not enforced: kernel lacks sfq`. Derived from the values above
   * (no MAC label, no `<bandwidth>`, an unencrypted writable disk), never from the spec.
   */
  weakenings: z
    .array(z.object({ mechanism: z.string(), reason: z.string(), source: z.string() }))
    .default([]),
});
export type IsolationReport = z.infer<typeof isolationReportSchema>;

/** One mechanism compared: what the VM's spec asks for beside what its host measured. `weakened`:
 *  the host did not enforce it and said so when it started the VM (the operator allowed it);
 *  `unmeasured`: the report has nothing to compare (e.g. the host could not read the file). */
export const isolationCheckSchema = z.object({
  mechanism: z.enum(['svirt', 'cpu', 'memory', 'network', 'filter', 'bandwidth', 'storage']),
  status: z.enum(['pass', 'fail', 'weakened', 'unmeasured']),
  expected: z.string(),
  measured: z.string(),
  source: z.string(),
});
export type IsolationCheck = z.infer<typeof isolationCheckSchema>;

/** A VM's isolation as a tenant reads it: the host's last measurement, and each mechanism checked
 *  against the VM's spec. `report` is null when the VM has not run yet, or its host could not
 *  measure it (`error` says why). */
export const vmIsolationSchema = z.object({
  vmId: z.uuid(),
  measuredAt: z.iso.datetime().nullable(),
  verdict: z.enum(['isolated', 'weakened', 'violated', 'unknown']),
  checks: z.array(isolationCheckSchema),
  weakenings: z.array(z.object({ mechanism: z.string(), reason: z.string() })),
  error: z.string().nullable(),
  report: isolationReportSchema.nullable(),
});
export type VmIsolation = z.infer<typeof vmIsolationSchema>;
