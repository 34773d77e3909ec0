/**
 * The reconciler, for operators: its recent passes (what each found and did) and what hosts hold
 * that no row accounts for (quarantined: recorded, never deleted). Read-only on purpose: acting on
 * a quarantined domain or file is a person's decision on the host (docs/operations/reconciler.md).
 */
import { useInfiniteQuery } from '@tanstack/react-query';
import { useState } from 'react';
import type { ReconcileReport } from '@palisade/contracts';
import { ApiErrorView, Card, Loading, Time, useApi } from '@palisade/ui';

type QuarantineState = 'present' | 'resolved' | 'all';

/** One line per kind of finding, only those there are. */
function findingsOf(s: ReconcileReport['summary']): string[] {
  const out: string[] = [];
  const n = (count: number, what: string) => count > 0 && out.push(`${count} ${what}`);
  n(s.vms.restarted.length, 'VM(s) restarted');
  n(s.vms.left.length, 'VM(s) left off');
  n(s.vms.missing.length, 'VM(s) missing on their host');
  n(s.quarantine.new, 'newly quarantined');
  n(s.hosts.failed.length, 'host(s) not reachable');
  n(s.quota.corrected.length, 'ledger(s) corrected');
  n(s.erasedVolumeFilesRemoved.length, 'erased volume file(s) removed');
  return out;
}

export function ReconcilerPage() {
  const { api } = useApi();
  const [state, setState] = useState<QuarantineState>('present');
  const reports = useInfiniteQuery({
    queryKey: ['admin', 'reconciler', 'reports'],
    queryFn: ({ pageParam }) =>
      api.admin.reconciler.reports.query({
        limit: 20,
        ...(pageParam ? { cursor: pageParam } : {}),
      }),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const quarantine = useInfiniteQuery({
    queryKey: ['admin', 'reconciler', 'quarantine', state],
    queryFn: ({ pageParam }) =>
      api.admin.reconciler.quarantine.query({
        limit: 50,
        state,
        ...(pageParam ? { cursor: pageParam } : {}),
      }),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  const reportRows = reports.data?.pages.flatMap((p) => p.items) ?? [];
  const items = quarantine.data?.pages.flatMap((p) => p.items) ?? [];
  return (
    <>
      <Card title="Reconciler passes" level={1}>
        {reports.isError ? (
          <ApiErrorView error={reports.error} onRetry={() => void reports.refetch()} />
        ) : !reports.data ? (
          <Loading what="reconciler reports" />
        ) : reportRows.length === 0 ? (
          <p className="pl-note">No pass yet: the worker runs one every RECONCILE_EVERY_MS.</p>
        ) : (
          <table className="pl-table" aria-label="Reconciler passes">
            <thead>
              <tr>
                <th>Finished</th>
                <th>Worker</th>
                <th>Hosts checked</th>
                <th>Findings</th>
                <th>Deadlines</th>
                <th>Tenants recounted</th>
              </tr>
            </thead>
            <tbody>
              {reportRows.map((r) => (
                <tr key={r.id} aria-label={`Pass ${r.id}`}>
                  <td>
                    <Time iso={r.finishedAt} />
                  </td>
                  <td>{r.worker}</td>
                  <td>{r.summary.hosts.checked}</td>
                  <td>
                    {r.findings === 0 ? (
                      'none'
                    ) : (
                      <ul aria-label="Findings">
                        {findingsOf(r.summary).map((f) => (
                          <li key={f}>{f}</li>
                        ))}
                      </ul>
                    )}
                  </td>
                  <td>
                    {r.summary.deadlines.overdueNow} overdue,{' '}
                    {r.summary.deadlines.endedSinceLastReport} ended
                  </td>
                  <td>{r.summary.quota.tenantsChecked}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {reports.hasNextPage && (
          <button type="button" className="pl-button" onClick={() => void reports.fetchNextPage()}>
            Older passes
          </button>
        )}
      </Card>

      <Card title="Quarantine">
        <p className="pl-note">
          Domains, volume files and bridges on hosts that no record accounts for. The reconciler
          records them and never deletes them.
        </p>
        <label>
          Show{' '}
          <select
            aria-label="Show"
            value={state}
            onChange={(e) => setState(e.target.value as QuarantineState)}
          >
            <option value="present">still on their host</option>
            <option value="resolved">no longer found</option>
            <option value="all">all</option>
          </select>
        </label>
        {quarantine.isError ? (
          <ApiErrorView error={quarantine.error} onRetry={() => void quarantine.refetch()} />
        ) : !quarantine.data ? (
          <Loading what="quarantined items" />
        ) : items.length === 0 ? (
          <p className="pl-note">Nothing quarantined.</p>
        ) : (
          <table className="pl-table" aria-label="Quarantined items">
            <thead>
              <tr>
                <th>Host</th>
                <th>Kind</th>
                <th>What</th>
                <th>Reason</th>
                <th>State</th>
                <th>First seen</th>
                <th>Last seen</th>
              </tr>
            </thead>
            <tbody>
              {items.map((q) => (
                <tr key={q.id} aria-label={`Quarantined ${q.kind} ${q.name ?? q.ref}`}>
                  <td>{q.hostName}</td>
                  <td>{q.kind}</td>
                  <td>
                    {q.name && <div>{q.name}</div>}
                    <code>{q.ref}</code>
                  </td>
                  <td>{q.reason}</td>
                  <td>{q.state ?? ''}</td>
                  <td>
                    <Time iso={q.firstSeenAt} />
                  </td>
                  <td>
                    {q.resolvedAt ? (
                      <>
                        gone since <Time iso={q.resolvedAt} />
                      </>
                    ) : (
                      <Time iso={q.lastSeenAt} />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {quarantine.hasNextPage && (
          <button
            type="button"
            className="pl-button"
            onClick={() => void quarantine.fetchNextPage()}
          >
            More
          </button>
        )}
      </Card>
    </>
  );
}
