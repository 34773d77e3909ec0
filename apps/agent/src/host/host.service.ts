import { Inject, Injectable } from '@nestjs/common';
import { AGENT_CONFIG, type AgentConfig } from '../config';
import { assessCompliance, type ComplianceReport, type HostProbe } from './compliance';
import { probeHost } from './probe';

const FRESH_MS = 60_000;

/**
 * The host probe, shared: concurrent callers wait for the one probe in flight, and a result stays
 * fresh for a minute. A probe boots test guests, which costs seconds of CPU on a small host.
 */
@Injectable()
export class HostService {
  private last: { at: number; probe: HostProbe } | null = null;
  private inFlight: Promise<HostProbe> | null = null;

  constructor(@Inject(AGENT_CONFIG) private readonly config: AgentConfig) {}

  /** `maxAgeMs`: heartbeats accept an older probe, so they do not boot test guests every minute. */
  async probe(maxAgeMs = FRESH_MS): Promise<HostProbe> {
    if (this.last && Date.now() - this.last.at < maxAgeMs) return this.last.probe;
    this.inFlight ??= probeHost({
      libvirtUri: this.config.LIBVIRT_URI,
      stateDir: this.config.AGENT_STATE_DIR,
      guest:
        this.config.AGENT_PROBE_KERNEL && this.config.AGENT_PROBE_INITRD
          ? {
              kernel: this.config.AGENT_PROBE_KERNEL,
              initrd: this.config.AGENT_PROBE_INITRD,
              marker: 'PALISADE-TINY BOOT',
            }
          : undefined,
    })
      .then((probe) => {
        this.last = { at: Date.now(), probe };
        return probe;
      })
      .finally(() => {
        this.inFlight = null;
      });
    return this.inFlight;
  }

  async compliance(): Promise<ComplianceReport> {
    return assessCompliance(await this.probe());
  }
}
