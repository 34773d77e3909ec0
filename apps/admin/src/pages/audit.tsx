/** The global audit log: every tenant's events and the platform's own, newest first. */
import { useInfiniteQuery } from '@tanstack/react-query';
import { ApiErrorView, AuditTable, Card, Loading, useApi } from '@palisade/ui';

export function AuditPage() {
  const { api } = useApi();
  const audit = useInfiniteQuery({
    queryKey: ['admin', 'audit'],
    queryFn: ({ pageParam }) =>
      api.admin.audit.list.query({ limit: 50, ...(pageParam ? { cursor: pageParam } : {}) }),
    initialPageParam: '',
    getNextPageParam: (last) => last.nextCursor ?? undefined,
  });
  return (
    <Card title="Global audit log" level={1}>
      {audit.isError ? (
        <ApiErrorView error={audit.error} onRetry={() => void audit.refetch()} />
      ) : !audit.data ? (
        <Loading what="the audit log" />
      ) : (
        <AuditTable
          showTenant
          events={audit.data.pages.flatMap((p) => p.items)}
          more={audit.hasNextPage ? () => void audit.fetchNextPage() : undefined}
        />
      )}
    </Card>
  );
}
