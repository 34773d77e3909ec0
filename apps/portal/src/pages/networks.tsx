/** Networks: list, create (202: an operation) and delete. */
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { networkCreateInput, type Operation } from '@palisade/contracts';
import {
  apiFieldErrors,
  ApiErrorView,
  Card,
  ConfirmButton,
  Loading,
  TextField,
  useApi,
  useInvalidate,
  useTenant,
  useTenantQuery,
  validate,
  type FieldErrors,
} from '@palisade/ui';
import { AcceptedNotice, StateBadge } from '../parts';
import { mayWrite } from '../view';

export function NetworksPage() {
  const { api } = useApi();
  const { tenant } = useTenant();
  const networks = useTenantQuery(['networks'], () => api.networks.list.query({ limit: 200 }));
  const invalidate = useInvalidate();
  const [accepted, setAccepted] = useState<{ what: string; op: Operation } | null>(null);
  const remove = useMutation({
    mutationFn: (n: { id: string; name: string }) => api.networks.delete.mutate({ id: n.id }),
    onSuccess: (r, n) => {
      setAccepted({ what: `delete network ${n.name}`, op: r.operation });
      return invalidate(['networks'], ['quota']);
    },
  });
  const writable = mayWrite(tenant.role, 'resources');
  return (
    <>
      <Card title="Networks" level={1}>
        {networks.isError ? (
          <ApiErrorView error={networks.error} onRetry={() => void networks.refetch()} />
        ) : !networks.data ? (
          <Loading what="networks" />
        ) : networks.data.items.length === 0 ? (
          <p className="pl-note">No networks yet. A VM needs one.</p>
        ) : (
          <table className="pl-table" aria-label="Networks">
            <thead>
              <tr>
                <th>Name</th>
                <th>CIDR</th>
                <th>Gateway</th>
                <th>Segment</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {networks.data.items.map((n) => (
                <tr key={n.id}>
                  <td>{n.name}</td>
                  <td>
                    <code>{n.cidr}</code>
                  </td>
                  <td>{n.gateway ?? 'none'}</td>
                  <td>
                    {n.segmentType.toUpperCase()} {n.segmentId}
                  </td>
                  <td>
                    <StateBadge state={n.status} />
                  </td>
                  <td>
                    {writable && n.status !== 'deleting' && (
                      <ConfirmButton
                        label="Delete"
                        danger
                        question={`Delete network ${n.name}?`}
                        onConfirm={() => remove.mutate(n)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {networks.data?.nextCursor && <p className="pl-note">Showing the newest 200.</p>}
        {remove.isError && <ApiErrorView error={remove.error} />}
      </Card>
      {accepted && <AcceptedNotice what={accepted.what} op={accepted.op} />}
      {writable && <CreateNetwork onAccepted={(what, op) => setAccepted({ what, op })} />}
    </>
  );
}

function CreateNetwork(props: { onAccepted: (what: string, op: Operation) => void }) {
  const { api } = useApi();
  const invalidate = useInvalidate();
  const [name, setName] = useState('');
  const [cidr, setCidr] = useState('');
  const [gateway, setGateway] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useMutation({
    mutationFn: (input: { name: string; cidr: string; gateway?: string | null }) =>
      api.networks.create.mutate(input),
    onSuccess: (r) => {
      props.onAccepted(`network ${r.network.name} (${r.network.cidr})`, r.operation);
      setName('');
      setCidr('');
      setGateway('');
      return invalidate(['networks'], ['quota']);
    },
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  return (
    <Card title="Create a network">
      <form
        className="pl-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const v = validate(networkCreateInput, {
            name,
            cidr,
            ...(gateway.trim() ? { gateway: gateway.trim() } : {}),
          });
          setErrors(v.ok ? {} : v.errors);
          if (v.ok) create.mutate(v.value);
        }}
      >
        <TextField label="Name" path="name" value={name} onChange={setName} errors={errors} />
        <TextField
          label="CIDR"
          path="cidr"
          value={cidr}
          onChange={setCidr}
          errors={errors}
          placeholder="10.0.0.0/24"
        />
        <TextField
          label="Gateway (optional)"
          path="gateway"
          value={gateway}
          onChange={setGateway}
          errors={errors}
          hint="Defaults to the first host address of the CIDR."
        />
        <div className="pl-actions">
          <button type="submit" className="pl-button" disabled={create.isPending}>
            Create network
          </button>
        </div>
        {create.isError && <ApiErrorView error={create.error} />}
      </form>
    </Card>
  );
}
