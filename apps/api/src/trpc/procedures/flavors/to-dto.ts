import type { Flavor } from '@palisade/contracts';
import type { FlavorRow } from '@palisade/db';

export const toFlavor = (r: FlavorRow): Flavor => ({
  id: r.id,
  name: r.name,
  vcpus: r.vcpus,
  ramMiB: r.ramMib,
  diskGiB: r.diskGib,
  cpuShares: r.cpuShares,
  cpuPeriodUs: r.cpuPeriodUs,
  cpuQuotaUs: r.cpuQuotaUs,
  diskIops: r.diskIops,
  diskBytesSec: r.diskBytesSec,
  netAverageKbps: r.netAverageKbps,
  netPeakKbps: r.netPeakKbps,
  svirtRequired: r.svirtRequired,
  disabled: r.disabled,
});
