/**
 * One VM: what it is, the timeline of its operations, and its isolation as its host measured it.
 */
import type { Operation, VmIsolation } from '@palisade/contracts';
import { ApiErrorView, Card, Loading, Time, useApi, useTenant, useTenantQuery } from '@palisade/ui';
import { AcceptedNotice, OperationTimeline, StateBadge } from '../parts';
import { mayWrite } from '../view';
import { useVmAction, VmActionButtons } from '../vm-actions';
import { VmReshape, VmSnapshots, VmVolumes } from './vm-manage';
import { LiveNote, whileUnfinished } from './operations';

/** One VM: what it is, and the timeline of its operations. */
export function VmDetailPage({ id }: { id: string }) {
  const { api } = useApi();
  const { tenant } = useTenant();
  const vm = useTenantQuery(['vms', id], () => api.vms.get.query({ id }));
  const isolation = useTenantQuery(['vms', id, 'isolation'], () => api.vms.isolation.query({ id }));
  const { act, accepted, setAccepted } = useVmAction();
  const ops = useTenantQuery(
    ['operations', { targetId: id }],
    () => api.operations.list.query({ targetId: id, limit: 50 }),
    { refetchInterval: whileUnfinished },
  );
  if (vm.isError) return <ApiErrorView error={vm.error} onRetry={() => void vm.refetch()} />;
  if (!vm.data) return <Loading what="the VM" />;
  const v = vm.data;
  const writable = mayWrite(tenant.role, 'resources');
  const onAccepted = (what: string, op: Operation) => setAccepted({ what, op, vmId: v.id });
  return (
    <>
      <Card title={`VM ${v.name}`} level={1}>
        <dl>
          <dt>Desired state</dt>
          <dd>
            <StateBadge state={v.desiredState} />
          </dd>
          <dt>Observed state</dt>
          <dd>
            <StateBadge state={v.observedState} />
          </dd>
          <dt>Addresses</dt>
          <dd>{v.nics.map((n) => `${n.ip} (${n.mac})`).join(', ') || '—'}</dd>
          <dt>sVirt label</dt>
          <dd>
            <code>{v.mcs ?? '—'}</code>
          </dd>
          <dt>Created</dt>
          <dd>
            <Time iso={v.createdAt} />
          </dd>
          <dt>ID</dt>
          <dd>
            <code>{v.id}</code>
          </dd>
        </dl>
        {writable && <VmActionButtons vm={v} act={act} />}
        {act.isError && <ApiErrorView error={act.error} />}
        <p>
          <a href="#/vms">Back to VMs</a>
        </p>
      </Card>
      {accepted && <AcceptedNotice what={accepted.what} op={accepted.op} />}
      {writable && v.desiredState !== 'deleted' && (
        <>
          <VmVolumes vm={v} onAccepted={onAccepted} />
          <VmSnapshots vm={v} onAccepted={onAccepted} />
          <VmReshape vm={v} onAccepted={onAccepted} />
        </>
      )}
      <Card title="Isolation">
        {isolation.isError ? (
          <ApiErrorView error={isolation.error} onRetry={() => void isolation.refetch()} />
        ) : !isolation.data ? (
          <Loading what="the isolation report" />
        ) : (
          <IsolationView report={isolation.data} />
        )}
      </Card>
      <Card title="Operations of this VM">
        {ops.isError ? (
          <ApiErrorView error={ops.error} onRetry={() => void ops.refetch()} />
        ) : !ops.data ? (
          <Loading what="operations" />
        ) : (
          <>
            <LiveNote items={ops.data.items} />
            <OperationTimeline operations={ops.data.items} empty="No operations yet." />
          </>
        )}
      </Card>
    </>
  );
}

const VERDICT: Record<VmIsolation['verdict'], string> = {
  isolated: 'Isolated: every mechanism its host measured is as the VM asks.',
  weakened:
    'Weakened: the host runs this VM with weaker isolation, which its operator allowed (see below).',
  violated: 'Violated: a mechanism its host measured differs from what the VM asks.',
  unknown: 'Unknown: the host has not measured every mechanism.',
};

/** The host's measurement, one row per mechanism, each with where the value was read. */
function IsolationView({ report }: { report: VmIsolation }) {
  return (
    <>
      <p role="status" aria-label="Isolation verdict">
        <StateBadge state={report.verdict} /> {VERDICT[report.verdict]}
      </p>
      <p className="pl-note">
        {report.measuredAt ? (
          <>
            Measured on its host <Time iso={report.measuredAt} />, right after the VM last started.
          </>
        ) : (
          'Not measured.'
        )}
        {report.error && <> {report.error}</>}
      </p>
      {report.weakenings.length > 0 && (
        <ul aria-label="Weakenings">
          {report.weakenings.map((w) => (
            <li key={w.mechanism}>
              <strong>{w.mechanism}</strong>: {w.reason}
            </li>
          ))}
        </ul>
      )}
      {report.checks.length > 0 && (
        <table className="pl-table" aria-label="Isolation checks">
          <thead>
            <tr>
              <th>Mechanism</th>
              <th>Result</th>
              <th>Expected</th>
              <th>Measured</th>
              <th>Read from</th>
            </tr>
          </thead>
          <tbody>
            {report.checks.map((c, i) => (
              <tr key={`${c.mechanism}-${i}`}>
                <td>{c.mechanism}</td>
                <td>
                  <StateBadge state={c.status} />
                </td>
                <td>{c.expected}</td>
                <td>
                  <code>{c.measured}</code>
                </td>
                <td>
                  <code>{c.source}</code>
                </td>
              </tr>
            ))}
          </tbody>
        </table>
      )}
    </>
  );
}
