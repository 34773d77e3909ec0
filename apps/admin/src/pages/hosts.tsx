/**
 * Hosts: their state and heartbeat, compliance as the host's agent reports it (asked on demand:
 * the API calls the agent over mTLS), and join tokens for enrolling new hosts, shown once.
 */
import { useMutation, useQuery, useQueryClient } from '@tanstack/react-query';
import { useState } from 'react';
import {
  createJoinTokenInput,
  type ComplianceReportWire,
  type JoinToken,
} from '@palisade/contracts';
import {
  apiFieldErrors,
  ApiErrorView,
  Card,
  Loading,
  SecretOnce,
  TextField,
  Time,
  useApi,
  validate,
  type FieldErrors,
} from '@palisade/ui';

export function HostsPage() {
  const { api } = useApi();
  const hosts = useQuery({
    queryKey: ['admin', 'hosts'],
    queryFn: () => api.admin.hosts.list.query(),
  });
  const [reports, setReports] = useState<Record<string, ComplianceReportWire>>({});
  const compliance = useMutation({
    mutationFn: (id: string) => api.admin.hosts.compliance.query({ id }),
    onSuccess: (r, id) => setReports((o) => ({ ...o, [id]: r })),
  });
  return (
    <>
      <Card title="Hosts" level={1}>
        {hosts.isError ? (
          <ApiErrorView error={hosts.error} onRetry={() => void hosts.refetch()} />
        ) : !hosts.data ? (
          <Loading what="hosts" />
        ) : hosts.data.length === 0 ? (
          <p className="pl-note">No hosts yet: create a join token below and enrol one.</p>
        ) : (
          <table className="pl-table" aria-label="Hosts">
            <thead>
              <tr>
                <th>Name</th>
                <th>State</th>
                <th>Last heartbeat</th>
                <th>Certificate expires</th>
                <th>Compliance</th>
              </tr>
            </thead>
            <tbody>
              {hosts.data.map((h) => {
                const report = reports[h.id];
                return (
                  <tr key={h.id} aria-label={`Host ${h.name}`}>
                    <td>{h.name}</td>
                    <td>
                      <span className={`pl-state pl-state-${h.state}`}>{h.state}</span>
                      {!h.enabled && ' (disabled)'}
                    </td>
                    <td>
                      <Time iso={h.lastHeartbeatAt} />
                    </td>
                    <td>
                      <Time iso={h.certExpiresAt} />
                    </td>
                    <td>
                      {report ? (
                        <div>
                          <span className={`pl-state pl-state-${report.status}`}>
                            {report.status}
                          </span>{' '}
                          {report.securityDriver}, {report.acceleration ?? 'no acceleration'}
                          {report.network && (
                            <div>
                              VLAN {report.network.vlan ? 'available' : 'unavailable'}, VXLAN{' '}
                              {report.network.vxlan ? 'available' : 'unavailable'}, bandwidth limits{' '}
                              {report.network.bandwidth ? 'enforced' : 'not enforced'}
                            </div>
                          )}
                          <ul>
                            {report.checks.map((c) => (
                              <li key={c.id}>
                                {c.id}: {c.status} — {c.detail}
                              </li>
                            ))}
                          </ul>
                        </div>
                      ) : (
                        <button
                          type="button"
                          className="pl-button pl-button-light"
                          disabled={!h.agentUrl || compliance.isPending}
                          onClick={() => compliance.mutate(h.id)}
                        >
                          {h.agentUrl ? 'Ask the agent' : 'Not enrolled yet'}
                        </button>
                      )}
                    </td>
                  </tr>
                );
              })}
            </tbody>
          </table>
        )}
        {compliance.isError && <ApiErrorView error={compliance.error} />}
      </Card>
      <JoinTokenForm />
    </>
  );
}

function JoinTokenForm() {
  const { api } = useApi();
  const queryClient = useQueryClient();
  const [hostName, setHostName] = useState('');
  const [ttl, setTtl] = useState('60');
  const [errors, setErrors] = useState<FieldErrors>({});
  const [token, setToken] = useState<JoinToken | null>(null);
  const create = useMutation({
    mutationFn: (input: { hostName: string; ttlMinutes: number }) =>
      api.admin.hosts.createJoinToken.mutate(input),
    onSuccess: (t) => {
      setToken(t);
      setHostName('');
      return queryClient.invalidateQueries({ queryKey: ['admin', 'hosts'] });
    },
    onError: (e) => setErrors(apiFieldErrors(e)),
  });
  return (
    <>
      {token && (
        <SecretOnce label={`Join token for ${token.hostName}`} secret={token.token}>
          <p className="pl-note">
            Expires <Time iso={token.expiresAt} />. The agent pins the control plane&apos;s CA:{' '}
            <code>AGENT_CA_SHA256={token.caFingerprint}</code>
          </p>
          <button
            type="button"
            className="pl-button pl-button-light"
            onClick={() => setToken(null)}
          >
            I have stored it
          </button>
        </SecretOnce>
      )}
      <Card title="Enrol a host: create a join token">
        <form
          className="pl-form"
          noValidate
          onSubmit={(e) => {
            e.preventDefault();
            const v = validate(createJoinTokenInput, { hostName, ttlMinutes: Number(ttl) });
            setErrors(v.ok ? {} : v.errors);
            if (v.ok) create.mutate(v.value);
          }}
        >
          <TextField
            label="Host name"
            path="hostName"
            value={hostName}
            onChange={setHostName}
            errors={errors}
          />
          <TextField
            label="Valid for (minutes)"
            path="ttlMinutes"
            type="number"
            value={ttl}
            onChange={setTtl}
            errors={errors}
          />
          <div className="pl-actions">
            <button type="submit" className="pl-button" disabled={create.isPending}>
              Create join token
            </button>
          </div>
          {create.isError && <ApiErrorView error={create.error} />}
        </form>
      </Card>
    </>
  );
}
