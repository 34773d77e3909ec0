/**
 * Operations: every change a tenant made, with its steps and, when it failed, why. Kept live by
 * polling while any listed operation is unfinished (a long-poll through the batching tRPC link
 * would hold back every other query in its batch; `operations.follow` serves REST clients).
 */
import type { Operation } from '@palisade/contracts';
import { ApiErrorView, Card, Loading, useApi, useTenantQuery } from '@palisade/ui';
import { OperationTimeline } from '../parts';
import { isFinished } from '../view';

/** How often unfinished operations are re-read. */
export const POLL_MS = 2000;

export const whileUnfinished = (page: { items: Operation[] } | undefined) =>
  page?.items.some((op) => !isFinished(op)) ? POLL_MS : false;

export function LiveNote({ items }: { items: Operation[] }) {
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
