/**
 * Pushes what this host knows to the control plane's agent gateway, over mTLS with the host's
 * current certificate: a heartbeat with the inventory every AGENT_HEARTBEAT_SECONDS, and the
 * libvirt lifecycle events from the event queue as they happen, in batches, retried with backoff
 * until the gateway acknowledges them. After libvirt's event stream was interrupted (or the queue
 * overflowed) the next batch carries the full domain list, because events were lost.
 *
 * Must never name the host in a body: the gateway takes the host from the certificate.
 */
import {
  MAX_EVENT_BATCH,
  type EventBatch,
  type EventBatchResponse,
  type HeartbeatRequest,
  type HeartbeatResponse,
  type ReportedDomain,
} from '@palisade/contracts';
import type { DomainEvent, Hypervisor } from '@palisade/hypervisor';
import type { EventQueue } from './event-queue';

export interface ReporterLog {
  log(message: string): void;
  warn(message: string): void;
}

export interface ReporterOptions {
  hypervisor: Pick<Hypervisor, 'events' | 'listDomains' | 'getDomain'>;
  queue: EventQueue;
  /** The host's inventory apart from its domains (probe, capacity, compliance). */
  inventory: () => Promise<Omit<HeartbeatRequest, 'domains'>>;
  /** POSTs to a gateway path with the host's current certificate. */
  send: <T>(path: string, body: unknown) => Promise<T>;
  log: ReporterLog;
  heartbeatMs: number;
  retry?: { initialMs: number; maxMs: number };
}

export class HostReporter {
  private readonly retry: { initialMs: number; maxMs: number };
  /** Domain UUID -> Palisade VM ID (null: a foreign domain), from listings and look-ups. */
  private readonly vmIds = new Map<string, string | null>();
  private enrich: Promise<void> = Promise.resolve();
  private unsubscribe?: () => void;
  private heartbeatTimer?: NodeJS.Timeout;
  private retryTimer?: NodeJS.Timeout;
  private flushing = false;
  private backoffMs: number;
  private stopped = true;

  constructor(private readonly o: ReporterOptions) {
    this.retry = o.retry ?? { initialMs: 1000, maxMs: 60_000 };
    this.backoffMs = this.retry.initialMs;
  }

  start(): void {
    this.stopped = false;
    this.unsubscribe = this.o.hypervisor.events((e) => this.onEvent(e));
    void this.beat();
  }

  stop(): void {
    this.stopped = true;
    this.unsubscribe?.();
    clearTimeout(this.heartbeatTimer);
    clearTimeout(this.retryTimer);
  }

  /** Every domain on the host, Palisade's with their VM ID. */
  async domains(): Promise<ReportedDomain[]> {
    const list = await this.o.hypervisor.listDomains();
    return list.map((d) => {
      this.vmIds.set(d.uuid, d.palisade?.vmId ?? null);
      return {
        uuid: d.uuid,
        name: d.name,
        state: d.state,
        ...(d.palisade ? { vmId: d.palisade.vmId } : {}),
      };
    });
  }

  private onEvent(e: DomainEvent): void {
    // Look-ups are asynchronous; the chain keeps the queue in the order libvirt reported.
    this.enrich = this.enrich.then(async () => {
      if (e.kind === 'disconnected') {
        this.o.queue.push({ kind: 'disconnected', reason: e.reason, at: e.at.toISOString() });
      } else if (e.kind === 'reconnected') {
        // libvirt answers again: the resync the disconnect asked for can succeed now, so a send
        // waiting out its backoff (its domain listing failed while libvirt was away) goes now.
        this.o.queue.push({ kind: 'reconnected', at: e.at.toISOString() });
        this.backoffMs = this.retry.initialMs;
        if (this.retryTimer) {
          clearTimeout(this.retryTimer);
          this.retryTimer = undefined;
        }
      } else {
        const vmId = await this.vmIdOf(e.uuid);
        this.o.queue.push({
          kind: 'lifecycle',
          uuid: e.uuid,
          name: e.name,
          event: e.event,
          detail: e.detail,
          at: e.at.toISOString(),
          ...(vmId ? { vmId } : {}),
        });
      }
      void this.flush();
    });
  }

  private async vmIdOf(uuid: string): Promise<string | null> {
    if (!uuid) return null;
    const known = this.vmIds.get(uuid);
    if (known !== undefined) return known;
    // A domain defined since the last listing: its metadata says whose it is. An undefined one
    // is gone; then only what an earlier listing said is left.
    const d = await this.o.hypervisor.getDomain(uuid).catch(() => null);
    if (!d) return null;
    const vmId = d.palisade?.vmId ?? null;
    this.vmIds.set(uuid, vmId);
    return vmId;
  }

  /** Sends queued events until the queue is empty or the gateway fails (then retries later). */
  private async flush(): Promise<void> {
    if (this.flushing || this.stopped || this.retryTimer) return;
    this.flushing = true;
    try {
      for (;;) {
        const events = this.o.queue.pending(MAX_EVENT_BATCH);
        if (events.length === 0) break;
        const resync = this.o.queue.resyncNeeded;
        const batch: EventBatch = { events, ...(resync ? { domains: await this.domains() } : {}) };
        const answer = await this.o.send<EventBatchResponse>('/agent/v1/events', batch);
        this.o.queue.acknowledge(answer.acknowledged);
        if (resync) this.o.queue.resynced();
        this.backoffMs = this.retry.initialMs;
      }
    } catch (e) {
      const wait = this.backoffMs;
      this.backoffMs = Math.min(this.backoffMs * 2, this.retry.maxMs);
      this.o.log.warn(`sending events failed, retrying in ${wait} ms: ${message(e)}`);
      this.retryTimer = setTimeout(() => {
        this.retryTimer = undefined;
        void this.flush();
      }, wait);
    } finally {
      this.flushing = false;
    }
  }

  private async beat(): Promise<void> {
    if (this.stopped) return;
    try {
      // Without libvirt the heartbeat still goes out (the host is alive, its compliance says
      // libvirt is unreachable), and without a domain list the control plane marks the VMs unknown.
      const [inventory, domains] = await Promise.all([
        this.o.inventory(),
        this.domains().catch((e: unknown) => {
          this.o.log.warn(`cannot list domains for the heartbeat: ${message(e)}`);
          return undefined;
        }),
      ]);
      const answer = await this.o.send<HeartbeatResponse>('/agent/v1/heartbeat', {
        ...inventory,
        ...(domains ? { domains } : {}),
      } satisfies HeartbeatRequest);
      if (answer.vmsUpdated > 0)
        this.o.log.log(`heartbeat: host ${answer.state}, ${answer.vmsUpdated} VM state(s) fixed`);
    } catch (e) {
      this.o.log.warn(`heartbeat failed: ${message(e)}`);
    }
    // Events that waited for the gateway go out with the next heartbeat at the latest.
    void this.flush();
    if (!this.stopped) this.heartbeatTimer = setTimeout(() => void this.beat(), this.o.heartbeatMs);
  }
}

const message = (e: unknown) => (e instanceof Error ? e.message : String(e));
