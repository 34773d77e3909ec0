/** Tenants: list, onboard (optionally with a first owner), suspend and resume, set quotas. */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import {
  quotaSetInput,
  resourceCountsSchema,
  tenantCreateInput,
  type ResourceCounts,
  type Tenant,
} from '@palisade/contracts';
import {
  apiFieldErrors,
  ApiErrorView,
  Card,
  ConfirmButton,
  Loading,
  TextField,
  Time,
  useApi,
  validate,
  type FieldErrors,
} from '@palisade/ui';

const QUOTA_KEYS = Object.keys(resourceCountsSchema.shape) as (keyof ResourceCounts)[];

export function TenantsPage() {
  const { api } = useApi();
  const queryClient = useQueryClient();
  const tenants = useQuery({
    queryKey: ['admin', 'tenants'],
    queryFn: () => api.admin.tenants.list.query(),
  });
  const [quotaFor, setQuotaFor] = useState<Tenant | null>(null);
  const status = useMutation({
    mutationFn: ({ t, to }: { t: Tenant; to: 'suspend' | 'resume' }) =>
      to === 'suspend'
        ? api.admin.tenants.suspend.mutate({ id: t.id })
        : api.admin.tenants.resume.mutate({ id: t.id }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['admin', 'tenants'] }),
  });
  return (
    <>
      <Card title="Tenants" level={1}>
        {tenants.isError ? (
          <ApiErrorView error={tenants.error} onRetry={() => void tenants.refetch()} />
        ) : !tenants.data ? (
          <Loading what="tenants" />
        ) : (
          <table className="pl-table" aria-label="Tenants">
            <thead>
              <tr>
                <th>Slug</th>
                <th>Name</th>
                <th>Status</th>
                <th>Created</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {tenants.data.map((t) => (
                <tr key={t.id} aria-label={`Tenant ${t.slug}`}>
                  <td>
                    <code>{t.slug}</code>
                  </td>
                  <td>{t.name}</td>
                  <td>
                    <span className={`pl-state pl-state-${t.status}`}>{t.status}</span>
                  </td>
                  <td>
                    <Time iso={t.createdAt} />
                  </td>
                  <td>
                    <div className="pl-row-actions">
                      {t.status === 'active' && (
                        <ConfirmButton
                          label="Suspend"
                          danger
                          question={`Suspend ${t.slug}? Its users and API clients are refused at once; its VMs keep running.`}
                          onConfirm={() => status.mutate({ t, to: 'suspend' })}
                        />
                      )}
                      {t.status === 'suspended' && (
                        <ConfirmButton
                          label="Resume"
                          question={`Resume ${t.slug}?`}
                          onConfirm={() => status.mutate({ t, to: 'resume' })}
                        />
                      )}
                      <button
                        type="button"
                        className="pl-button pl-button-light"
                        onClick={() => setQuotaFor(t)}
                      >
                        Quota
                      </button>
                    </div>
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {status.isError && <ApiErrorView error={status.error} />}
      </Card>
      {quotaFor && (
        <QuotaForm key={quotaFor.id} tenant={quotaFor} onClose={() => setQuotaFor(null)} />
      )}
      <CreateTenant />
    </>
  );
}

function CreateTenant() {
  const { api } = useApi();
  const queryClient = useQueryClient();
  const [slug, setSlug] = useState('');
  const [name, setName] = useState('');
  const [ownerEmail, setOwnerEmail] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useMutation({
    mutationFn: (input: { slug: string; name: string; ownerEmail?: string }) =>
      api.admin.tenants.create.mutate(input),
    onSuccess: () => {
      setSlug('');
      setName('');
      setOwnerEmail('');
      return queryClient.invalidateQueries({ queryKey: ['admin', 'tenants'] });
    },
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  return (
    <Card title="Create a tenant">
      <form
        className="pl-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const v = validate(tenantCreateInput, {
            slug,
            name,
            ...(ownerEmail.trim() ? { ownerEmail } : {}),
          });
          setErrors(v.ok ? {} : v.errors);
          if (v.ok) create.mutate(v.value);
        }}
      >
        <TextField
          label="Slug"
          path="slug"
          value={slug}
          onChange={setSlug}
          errors={errors}
          placeholder="acme"
        />
        <TextField label="Name" path="name" value={name} onChange={setName} errors={errors} />
        <TextField
          label="First owner's email (optional)"
          path="ownerEmail"
          type="email"
          value={ownerEmail}
          onChange={setOwnerEmail}
          errors={errors}
        />
        <div className="pl-actions">
          <button type="submit" className="pl-button" disabled={create.isPending}>
            Create tenant
          </button>
        </div>
        {create.data && (
          <p role="status" className="pl-card pl-ok">
            Tenant <code>{create.data.slug}</code> created. A tenant without limits can create
            nothing: set its quota next.
          </p>
        )}
        {create.isError && <ApiErrorView error={create.error} />}
      </form>
    </Card>
  );
}

/**
 * The limits of one tenant. The API has no read of another tenant's quota for operators yet, so
 * the form starts empty and sends only the limits filled in; the answer shows limits and usage.
 */
function QuotaForm(props: { tenant: Tenant; onClose: () => void }) {
  const { api } = useApi();
  const [values, setValues] = useState<Partial<Record<keyof ResourceCounts, string>>>({});
  const [errors, setErrors] = useState<FieldErrors>({});
  const set = useMutation({
    mutationFn: (input: { tenantId: string; limits: Partial<ResourceCounts> }) =>
      api.admin.quotas.set.mutate(input),
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  return (
    <Card title={`Quota of ${props.tenant.slug}`}>
      <form
        className="pl-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const limits = Object.fromEntries(
            Object.entries(values)
              .filter(([, v]) => v !== undefined && v.trim() !== '')
              .map(([k, v]) => [k, Number(v)]),
          );
          const v = validate(quotaSetInput, { tenantId: props.tenant.id, limits });
          setErrors(v.ok ? {} : v.errors);
          if (v.ok) set.mutate(v.value);
        }}
      >
        {QUOTA_KEYS.map((k) => (
          <TextField
            key={k}
            label={k}
            path={`limits.${k}`}
            type="number"
            value={values[k] ?? ''}
            onChange={(v) => setValues((o) => ({ ...o, [k]: v }))}
            errors={errors}
          />
        ))}
        <div className="pl-actions">
          <button type="submit" className="pl-button" disabled={set.isPending}>
            Set quota
          </button>
          <button type="button" className="pl-button pl-button-light" onClick={props.onClose}>
            Close
          </button>
        </div>
        {set.data && (
          <div role="status" className="pl-card pl-ok">
            <p>Quota set. Limits and usage now:</p>
            <ul aria-label="Limits and usage">
              {QUOTA_KEYS.map((k) => (
                <li key={k}>
                  {k}: {set.data.usage[k]} of {set.data.limits[k]}
                </li>
              ))}
            </ul>
          </div>
        )}
        {set.isError && <ApiErrorView error={set.error} />}
      </form>
    </Card>
  );
}
