/**
 * What a tenant changes on one VM besides power: its data volumes (attach, detach), its snapshots
 * (take, revert, delete), its flavor (resize, with the same dry run as create) and its image
 * (rebuild). Every change is an operation (202); the VM page shows it in the timeline. The API
 * refuses what the VM's state forbids (a snapshot of a running VM, a resize while it runs) with a
 * message that says so, shown as it came.
 */
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { snapshotCreateInput, type Operation, type Vm } from '@palisade/contracts';
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
  useTenantQuery,
  validate,
  type FieldErrors,
} from '@palisade/ui';
import { StateBadge } from '../parts';

type OnAccepted = (what: string, op: Operation) => void;

/** Data volumes attached to the VM, and the tenant's available volumes to attach. */
export function VmVolumes({ vm, onAccepted }: { vm: Vm; onAccepted: OnAccepted }) {
  const { api } = useApi();
  const invalidate = useInvalidate();
  const volumes = useTenantQuery(['volumes'], () => api.volumes.list.query({ limit: 200 }));
  const [choice, setChoice] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const change = useMutation({
    mutationFn: (c: { kind: 'attach' | 'detach'; id: string; name: string }) =>
      c.kind === 'attach'
        ? api.volumes.attach.mutate({ id: c.id, vmId: vm.id })
        : api.volumes.detach.mutate({ id: c.id }),
    onSuccess: (r, c) => {
      onAccepted(`${c.kind} volume ${c.name}`, r.operation);
      setChoice('');
      return invalidate(['volumes'], ['operations']);
    },
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  if (volumes.isError)
    return <ApiErrorView error={volumes.error} onRetry={() => void volumes.refetch()} />;
  if (!volumes.data) return <Loading what="volumes" />;
  // The root volume is the VM's own (named after it); data volumes are the tenant's.
  const attached = volumes.data.items.filter((v) => v.vmId === vm.id && v.name !== `root-${vm.id}`);
  const available = volumes.data.items.filter((v) => v.status === 'available' && !v.vmId);
  return (
    <Card title="Data volumes">
      {attached.length === 0 ? (
        <p className="pl-note">No data volume attached.</p>
      ) : (
        <ul aria-label="Attached volumes">
          {attached.map((v) => (
            <li key={v.id}>
              {v.name} ({v.sizeGiB} GiB) <StateBadge state={v.status} />{' '}
              <ConfirmButton
                label="Detach"
                question={`Detach ${v.name} from ${vm.name}?`}
                disabled={change.isPending}
                onConfirm={() => change.mutate({ kind: 'detach', id: v.id, name: v.name })}
              />
            </li>
          ))}
        </ul>
      )}
      <form
        className="pl-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const v = available.find((a) => a.id === choice);
          if (!v) return setErrors({ id: 'choose a volume' });
          setErrors({});
          change.mutate({ kind: 'attach', id: v.id, name: v.name });
        }}
      >
        <SelectField
          label="Volume to attach"
          path="id"
          value={choice}
          onChange={setChoice}
          errors={errors}
          placeholder={available.length ? 'Choose a volume' : 'No available volume'}
          options={available.map((v) => ({ value: v.id, label: `${v.name} (${v.sizeGiB} GiB)` }))}
        />
        <div className="pl-actions">
          <button type="submit" className="pl-button" disabled={change.isPending}>
            Attach volume
          </button>
        </div>
        {change.isError && <ApiErrorView error={change.error} />}
      </form>
    </Card>
  );
}

/** The VM's snapshots: take one (stopped VMs), revert to one, delete one. */
export function VmSnapshots({ vm, onAccepted }: { vm: Vm; onAccepted: OnAccepted }) {
  const { api } = useApi();
  const invalidate = useInvalidate();
  const snapshots = useTenantQuery(['snapshots', vm.id], () =>
    api.snapshots.list.query({ vmId: vm.id, limit: 100 }),
  );
  const [name, setName] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const done = (what: string, op: Operation) => {
    onAccepted(what, op);
    return invalidate(['snapshots', vm.id], ['operations'], ['quota']);
  };
  const create = useMutation({
    mutationFn: (input: { vmId: string; name: string }) => api.snapshots.create.mutate(input),
    onSuccess: (r) => {
      setName('');
      return done(`snapshot ${r.snapshot.name}`, r.operation);
    },
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  const act = useMutation({
    mutationFn: (c: { kind: 'revert' | 'delete'; id: string; name: string }) =>
      c.kind === 'revert'
        ? api.snapshots.revert.mutate({ id: c.id })
        : api.snapshots.delete.mutate({ id: c.id }),
    onSuccess: (r, c) => done(`${c.kind} snapshot ${c.name}`, r.operation),
  });
  return (
    <Card title="Snapshots">
      {snapshots.isError ? (
        <ApiErrorView error={snapshots.error} onRetry={() => void snapshots.refetch()} />
      ) : !snapshots.data ? (
        <Loading what="snapshots" />
      ) : snapshots.data.items.length === 0 ? (
        <p className="pl-note">No snapshots.</p>
      ) : (
        <ul aria-label="Snapshots">
          {snapshots.data.items.map((s) => (
            <li key={s.id}>
              {s.name} <StateBadge state={s.status} />{' '}
              <ConfirmButton
                label="Revert"
                question={`Revert ${vm.name} to ${s.name}? Its disks lose every change since.`}
                disabled={act.isPending}
                onConfirm={() => act.mutate({ kind: 'revert', id: s.id, name: s.name })}
              />{' '}
              <ConfirmButton
                label="Delete"
                danger
                question={`Delete snapshot ${s.name}?`}
                disabled={act.isPending}
                onConfirm={() => act.mutate({ kind: 'delete', id: s.id, name: s.name })}
              />
            </li>
          ))}
        </ul>
      )}
      {act.isError && <ApiErrorView error={act.error} />}
      <form
        className="pl-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const v = validate(snapshotCreateInput, { vmId: vm.id, name });
          setErrors(v.ok ? {} : v.errors);
          if (v.ok) create.mutate({ vmId: vm.id, name });
        }}
      >
        <TextField
          label="Snapshot name"
          path="name"
          value={name}
          onChange={setName}
          errors={errors}
          hint="The VM must be stopped: a snapshot of an encrypted disk is taken offline."
        />
        <div className="pl-actions">
          <button type="submit" className="pl-button" disabled={create.isPending}>
            Take snapshot
          </button>
        </div>
        {create.isError && <ApiErrorView error={create.error} />}
      </form>
    </Card>
  );
}

