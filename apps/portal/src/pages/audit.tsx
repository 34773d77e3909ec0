/** The tenant's audit log, newest first, a page at a time. */
import { useInfiniteQuery } from '@tanstack/react-query';
import { ApiErrorView, AuditTable, Card, Loading, useApi, useTenant } from '@palisade/ui';

export function AuditPage() {
  const { api } = useApi();
  const { tenant } = useTenant();
  const audit = useInfiniteQuery({
    queryKey: [tenant.id, 'audit'],
    queryFn: ({ pageParam }) =>
      api.audit.list.query({ limit: 50, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  return (
    <Card title="Audit log" level={1}>
      {audit.isError ? (
        <ApiErrorView error={audit.error} onRetry={() => void audit.refetch()} />
      ) : !audit.data ? (
        <Loading what="the audit log" />
      ) : (
        <AuditTable
          events={audit.data.pages.flatMap((p) => p.items)}
          more={audit.hasNextPage ? () => void audit.fetchNextPage() : undefined}
        />
      )}
    </Card>
  );
}
