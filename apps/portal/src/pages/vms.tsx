/**
 * VMs: the list with desired and observed state, lifecycle actions behind a confirmation, and the
 * create form with a dry run (`vms.check`) that says exactly why a create would be refused.
 */
import { useMutation } from '@tanstack/react-query';
import { useState } from 'react';
import { vmCreateInput, type Operation, type Vm } from '@palisade/contracts';
import {
  apiFieldErrors,
  ApiErrorView,
  Card,
  CheckboxList,
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
import { mayWrite, parseTags } from '../view';
import { useVmAction, VmActionButtons } from '../vm-actions';

export function VmsPage() {
  const { api } = useApi();
  const { tenant } = useTenant();
  const vms = useTenantQuery(['vms'], () => api.vms.list.query({ limit: 200 }));
  const flavors = useTenantQuery(['flavors'], () => api.flavors.list.query());
  const { act, accepted, setAccepted } = useVmAction();
  const writable = mayWrite(tenant.role, 'resources');
  const flavorName = (id: string) => flavors.data?.find((f) => f.id === id)?.name ?? id;
  return (
    <>
      <Card title="Virtual machines" level={1}>
        {vms.isError ? (
          <ApiErrorView error={vms.error} onRetry={() => void vms.refetch()} />
        ) : !vms.data ? (
          <Loading what="VMs" />
        ) : vms.data.items.length === 0 ? (
          <p className="pl-note">No VMs yet.</p>
        ) : (
          <table className="pl-table" aria-label="VMs">
            <thead>
              <tr>
                <th>Name</th>
                <th>Desired</th>
                <th>Observed</th>
                <th>Flavor</th>
                <th>Address</th>
                <th>Actions</th>
              </tr>
            </thead>
            <tbody>
              {vms.data.items.map((vm) => (
                <tr key={vm.id} aria-label={`VM ${vm.name}`}>
                  <td>
                    <a href={`#/vms/${vm.id}`}>{vm.name}</a>
                    {vm.tags.length > 0 && <div className="pl-note">{vm.tags.join(', ')}</div>}
                  </td>
                  <td>
                    <StateBadge state={vm.desiredState} />
                  </td>
                  <td>
                    <StateBadge state={vm.observedState} />
                  </td>
                  <td>{flavorName(vm.flavorId)}</td>
                  <td>{vm.nics.map((n) => n.ip).join(', ') || '—'}</td>
                  <td>{writable && <VmActionButtons vm={vm} act={act} />}</td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {vms.data?.nextCursor && <p className="pl-note">Showing the newest 200.</p>}
        {act.isError && <ApiErrorView error={act.error} />}
      </Card>
      {accepted && (
        <AcceptedNotice what={accepted.what} op={accepted.op} href={`#/vms/${accepted.vmId}`} />
      )}
      {writable && (
        <CreateVm
          onAccepted={(vm, op) => setAccepted({ what: `VM ${vm.name}`, op, vmId: vm.id })}
        />
      )}
    </>
  );
}

interface VmForm {
  name: string;
  flavorId: string;
  imageId: string;
  networkId: string;
  sshKeyIds: string[];
  tags: string;
}

const EMPTY: VmForm = {
  name: '',
  flavorId: '',
  imageId: '',
  networkId: '',
  sshKeyIds: [],
  tags: '',
};

function CreateVm(props: { onAccepted: (vm: Vm, op: Operation) => void }) {
  const { api } = useApi();
  const invalidate = useInvalidate();
  const flavors = useTenantQuery(['flavors'], () => api.flavors.list.query());
  const images = useTenantQuery(['images'], () => api.images.list.query());
  const networks = useTenantQuery(['networks'], () => api.networks.list.query({ limit: 200 }));
  const keys = useTenantQuery(['sshKeys'], () => api.sshKeys.list.query());
  const [form, setForm] = useState<VmForm>(EMPTY);
  const [errors, setErrors] = useState<FieldErrors>({});
  const set =
    <K extends keyof VmForm>(k: K) =>
    (v: VmForm[K]) => {
      setForm((f) => ({ ...f, [k]: v }));
      check.reset();
    };
  const input = () => ({
    name: form.name,
    flavorId: form.flavorId,
    imageId: form.imageId,
    networkId: form.networkId,
    sshKeyIds: form.sshKeyIds,
    tags: parseTags(form.tags),
  });

  const check = useMutation({
    mutationFn: () =>
      api.vms.check.mutate({
        action: 'create',
        flavorId: form.flavorId,
        ...(form.networkId ? { networkId: form.networkId } : {}),
      }),
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  const create = useMutation({
    mutationFn: (value: ReturnType<typeof input>) => api.vms.create.mutate(value),
    onSuccess: (r) => {
      props.onAccepted(r.vm, r.operation);
      setForm(EMPTY);
      check.reset();
      return invalidate(['vms'], ['quota'], ['operations']);
    },
    onError: (e) => setErrors(apiFieldErrors(e)),
  });

  const failed = [flavors, images, networks, keys].find((q) => q.isError);
  if (failed) return <ApiErrorView error={failed.error} onRetry={() => void failed.refetch()} />;
  if (!flavors.data || !images.data || !networks.data || !keys.data)
    return <Loading what="the VM form" />;

  return (
    <Card title="Create a VM">
      <form
        className="pl-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const v = validate(vmCreateInput, input());
          setErrors(v.ok ? {} : v.errors);
          if (v.ok) create.mutate(input());
        }}
      >
        <TextField
          label="Name"
          path="name"
          value={form.name}
          onChange={set('name')}
          errors={errors}
          placeholder="web-1"
        />
        <SelectField
          label="Flavor"
          path="flavorId"
          value={form.flavorId}
          onChange={set('flavorId')}
          errors={errors}
          placeholder="Choose a flavor"
          options={flavors.data.map((f) => ({
            value: f.id,
            label: `${f.name}: ${f.vcpus} vCPU, ${f.ramMiB} MiB, ${f.diskGiB} GiB`,
          }))}
        />
        <SelectField
          label="Image"
          path="imageId"
          value={form.imageId}
          onChange={set('imageId')}
          errors={errors}
          placeholder="Choose an image"
          options={images.data
            .filter((i) => i.status === 'active')
            .map((i) => ({ value: i.id, label: `${i.name} (${i.os}, ${i.visibility})` }))}
        />
        <SelectField
          label="Network"
          path="networkId"
          value={form.networkId}
          onChange={set('networkId')}
          errors={errors}
          placeholder="Choose a network"
          options={networks.data.items.map((n) => ({
            value: n.id,
            label: `${n.name} (${n.cidr})`,
          }))}
        />
        <CheckboxList
          legend="SSH keys"
          path="sshKeyIds"
          values={form.sshKeyIds}
          onChange={set('sshKeyIds')}
          errors={errors}
          options={keys.data.map((k) => ({ value: k.id, label: `${k.name} (${k.fingerprint})` }))}
          empty="No SSH keys in this tenant: add one under SSH keys to log in to the VM."
        />
        <TextField
          label="Tags (comma-separated)"
          path="tags"
          value={form.tags}
          onChange={set('tags')}
          errors={errors}
        />
        <div className="pl-actions">
          <button
            type="button"
            className="pl-button pl-button-light"
            disabled={!form.flavorId || check.isPending}
            onClick={() => check.mutate()}
          >
            Check
          </button>
          <button type="submit" className="pl-button" disabled={create.isPending}>
            Create VM
          </button>
        </div>
        {check.data &&
          (check.data.allowed ? (
            <p role="status" className="pl-card pl-ok">
              Check passed: a create with this flavor and network would be accepted now.
            </p>
          ) : (
            <div role="status" className="pl-card pl-error">
              <p>The API would refuse this create:</p>
              <ul aria-label="Reasons">
                {check.data.reasons.map((r, i) => (
                  <li key={i}>
                    {r.message} (<code>{r.code}</code>)
                  </li>
                ))}
              </ul>
            </div>
          ))}
        {check.isError && <ApiErrorView error={check.error} />}
        {create.isError && <ApiErrorView error={create.error} />}
      </form>
    </Card>
  );
}
