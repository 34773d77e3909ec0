/**
 * Members and API clients of the active tenant. Everyone may see the members; admins and owners
 * invite, change roles, remove, and create or revoke API clients. A new client's secret is shown
 * once (the API never returns it again). The API enforces the owner rules; its refusals are shown
 * with their code.
 */
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import {
  apiClientCreateInput,
  memberInviteInput,
  TENANT_ROLE_VALUES,
  tenantRoleSchema,
  type ApiClientWithSecret,
  type TenantRole,
} from '@palisade/contracts';
import {
  apiFieldErrors,
  ApiErrorView,
  Card,
  ConfirmButton,
  Loading,
  SecretOnce,
  SelectField,
  TextField,
  Time,
  useApi,
  useInvalidate,
  useTenant,
  useTenantQuery,
  validate,
  type FieldErrors,
} from '@palisade/ui';
import { StateBadge } from '../parts';
import { mayWrite } from '../view';

const roleOptions = TENANT_ROLE_VALUES.map((r) => ({ value: r, label: r }));

export function PeoplePage() {
  const { tenant } = useTenant();
  const admin = mayWrite(tenant.role, 'people');
  return (
    <>
      <Members admin={admin} />
      {admin ? (
        <ApiClients />
      ) : (
        <Card title="API clients">
          <p className="pl-note">
            Only a tenant&apos;s admins and owners see and manage its API clients (your role:{' '}
            {tenant.role}).
          </p>
        </Card>
      )}
    </>
  );
}

