/** SSH keys: list, add (validated like the API) and remove. */
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { sshKeyCreateInput } from '@palisade/contracts';
import {
  apiFieldErrors,
  ApiErrorView,
  Card,
  ConfirmButton,
  Loading,
  TextField,
  Time,
  useApi,
  useInvalidate,
  useTenant,
  useTenantQuery,
  validate,
  type FieldErrors,
} from '@palisade/ui';
import { mayWrite } from '../view';

export function SshKeysPage() {
  const { api } = useApi();
  const { tenant } = useTenant();
  const keys = useTenantQuery(['sshKeys'], () => api.sshKeys.list.query());
  const invalidate = useInvalidate();
  const remove = useMutation({
    mutationFn: (id: string) => api.sshKeys.delete.mutate({ id }),
    onSuccess: () => invalidate(['sshKeys']),
  });
  const writable = mayWrite(tenant.role, 'resources');
  return (
    <>
      <Card title="SSH keys" level={1}>
        {keys.isError ? (
          <ApiErrorView error={keys.error} onRetry={() => void keys.refetch()} />
        ) : !keys.data ? (
          <Loading what="SSH keys" />
        ) : keys.data.length === 0 ? (
          <p className="pl-note">No SSH keys yet.</p>
        ) : (
          <table className="pl-table" aria-label="SSH keys">
            <thead>
              <tr>
                <th>Name</th>
                <th>Fingerprint</th>
                <th>Added</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {keys.data.map((k) => (
                <tr key={k.id}>
                  <td>{k.name}</td>
                  <td>
                    <code>{k.fingerprint}</code>
                  </td>
                  <td>
                    <Time iso={k.createdAt} />
                  </td>
                  <td>
                    {writable && (
                      <ConfirmButton
                        label="Remove"
                        danger
                        question={`Remove key ${k.name}? VMs created with it keep it.`}
                        onConfirm={() => remove.mutate(k.id)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {remove.isError && <ApiErrorView error={remove.error} />}
      </Card>
      {writable && <AddSshKey />}
    </>
  );
}

function AddSshKey() {
  const { api } = useApi();
  const invalidate = useInvalidate();
  const [name, setName] = useState('');
  const [publicKey, setPublicKey] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const add = useMutation({
    mutationFn: (input: { name: string; publicKey: string }) => api.sshKeys.create.mutate(input),
    onSuccess: () => {
      setName('');
      setPublicKey('');
      return invalidate(['sshKeys']);
    },
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  return (
    <Card title="Add an SSH key">
      <form
        className="pl-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const v = validate(sshKeyCreateInput, { name, publicKey });
          setErrors(v.ok ? {} : v.errors);
          if (v.ok) add.mutate(v.value);
        }}
      >
        <TextField label="Name" path="name" value={name} onChange={setName} errors={errors} />
        <TextField
          label="Public key"
          path="publicKey"
          value={publicKey}
          onChange={setPublicKey}
          errors={errors}
          multiline
          placeholder="ssh-ed25519 AAAA… you@laptop"
        />
        <div className="pl-actions">
          <button type="submit" className="pl-button" disabled={add.isPending}>
            Add key
          </button>
        </div>
        {add.isError && <ApiErrorView error={add.error} />}
      </form>
    </Card>
  );
}
