/**
 * The host monitor's pass: hosts whose heartbeat is older than the timeout become `unreachable`
 * and the VMs on them `unknown`, never `stopped` (a silent host's guests may well be running).
 * Nothing is evacuated: no fencing is configured, and restarting a VM elsewhere while it may still
 * run on the silent host would run it twice on one disk. The next heartbeat brings the host back
 * to `up` and its inventory fixes the VMs' observed states (the agent gateway does that).
 *
 * Each host's change is audited (a state change, not a routine pass), in the same transaction.
 */
import { Logger } from '@nestjs/common';
import { markSilentHosts, recordAudit, withPlatform, type Db } from '@palisade/db';

export interface MonitorReport {
  unreachable: string[];
  vmsUnknown: number;
}

export async function monitorHosts(db: Db, timeoutMs: number): Promise<MonitorReport> {
  const report = await withPlatform(
    db,
    'host monitor: mark silent hosts unreachable',
    async (tx) => {
      const { unreachable, vmsUnknown } = await markSilentHosts(tx, { timeoutMs });
      for (const host of unreachable) {
        await recordAudit(tx, {
          tenantId: null,
          actorType: 'system',
          actorId: 'host-monitor',
          actorName: 'host monitor',
          action: 'host.state.change',
          targetType: 'host',
          targetId: host.id,
          outcome: 'success',
          details: { from: 'up', to: 'unreachable', reason: `no heartbeat for ${timeoutMs} ms` },
        });
      }
      return { unreachable: unreachable.map((h) => h.name), vmsUnknown };
    },
  );
  if (report.unreachable.length > 0)
    new Logger('HostMonitor').warn(
      `unreachable (no heartbeat for ${timeoutMs} ms): ${report.unreachable.join(', ')}; ${report.vmsUnknown} VM(s) now unknown`,
    );
  return report;
}