/** Resize to another flavor (with the dry run's reasons first), or rebuild from an image. */
export function VmReshape({ vm, onAccepted }: { vm: Vm; onAccepted: OnAccepted }) {
  const { api } = useApi();
  const invalidate = useInvalidate();
  const flavors = useTenantQuery(['flavors'], () => api.flavors.list.query());
  const images = useTenantQuery(['images'], () => api.images.list.query());
  const [flavorId, setFlavorId] = useState('');
  const [imageId, setImageId] = useState('');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [refusal, setRefusal] = useState<{ code: string; message: string }[] | null>(null);
  const done = (what: string, op: Operation) => {
    onAccepted(what, op);
    return invalidate(['vms'], ['operations'], ['quota']);
  };
  const resize = useMutation({
    mutationFn: async (to: string) => {
      const check = await api.vms.check.mutate({ action: 'resize', flavorId: to, id: vm.id });
      if (!check.allowed) {
        setRefusal(check.reasons);
        return null;
      }
      setRefusal(null);
      return api.vms.resize.mutate({ id: vm.id, flavorId: to });
    },
    onSuccess: (r) => (r ? done(`resize ${vm.name}`, r.operation) : undefined),
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  const rebuild = useMutation({
    mutationFn: () => api.vms.rebuild.mutate({ id: vm.id, ...(imageId ? { imageId } : {}) }),
    onSuccess: (r) => done(`rebuild ${vm.name}`, r.operation),
  });
  const failed = [flavors, images].find((q) => q.isError);
  if (failed) return <ApiErrorView error={failed.error} onRetry={() => void failed.refetch()} />;
  if (!flavors.data || !images.data) return <Loading what="flavors and images" />;
  return (
    <Card title="Resize or rebuild">
      <form
        className="pl-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          if (!flavorId) return setErrors({ flavorId: 'choose a flavor' });
          setErrors({});
          resize.mutate(flavorId);
        }}
      >
        <SelectField
          label="New flavor"
          path="flavorId"
          value={flavorId}
          onChange={setFlavorId}
          errors={errors}
          placeholder="Choose a flavor"
          options={flavors.data
            .filter((f) => f.id !== vm.flavorId)
            .map((f) => ({
              value: f.id,
              label: `${f.name}: ${f.vcpus} vCPU, ${f.ramMiB} MiB, ${f.diskGiB} GiB`,
            }))}
        />
        <div className="pl-actions">
          <button type="submit" className="pl-button" disabled={resize.isPending}>
            Resize
          </button>
        </div>
        {refusal && (
          <div role="alert" aria-label="Resize refused" className="pl-card pl-error">
            <p>The API would refuse this resize:</p>
            <ul aria-label="Reasons">
              {refusal.map((r, i) => (
                <li key={i}>
                  {r.message} (<code>{r.code}</code>)
                </li>
              ))}
            </ul>
          </div>
        )}
        {resize.isError && <ApiErrorView error={resize.error} />}
      </form>
      <div className="pl-form">
        <SelectField
          label="Rebuild from image"
          path="imageId"
          value={imageId}
          onChange={setImageId}
          errors={{}}
          placeholder="Its current image"
          options={images.data
            .filter((i) => i.status === 'active')
            .map((i) => ({ value: i.id, label: `${i.name} (${i.os})` }))}
        />
        <div className="pl-actions">
          <ConfirmButton
            label="Rebuild"
            danger
            question={`Rebuild ${vm.name}? Its root disk is erased and made again from the image; its addresses stay.`}
            disabled={rebuild.isPending}
            onConfirm={() => rebuild.mutate()}
          />
        </div>
        {rebuild.isError && <ApiErrorView error={rebuild.error} />}
      </div>
    </Card>
  );
}
