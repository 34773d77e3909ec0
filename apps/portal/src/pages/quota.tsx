/** Quota and usage: what operators allow the tenant, and how much of it is in use. */
import type { ResourceCounts } from '@palisade/contracts';
import { ApiErrorView, Card, Loading, useApi, useTenantQuery } from '@palisade/ui';
import { quotaRows } from '../view';

export function QuotaTable(props: { quota: { limits: ResourceCounts; usage: ResourceCounts } }) {
  return (
    <table className="pl-table" aria-label="Quota and usage">
      <thead>
        <tr>
          <th>Resource</th>
          <th>Used</th>
          <th>Limit</th>
          <th>In use</th>
        </tr>
      </thead>
      <tbody>
        {quotaRows(props.quota).map((r) => (
          <tr key={r.key} aria-label={r.label}>
            <th scope="row">{r.label}</th>
            <td>{r.used}</td>
            <td>{r.limit}</td>
            <td>
              <meter
                className="pl-meter"
                min={0}
                max={100}
                value={r.percent}
                aria-label={`${r.label}: ${r.text}`}
              />{' '}
              {r.text}
            </td>
          </tr>
        ))}
      </tbody>
    </table>
  );
}

export function QuotaCard() {
  const { api } = useApi();
  const quota = useTenantQuery(['quota'], () => api.quota.get.query());
  return (
    <Card title="Quota and usage">
      {quota.isError ? (
        <ApiErrorView error={quota.error} onRetry={() => void quota.refetch()} />
      ) : !quota.data ? (
        <Loading what="the quota" />
      ) : (
        <>
          <QuotaTable quota={quota.data} />
          <p className="pl-note">
            Operators set the limits. A limit of 0 means none of that resource may be created.
          </p>
        </>
      )}
    </Card>
  );
}
