/**
 * One VM: what it is, the timeline of its operations, and its isolation as its host measured it.
 */
import { ApiErrorView, Card, Loading, Time, useApi, useTenantQuery } from '@palisade/ui';
import { OperationTimeline, StateBadge } from '../parts';
import { LiveNote, whileUnfinished } from './operations';

/** One VM: what it is, and the timeline of its operations. */
export function VmDetailPage({ id }: { id: string }) {
  const { api } = useApi();
  const vm = useTenantQuery(['vms', id], () => api.vms.get.query({ id }));
  const ops = useTenantQuery(
    ['operations', { targetId: id }],
    () => api.operations.list.query({ targetId: id, limit: 50 }),
    { refetchInterval: whileUnfinished },
  );
  if (vm.isError) return <ApiErrorView error={vm.error} onRetry={() => void vm.refetch()} />;
  if (!vm.data) return <Loading what="the VM" />;
  const v = vm.data;
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
        <p>
          <a href="#/vms">Back to VMs</a>
        </p>
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
