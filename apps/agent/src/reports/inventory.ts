/**
 * The heartbeat's inventory from the host probe and the compliance it implies. Pure: the probe
 * does the I/O. Capacity is what the host has, not what is free: the control plane subtracts its
 * own claims and applies its allocation ratios.
 */
import type { HeartbeatRequest } from '@palisade/contracts';
import type { ComplianceReport, HostProbe } from '../host/compliance';

export function inventoryOf(
  probe: HostProbe,
  compliance: ComplianceReport,
): Omit<HeartbeatRequest, 'domains'> {
  return {
    probe: {
      kernel: probe.kernel,
      cpuModel: probe.cpu.model,
      libvirtVersion: probe.libvirt.version ?? null,
      qemuVersion: probe.libvirt.qemuVersion ?? null,
    },
    capacity: {
      cpus: probe.cpu.count,
      ramMib: probe.memoryMiB,
      // The volume directory's file system; unknown (no such directory yet) counts as none.
      diskGib: Math.floor(probe.storage?.totalGiB ?? 0),
    },
    securityModels: probe.libvirt.securityModels,
    acceleration: compliance.acceleration,
    compliance,
  };
}
