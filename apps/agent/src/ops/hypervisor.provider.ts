/**
 * The `Hypervisor` the agent drives: libvirt (virsh, qemu-img, iproute2) by default, or the
 * in-memory simulated host when AGENT_HYPERVISOR=simulated (fleet and workflow tests: many
 * agents on one machine, real mTLS and HTTP, no guests).
 */
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import type { FactoryProvider } from '@nestjs/common';
import {
  LibvirtHypervisor,
  LinuxSegments,
  SimulatedHypervisor,
  type Hypervisor,
} from '@palisade/hypervisor';
import { AGENT_CONFIG, type AgentConfig } from '../config';

export const HYPERVISOR = Symbol('HYPERVISOR');

export function createHypervisor(c: AgentConfig): Hypervisor {
  if (c.AGENT_HYPERVISOR === 'simulated') return new SimulatedHypervisor();
  return new LibvirtHypervisor({
    uri: c.LIBVIRT_URI,
    // Volumes sit on their base images: both directories are the host's own.
    volumeDirs: [path.join(c.AGENT_STATE_DIR, 'volumes'), path.join(c.AGENT_STATE_DIR, 'images')],
    segments: new LinuxSegments(c.AGENT_NETNS ? { netns: c.AGENT_NETNS } : {}),
    ...(c.AGENT_LUKS_ITER_MS === undefined ? {} : { luksIterTimeMs: c.AGENT_LUKS_ITER_MS }),
  });
}

/** Defines (and starts) the domains of AGENT_SIMULATED_PRELOAD on a simulated host. */
async function preload(hv: Hypervisor, file: string): Promise<void> {
  const { domains } = JSON.parse(await readFile(file, 'utf8')) as {
    domains: { xml: string; start?: boolean }[];
  };
  for (const d of domains) {
    const { uuid } = await hv.defineDomain(d.xml);
    if (d.start) await hv.start(uuid);
  }
}

export const hypervisorProvider: FactoryProvider<Hypervisor> = {
  provide: HYPERVISOR,
  inject: [AGENT_CONFIG],
  async useFactory(c: AgentConfig) {
    const hv = createHypervisor(c);
    if (c.AGENT_HYPERVISOR === 'simulated' && c.AGENT_SIMULATED_PRELOAD)
      await preload(hv, c.AGENT_SIMULATED_PRELOAD);
    return hv;
  },
};
