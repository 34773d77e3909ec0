/** Volumes: list, create (202: an operation), extend (grow only) and delete when detached. */
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import {
  volumeCreateInput,
  volumeExtendInput,
  type Operation,
  type Volume,
} from '@palisade/contracts';
import {
  apiFieldErrors,
  ApiErrorView,
  Card,
  ConfirmButton,
  Loading,
  SelectField,
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

export function VolumesPage() {
  const { api } = useApi();
  const { tenant } = useTenant();
  const volumes = useTenantQuery(['volumes'], () => api.volumes.list.query({ limit: 200 }));
  const invalidate = useInvalidate();
  const [accepted, setAccepted] = useState<{ what: string; op: Operation } | null>(null);
  const remove = useMutation({
    mutationFn: (v: { id: string; name: string }) => api.volumes.delete.mutate({ id: v.id }),
    onSuccess: (r, v) => {
      setAccepted({ what: `delete volume ${v.name}`, op: r.operation });
      return invalidate(['volumes'], ['quota']);
    },
  });
  const writable = mayWrite(tenant.role, 'resources');
  return (
    <>
      <Card title="Volumes" level={1}>
        {volumes.isError ? (
          <ApiErrorView error={volumes.error} onRetry={() => void volumes.refetch()} />
        ) : !volumes.data ? (
          <Loading what="volumes" />
        ) : volumes.data.items.length === 0 ? (
          <p className="pl-note">No volumes yet.</p>
        ) : (
          <table className="pl-table" aria-label="Volumes">
            <thead>
              <tr>
                <th>Name</th>
                <th>Size</th>
                <th>Attached to</th>
                <th>Status</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {volumes.data.items.map((v) => (
                <tr key={v.id}>
                  <td>{v.name}</td>
                  <td>{v.sizeGiB} GiB</td>
                  <td>{v.vmId ? <a href={`#/vms/${v.vmId}`}>VM</a> : '—'}</td>
                  <td>
                    <StateBadge state={v.status} />
                  </td>
                  <td>
                    {writable && v.status === 'available' && (
                      <ConfirmButton
                        label="Delete"
                        danger
                        question={`Delete volume ${v.name}? Its key is destroyed: the data cannot be recovered.`}
                        onConfirm={() => remove.mutate(v)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {volumes.data?.nextCursor && <p className="pl-note">Showing the newest 200.</p>}
        {remove.isError && <ApiErrorView error={remove.error} />}
      </Card>
      {accepted && <AcceptedNotice what={accepted.what} op={accepted.op} />}
      {writable && <CreateVolume onAccepted={(what, op) => setAccepted({ what, op })} />}
      {writable && volumes.data && volumes.data.items.length > 0 && (
        <ExtendVolume
          volumes={volumes.data.items}
          onAccepted={(what, op) => setAccepted({ what, op })}
        />
      )}
    </>
  );
}

function CreateVolume(props: { onAccepted: (what: string, op: Operation) => void }) {
  const { api } = useApi();
  const invalidate = useInvalidate();
  const [name, setName] = useState('');
  const [size, setSize] = useState('10');
  const [errors, setErrors] = useState<FieldErrors>({});
  const create = useMutation({
    mutationFn: (input: { name: string; sizeGiB: number }) => api.volumes.create.mutate(input),
    onSuccess: (r) => {
      props.onAccepted(`volume ${r.volume.name} (${r.volume.sizeGiB} GiB)`, r.operation);
      setName('');
      return invalidate(['volumes'], ['quota']);
    },
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  return (
    <Card title="Create a volume">
      <form
        className="pl-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const v = validate(volumeCreateInput, { name, sizeGiB: Number(size) });
          setErrors(v.ok ? {} : v.errors);
          if (v.ok) create.mutate(v.value);
        }}
      >
        <TextField label="Name" path="name" value={name} onChange={setName} errors={errors} />
        <TextField
          label="Size (GiB)"
          path="sizeGiB"
          type="number"
          value={size}
          onChange={setSize}
          errors={errors}
        />
        <div className="pl-actions">
          <button type="submit" className="pl-button" disabled={create.isPending}>
            Create volume
          </button>
        </div>
        {create.isError && <ApiErrorView error={create.error} />}
      </form>
    </Card>
  );
}

/** Grows a volume; the API refuses a size that is not larger, naming `sizeGiB`. */
function ExtendVolume(props: {
  volumes: Volume[];
  onAccepted: (what: string, op: Operation) => void;
}) {
  const { api } = useApi();
  const invalidate = useInvalidate();
  const [id, setId] = useState('');
  const [size, setSize] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const extend = useMutation({
    mutationFn: (input: { id: string; sizeGiB: number }) => api.volumes.extend.mutate(input),
    onSuccess: (r) => {
      props.onAccepted(`extend ${r.volume.name} to ${r.volume.sizeGiB} GiB`, r.operation);
      setSize('');
      return invalidate(['volumes'], ['quota']);
    },
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  return (
    <Card title="Extend a volume">
      <form
        className="pl-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const v = validate(volumeExtendInput, { id, sizeGiB: Number(size) });
          setErrors(v.ok ? {} : v.errors);
          if (v.ok) extend.mutate({ id, sizeGiB: Number(size) });
        }}
      >
        <SelectField
          label="Volume"
          path="id"
          value={id}
          onChange={setId}
          errors={errors}
          placeholder="Choose a volume"
          options={props.volumes
            .filter((v) => v.status === 'available' || v.status === 'attached')
            .map((v) => ({ value: v.id, label: `${v.name} (${v.sizeGiB} GiB)` }))}
        />
        <TextField
          label="New size (GiB)"
          path="sizeGiB"
          type="number"
          value={size}
          onChange={setSize}
          errors={errors}
          hint="Volumes only grow."
        />
        <div className="pl-actions">
          <button type="submit" className="pl-button" disabled={extend.isPending}>
            Extend volume
          </button>
        </div>
        {extend.isError && <ApiErrorView error={extend.error} />}
      </form>
    </Card>
  );
}
