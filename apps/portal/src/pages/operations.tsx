/**
 * Operations: every change a tenant made, with its steps and, when it failed, why. Kept live by
 * polling while any listed operation is unfinished (a long-poll through the batching tRPC link
 * would hold back every other query in its batch; `operations.follow` serves REST clients).
 */
import type { Operation } from '@palisade/contracts';
import { ApiErrorView, Card, Loading, Time, useApi, useTenantQuery } from '@palisade/ui';
import { OperationTimeline, StateBadge } from '../parts';
import { isFinished } from '../view';

/** How often unfinished operations are re-read. */
export const POLL_MS = 2000;

const whileUnfinished = (page: { items: Operation[] } | undefined) =>
  page?.items.some((op) => !isFinished(op)) ? POLL_MS : false;

function LiveNote({ items }: { items: Operation[] }) {
  return items.some((op) => !isFinished(op)) ? (
    <p className="pl-note" role="status">
      Live: unfinished operations are re-read every {POLL_MS / 1000} s. A pending operation stays
      pending until a worker runs it.
    </p>
  ) : null;
}

export function OperationsPage() {
  const { api } = useApi();
  const ops = useTenantQuery(['operations'], () => api.operations.list.query({ limit: 50 }), {
    refetchInterval: whileUnfinished,
  });
  return (
    <Card title="Operations" level={1}>
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
  );
}

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
          <dt>Weakened isolation</dt>
          <dd>
            {v.weakenings.length === 0 ? (
              'none'
            ) : (
              <ul aria-label="Weakened isolation">
                {v.weakenings.map((w) => (
                  <li key={w.mechanism}>
                    {w.mechanism}: {w.reason}
                  </li>
                ))}
              </ul>
            )}
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
