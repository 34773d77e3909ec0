/** Flavors: the VM sizes and their cgroup limits; create and disable (disabled ones stay for existing VMs). */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import { flavorCreateInput, type Flavor } from '@palisade/contracts';
import {
  apiFieldErrors,
  ApiErrorView,
  Card,
  ConfirmButton,
  Loading,
  TextField,
  useApi,
  validate,
  type FieldErrors,
} from '@palisade/ui';

export function FlavorsPage() {
  const { api } = useApi();
  const queryClient = useQueryClient();
  const flavors = useQuery({
    queryKey: ['admin', 'flavors'],
    queryFn: () => api.admin.flavors.list.query(),
  });
  const toggle = useMutation({
    mutationFn: (f: Flavor) =>
      api.admin.flavors.setDisabled.mutate({ id: f.id, disabled: !f.disabled }),
    onSuccess: () => queryClient.invalidateQueries({ queryKey: ['admin', 'flavors'] }),
  });
  return (
    <>
      <Card title="Flavors" level={1}>
        {flavors.isError ? (
          <ApiErrorView error={flavors.error} onRetry={() => void flavors.refetch()} />
        ) : !flavors.data ? (
          <Loading what="flavors" />
        ) : (
          <table className="pl-table" aria-label="Flavors">
            <thead>
              <tr>
                <th>Name</th>
                <th>vCPUs</th>
                <th>RAM</th>
                <th>Disk</th>
                <th>CPU quota</th>
                <th>sVirt</th>
                <th>State</th>
                <th />
              </tr>
            </thead>
            <tbody>
              {flavors.data.map((f) => (
                <tr key={f.id} aria-label={`Flavor ${f.name}`}>
                  <td>{f.name}</td>
                  <td>{f.vcpus}</td>
                  <td>{f.ramMiB} MiB</td>
                  <td>{f.diskGiB} GiB</td>
                  <td>
                    {f.cpuQuotaUs === null ? 'no cap' : `${f.cpuQuotaUs} / ${f.cpuPeriodUs} µs`}
                  </td>
                  <td>{f.svirtRequired ? 'required' : 'optional'}</td>
                  <td>{f.disabled ? 'disabled' : 'enabled'}</td>
                  <td>
                    {f.disabled ? (
                      <button
                        type="button"
                        className="pl-button pl-button-light"
                        onClick={() => toggle.mutate(f)}
                      >
                        Enable
                      </button>
                    ) : (
                      <ConfirmButton
                        label="Disable"
                        danger
                        question={`Disable ${f.name}? New VMs cannot use it; existing ones keep it.`}
                        onConfirm={() => toggle.mutate(f)}
                      />
                    )}
                  </td>
                </tr>
              ))}
            </tbody>
          </table>
        )}
        {toggle.isError && <ApiErrorView error={toggle.error} />}
      </Card>
      <CreateFlavor />
    </>
  );
}

function CreateFlavor() {
  const { api } = useApi();
  const queryClient = useQueryClient();
  const [form, setForm] = useState({
    name: '',
    vcpus: '1',
    ramMiB: '512',
    diskGiB: '10',
    cpuQuotaUs: '',
  });
  const [errors, setErrors] = useState<FieldErrors>({});
  const field = (k: keyof typeof form) => (v: string) => setForm((f) => ({ ...f, [k]: v }));
  const create = useMutation({
    mutationFn: (input: Parameters<typeof api.admin.flavors.create.mutate>[0]) =>
      api.admin.flavors.create.mutate(input),
    onSuccess: () => {
      setForm((f) => ({ ...f, name: '' }));
      return queryClient.invalidateQueries({ queryKey: ['admin', 'flavors'] });
    },
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  return (
    <Card title="Create a flavor">
      <form
        className="pl-form"
        noValidate
        onSubmit={(e) => {
          e.preventDefault();
          const v = validate(flavorCreateInput, {
            name: form.name,
            vcpus: Number(form.vcpus),
            ramMiB: Number(form.ramMiB),
            diskGiB: Number(form.diskGiB),
            ...(form.cpuQuotaUs.trim() ? { cpuQuotaUs: Number(form.cpuQuotaUs) } : {}),
          });
          setErrors(v.ok ? {} : v.errors);
          if (v.ok) create.mutate(v.value);
        }}
      >
        <TextField
          label="Name"
          path="name"
          value={form.name}
          onChange={field('name')}
          errors={errors}
          placeholder="m1.small"
        />
        <TextField
          label="vCPUs"
          path="vcpus"
          type="number"
          value={form.vcpus}
          onChange={field('vcpus')}
          errors={errors}
        />
        <TextField
          label="RAM (MiB)"
          path="ramMiB"
          type="number"
          value={form.ramMiB}
          onChange={field('ramMiB')}
          errors={errors}
        />
        <TextField
          label="Disk (GiB)"
          path="diskGiB"
          type="number"
          value={form.diskGiB}
          onChange={field('diskGiB')}
          errors={errors}
        />
        <TextField
          label="CPU quota per vCPU (µs per period, optional)"
          path="cpuQuotaUs"
          type="number"
          value={form.cpuQuotaUs}
          onChange={field('cpuQuotaUs')}
          errors={errors}
        />
        <div className="pl-actions">
          <button type="submit" className="pl-button" disabled={create.isPending}>
            Create flavor
          </button>
        </div>
        {create.data && (
          <p role="status" className="pl-card pl-ok">
            Flavor {create.data.name} created.
          </p>
        )}
        {create.isError && <ApiErrorView error={create.error} />}
      </form>
    </Card>
  );
}