function Members({ admin }: { admin: boolean }) {
  const { api } = useApi();
  const members = useTenantQuery(['members'], () => api.members.list.query());
  const invalidate = useInvalidate();
  const setRole = useMutation({
    mutationFn: (input: { id: string; role: TenantRole }) => api.members.setRole.mutate(input),
    onSettled: () => invalidate(['members']),
  });
  const remove = useMutation({
    mutationFn: (id: string) => api.members.remove.mutate({ id }),
    onSuccess: () => invalidate(['members']),
  });
  return (
    <>
      <Card title="Members" level={1}>
        {members.isError ? (
          <ApiErrorView error={members.error} onRetry={() => void members.refetch()} />
        ) : !members.data ? (
          <Loading what="members" />
        ) : (
          <table className="pl-table" aria-label="Members">
            <thead>
              <tr>
                <th>Email</th>
                <th>Role</th>
                <th>Since</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {members.data.map((m) => (
                <tr key={m.id} aria-label={`Member ${m.email ?? m.subject}`}>
                  <td>{m.email ?? <code>{m.subject}</code>}</td>
                  <td>
                    {admin ? (
                      <select
                        aria-label={`Role of ${m.email ?? m.subject}`}
                        value={m.role}
                        disabled={setRole.isPending}
                        onChange={(e) =>
                          setRole.mutate({ id: m.id, role: tenantRoleSchema.parse(e.target.value) })
                        }
                      >
                        {TENANT_ROLE_VALUES.map((r) => (
                          <option key={r} value={r}>
                            {r}
                          </option>
                        ))}
                      </select>
                    ) : (
                      m.role
                    )}
                  </td>
                  <td>
                    <Time iso={m.createdAt} />
                  </td>
                  <td>
                    {admin && (
                      <ConfirmButton
                        label="Remove"
                        danger
                        question={`Remove ${m.email ?? m.subject} from this tenant?`}
                        onConfirm={() => remove.mutate(m.id)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {setRole.isError && <ApiErrorView error={setRole.error} />}
        {remove.isError && <ApiErrorView error={remove.error} />}
      </Card>
      {admin && <Invite />}
    </>
  );
}

function Invite() {
  const { api } = useApi();
  const invalidate = useInvalidate();
  const [email, setEmail] = useState('');
  const [role, setRole] = useState<string>('member');
  const [errors, setErrors] = useState<FieldErrors>({});
  const invite = useMutation({
    mutationFn: (input: { email: string; role: TenantRole }) => api.members.invite.mutate(input),
    onSuccess: () => {
      setEmail('');
      return invalidate(['members']);
    },
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  return (
    <Card title="Invite a member">
      <form
        className="pl-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const v = validate(memberInviteInput, { email, role });
          setErrors(v.ok ? {} : v.errors);
          if (v.ok) invite.mutate(v.value);
        }}
      >
        <TextField
          label="Email"
          path="email"
          type="email"
          value={email}
          onChange={setEmail}
          errors={errors}
        />
        <SelectField
          label="Role"
          path="role"
          value={role}
          onChange={setRole}
          errors={errors}
          options={roleOptions}
        />
        <div className="pl-actions">
          <button type="submit" className="pl-button" disabled={invite.isPending}>
            Invite
          </button>
        </div>
        {invite.data && (
          <p role="status">
            {invite.data.email} is now a {invite.data.role}
            {invite.data.userCreated ? ' (a new login was created; no email is sent)' : ''}.
          </p>
        )}
        {invite.isError && <ApiErrorView error={invite.error} />}
      </form>
    </Card>
  );
}

function ApiClients() {
  const { api } = useApi();
  const clients = useTenantQuery(['apiClients'], () => api.apiClients.list.query());
  const invalidate = useInvalidate();
  const [created, setCreated] = useState<ApiClientWithSecret | null>(null);
  const revoke = useMutation({
    mutationFn: (id: string) => api.apiClients.revoke.mutate({ id }),
    onSuccess: () => invalidate(['apiClients']),
  });
  return (
    <>
      <Card title="API clients">
        {clients.isError ? (
          <ApiErrorView error={clients.error} onRetry={() => void clients.refetch()} />
        ) : !clients.data ? (
          <Loading what="API clients" />
        ) : clients.data.length === 0 ? (
          <p className="pl-note">No API clients yet.</p>
        ) : (
          <table className="pl-table" aria-label="API clients">
            <thead>
              <tr>
                <th>Name</th>
                <th>Client ID</th>
                <th>Role</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {clients.data.map((c) => (
                <tr key={c.id}>
                  <td>{c.name}</td>
                  <td>
                    <code>{c.clientId}</code>
                  </td>
                  <td>{c.role}</td>
                  <td>
                    <StateBadge state={c.status} />
                  </td>
                  <td>
                    {c.status === 'active' && (
                      <ConfirmButton
                        label="Revoke"
                        danger
                        question={`Revoke ${c.name}? Its tokens stop working at once.`}
                        onConfirm={() => revoke.mutate(c.id)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {revoke.isError && <ApiErrorView error={revoke.error} />}
      </Card>
      {created && (
        <SecretOnce label={`Client secret of ${created.name}`} secret={created.clientSecret}>
          <p className="pl-note">
            Client ID <code>{created.clientId}</code>; token URL <code>{created.tokenUrl}</code>.
          </p>
          <button
            type="button"
            className="pl-button pl-button-light"
            onClick={() => setCreated(null)}
          >
            I have stored it
          </button>
        </SecretOnce>
      )}
      <CreateApiClient onCreated={setCreated} />
    </>
  );
}

function CreateApiClient(props: { onCreated: (c: ApiClientWithSecret) => void }) {
  const { api } = useApi();
  const invalidate = useInvalidate();
  const [name, setName] = useState('');
  const [role, setRole] = useState<string>('member');
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useMutation({
    mutationFn: (input: { name: string; role: 'admin' | 'member' | 'viewer' }) =>
      api.apiClients.create.mutate(input),
    onSuccess: (c) => {
      props.onCreated(c);
      setName('');
      return invalidate(['apiClients']);
    },
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  return (
    <Card title="Create an API client">
      <form
        className="pl-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const v = validate(apiClientCreateInput, { name, role });
          setErrors(v.ok ? {} : v.errors);
          if (v.ok) create.mutate(v.value);
        }}
      >
        <TextField label="Name" path="name" value={name} onChange={setName} errors={errors} />
        <SelectField
          label="Role"
          path="role"
          value={role}
          onChange={setRole}
          errors={errors}
          options={roleOptions.filter((r) => r.value !== 'owner')}
        />
        <div className="pl-actions">
          <button type="submit" className="pl-button" disabled={create.isPending}>
            Create API client
          </button>
        </div>
        {create.isError && <ApiErrorView error={create.error} />}
      </form>
    </Card>
  );
}
