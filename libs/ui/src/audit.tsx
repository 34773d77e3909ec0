/**
 * An audit log as a table: who did what to which object, with what outcome, and the request ID
 * that finds it in the API's logs. Pure; the portal (one tenant) and the console (every tenant)
 * both use it.
 */
import type { AuditEvent } from '@palisade/contracts';
import { Time } from './forms';

export function AuditTable(props: {
  events: AuditEvent[];
  /** Show the tenant column (the global log). */
  showTenant?: boolean;
  /** Loads the next page; absent on the last one. */
  more?: () => void;
}) {
  if (props.events.length === 0) return <p className="pl-note">Nothing audited yet.</p>;
  return (
    <>
      <table className="pl-table" aria-label="Audit events">
        <thead>
          <tr>
            <th>When</th>
            {props.showTenant && <th>Tenant</th>}
            <th>Who</th>
            <th>Action</th>
            <th>Target</th>
            <th>Outcome</th>
            <th>Request</th>
          </tr>
        </thead>
        <tbody>
          {props.events.map((e) => (
            <tr key={e.id}>
              <td>
                <Time iso={e.createdAt} />
              </td>
              {props.showTenant && (
                <td>
                  <code>{e.tenantId ?? 'platform'}</code>
                </td>
              )}
              <td>
                {e.actorName ?? e.actorId} <span className="pl-note">({e.actorType})</span>
              </td>
              <td>
                <code>{e.action}</code>
              </td>
              <td>
                {e.targetType ?? '—'} {e.targetId && <code>{e.targetId}</code>}
              </td>
              <td>{e.outcome}</td>
              <td>{e.requestId && <code>{e.requestId}</code>}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {props.more && (
        <div className="pl-actions">
          <button type="button" className="pl-button pl-button-light" onClick={props.more}>
            Load more
          </button>
        </div>
      )}
    </>
  );
}
