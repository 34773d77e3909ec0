/**
 * A host's life after enrolment, on the real stack: a real agent process (real libvirt on this
 * machine) enrols, then sends heartbeats with its inventory and lifecycle events over the
 * gateway's mTLS. A VM row placed on the host follows a real domain's start and stop; the agent
 * frozen (SIGSTOP) goes silent, the monitor's pass makes the host unreachable and the VM unknown;
 * thawed, the host is up again and the inventory fixes the VM. Another host's certificate cannot
 * report for this host. Operators drain, enable and disable it, each audited.
 *
 * The domain is a 16 MiB TCG guest with no disk (it sits in the BIOS), defined with Palisade
 * metadata naming the test's VM; it is removed afterwards.
 */
import { execFile } from 'node:child_process';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { and, eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CERT_OU,
  ErrorCode,
  type AgentEventsPage,
  type DrainHostOutput,
  type HeartbeatRequest,
  type Host,
  type HostDetail,
  type JoinToken,
} from '@palisade/contracts';
import {
  ensureHost,
  markSilentHosts,
  recordHostCertificate,
  schema,
  withPlatform,
} from '@palisade/db';
import { AgentGatewayService } from './agent-gateway/gateway.service';
import { PkiService } from './pki/pki.service';
import { fingerprintOfPem, issueKeyAndCertificate } from './pki/x509';
import { freePort, httpsCall, startAgent, type AgentProcess } from './testing/agent-process';
import { seedCatalog } from './testing/fixtures';
import { startTestApi, type TestApi } from './testing/harness';

const run = promisify(execFile);
const virsh = (...args: string[]) => run('virsh', ['-c', 'qemu:///system', ...args]);
const poll = async <T>(read: () => Promise<T>, done: (v: T) => boolean): Promise<T> => {
  for (;;) {
    const v = await read();
    if (done(v)) return v;
    await new Promise((r) => setTimeout(r, 250));
  }
};

describe('host lifecycle: heartbeats, events, unreachable, drain (real API, agent, libvirt)', () => {
  let api: TestApi;
  let tmp: string;
  let gateway: string;
  let pki: PkiService;
  let agent: AgentProcess;
  let agentUrl: string;
  let hostId: string;
  let vmId: string;
  let domainDefined = false;
  const hostName = `hl-${Math.random().toString(36).slice(2, 8)}`;

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'palisade-hostlife-'));
    api = await startTestApi({ PKI_DIR: path.join(tmp, 'pki'), AGENT_GATEWAY_PORT: '0' });
    pki = api.app.get(PkiService);
    gateway = api.app.get(AgentGatewayService).url()!;
    const created = await api.call('olivia', 'admin.hosts.createJoinToken', {
      mutation: true,
      input: { hostName, ttlMinutes: 10 },
    });
    const token = created.data as JoinToken;
    hostId = token.hostId;
    const port = await freePort();
    agentUrl = `https://127.0.0.1:${port}`;
    agent = startAgent({
      AGENT_HOSTNAME: hostName,
      AGENT_HOST: '127.0.0.1',
      AGENT_PORT: String(port),
      AGENT_STATE_DIR: path.join(tmp, 'agent'),
      AGENT_API_URL: gateway,
      AGENT_JOIN_TOKEN: token.token,
      AGENT_CA_SHA256: token.caFingerprint,
      AGENT_HEARTBEAT_SECONDS: '1',
      LIBVIRT_URI: 'qemu:///system',
    });
    expect(await agent.ready, agent.output()).toBe('listening');
    const catalog = await seedCatalog(api.db);
    const [tenant] = await api.tenants('hostlife');
    const [vm] = await withPlatform(api.db, 'test fixture: a VM placed on the host', (tx) =>
      tx
        .insert(schema.vms)
        .values({
          tenantId: tenant!.id,
          name: 'placed-here',
          flavorId: catalog.small,
          imageId: catalog.image,
          hostId,
          observedState: 'stopped',
        })
        .returning({ id: schema.vms.id }),
    );
    vmId = vm!.id;
  }, 180_000);

  afterAll(async () => {
    if (agent && agent.child.exitCode === null) {
      agent.child.kill('SIGCONT');
      const exited = new Promise((r) => agent.child.once('exit', r));
      agent.child.kill('SIGTERM');
      await exited;
    }
    if (domainDefined) {
      await virsh('destroy', vmId).catch(() => undefined);
      await virsh('undefine', vmId).catch(() => undefined);
    }
    await api?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const host = async () =>
    (
      await withPlatform(api.db, 'test: read host', (tx) =>
        tx.select().from(schema.hosts).where(eq(schema.hosts.id, hostId)),
      )
    )[0]!;
  const vmState = async () =>
    (
      await withPlatform(api.db, 'test: read VM', (tx) =>
        tx.select({ s: schema.vms.observedState }).from(schema.vms).where(eq(schema.vms.id, vmId)),
      )
    )[0]!.s;
  const audits = (action: string) =>
    withPlatform(api.db, 'test: read audit', (tx) =>
      tx
        .select()
        .from(schema.auditEvents)
        .where(and(eq(schema.auditEvents.targetId, hostId), eq(schema.auditEvents.action, action))),
    );

  it('heartbeats record the inventory the agent probed: capacity, security models, acceleration, compliance', async () => {
    const h = await poll(host, (r) => r.lastHeartbeatAt !== null && r.compliance !== null);
    expect(h.state).toBe('up');
    expect(h.cpus).toBe(os.cpus().length);
    expect(h.ramMib).toBe(Math.floor(os.totalmem() / 2 ** 20));
    expect(h.diskGib).toBeGreaterThan(0);
    // Measured on this machine: libvirt offers only `none` and `dac` (DESIGN.md).
    expect(h.securityModels).toContain('dac');
    expect(['kvm', 'tcg']).toContain(h.acceleration);
    expect(h.compliance).toMatchObject({ acceleration: h.acceleration });
    const got = await api.call('olivia', 'admin.hosts.get', { input: { id: hostId } });
    expect(got.status).toBe(200);
    const detail = got.data as HostDetail;
    expect(detail).toMatchObject({ name: hostName, state: 'up', cpus: h.cpus });
    expect(detail.compliance?.checks.map((c) => c.id)).toContain('svirt');
    expect(detail.vms).toEqual([
      expect.objectContaining({ id: vmId, name: 'placed-here', observedState: 'stopped' }),
    ]);
  }, 120_000);

  it('a lifecycle event of the real domain sets the VM observed state: started -> running, destroyed -> stopped', async () => {
    const xml = `<domain type='qemu'>
  <name>palisade-${vmId}</name>
  <uuid>${vmId}</uuid>
  <metadata>
    <palisade:instance xmlns:palisade='https://palisade.dev/xmlns/domain/1'>
      <palisade:vm>${vmId}</palisade:vm>
      <palisade:tenant>00000000-0000-4000-8000-000000000000</palisade:tenant>
      <palisade:specRevision>1</palisade:specRevision>
      <palisade:name>placed-here</palisade:name>
      <palisade:disks/>
      <palisade:nics/>
    </palisade:instance>
  </metadata>
  <memory unit='MiB'>16</memory>
  <vcpu>1</vcpu>
  <os><type arch='x86_64' machine='pc'>hvm</type></os>
  <devices><emulator>/usr/bin/qemu-system-x86_64</emulator></devices>
</domain>`;
    const file = path.join(tmp, 'domain.xml');
    await writeFile(file, xml);
    await virsh('define', file);
    domainDefined = true;
    await virsh('start', vmId);
    expect(await poll(vmState, (s) => s === 'running')).toBe('running');

    // The agent's own queue (mTLS, control-plane certificate) shows the event with the VM ID,
    // and the control plane acknowledged it.
    const tls = pki.controlPlaneTls();
    const page = await poll(
      async () =>
        (
          await httpsCall(`${agentUrl}/v1/events?after=0`, {
            ca: pki.ca().certPem,
            key: tls.key,
            cert: tls.cert,
          })
        ).body as AgentEventsPage,
      (p) => p.lastSeq > 0 && p.acknowledged === p.lastSeq,
    );
    expect(page.lastSeq).toBeGreaterThan(0);
    const bad = await httpsCall(`${agentUrl}/v1/events?after=-1`, {
      ca: pki.ca().certPem,
      key: tls.key,
      cert: tls.cert,
    });
    expect(bad.status).toBe(400);
    expect(JSON.stringify(bad.body)).toContain('after');

    const destroyedAt = performance.now();
    await virsh('destroy', vmId);
    expect(await poll(vmState, (s) => s === 'stopped')).toBe('stopped');
    // A measurement, not an assertion: how long from libvirt's stop to the API's record.
    console.log(
      `host lifecycle: virsh destroy -> observed stopped in ${Math.round(performance.now() - destroyedAt)} ms (poll 250 ms)`,
    );
    await virsh('start', vmId);
    expect(await poll(vmState, (s) => s === 'running')).toBe('running');
  }, 120_000);

  it("another host's certificate reports only for that host; an outdated one of this host is refused", async () => {
    const other = await issueKeyAndCertificate(pki.ca(), {
      commonName: `${hostName}-b`,
      organizationalUnit: CERT_OU.host,
      names: [`${hostName}-b`],
      validityDays: 1,
    });
    const otherId = await withPlatform(
      api.db,
      'test fixture: another enrolled host',
      async (tx) => {
        const h = await ensureHost(tx, { name: `${hostName}-b` });
        await recordHostCertificate(tx, {
          id: h.id,
          fingerprint: fingerprintOfPem(other.pem),
          expiresAt: new Date(Date.now() + 86_400_000),
        });
        return h.id;
      },
    );
    const body: HeartbeatRequest = {
      probe: { kernel: 'k', cpuModel: 'm', libvirtVersion: null, qemuVersion: null },
      capacity: { cpus: 77, ramMib: 1, diskGib: 1 },
      securityModels: ['none'],
      acceleration: 'tcg',
      compliance: { status: 'degraded', securityDriver: 'none', acceleration: 'tcg', checks: [] },
      domains: [{ uuid: vmId, name: `palisade-${vmId}`, state: 'shutoff', vmId }],
    };
    const ca = pki.ca().certPem;
    const asOther = { ca, key: other.keyPem, cert: other.pem, method: 'POST' };
    const r = await httpsCall(`${gateway}/agent/v1/heartbeat`, { ...asOther, body });
    expect(r.status).toBe(200);
    // It claimed this host's VM was shut off: not its VM, so only counted as foreign.
    expect(r.body).toMatchObject({ hostId: otherId, vmsUpdated: 0, foreignDomains: 1 });
    const ev = await httpsCall(`${gateway}/agent/v1/events`, {
      ...asOther,
      body: {
        events: [
          {
            seq: 1,
            kind: 'lifecycle',
            uuid: vmId,
            name: `palisade-${vmId}`,
            vmId,
            event: 'stopped',
            detail: 'destroyed',
            at: new Date().toISOString(),
          },
        ],
      },
    });
    expect(ev).toMatchObject({ status: 200, body: { acknowledged: 1, vmsUpdated: 0, ignored: 1 } });
    expect(await vmState()).toBe('running');
    expect((await host()).cpus).not.toBe(77);

    // Signed by the CA for this host's name, but not the certificate the host holds.
    const stale = await issueKeyAndCertificate(pki.ca(), {
      commonName: hostName,
      organizationalUnit: CERT_OU.host,
      names: [hostName],
      validityDays: 1,
    });
    const refused = await httpsCall(`${gateway}/agent/v1/heartbeat`, {
      ca,
      key: stale.keyPem,
      cert: stale.pem,
      method: 'POST',
      body,
    });
    expect(refused).toMatchObject({
      status: 401,
      body: { code: ErrorCode.AGENT_CERT_REJECTED },
    });
    const anonymous = await httpsCall(`${gateway}/agent/v1/heartbeat`, {
      ca,
      method: 'POST',
      body,
    });
    expect(anonymous).toMatchObject({ status: 401, body: { code: ErrorCode.AGENT_CERT_REJECTED } });
    const malformed = await httpsCall(`${gateway}/agent/v1/heartbeat`, {
      ...asOther,
      body: { ...body, capacity: { cpus: -1, ramMib: 1, diskGib: 1 } },
    });
    expect(malformed).toMatchObject({ status: 400, body: { code: ErrorCode.VALIDATION_FAILED } });
    expect((malformed.body as { message: string }).message).toContain('capacity.cpus');
    expect((await host()).cpus).not.toBe(77);
  }, 60_000);

  it('silent past the timeout: unreachable and the VM unknown, never stopped; heartbeats again: up and running', async () => {
    expect(await vmState()).toBe('running');
    agent.child.kill('SIGSTOP');
    // The monitor's pass (the worker runs it on a schedule) with a short timeout, until it bites.
    await poll(
      () =>
        withPlatform(api.db, 'test: host monitor pass', (tx) =>
          markSilentHosts(tx, { timeoutMs: 2000 }),
        ),
      (r) => r.unreachable.some((h) => h.id === hostId),
    );
    expect((await host()).state).toBe('unreachable');
    expect(await vmState()).toBe('unknown');
    const unreachable = await api.call('olivia', 'admin.hosts.get', { input: { id: hostId } });
    expect(unreachable.data).toMatchObject({
      state: 'unreachable',
      vms: [expect.objectContaining({ id: vmId, observedState: 'unknown' })],
    });

    // While it is frozen, an event batch with the host's own certificate is applied at once
    // (a crash is `error`), but events are not heartbeats: the host stays unreachable.
    const own = {
      ca: pki.ca().certPem,
      key: await readFile(path.join(tmp, 'agent', 'pki', 'host.key'), 'utf8'),
      cert: await readFile(path.join(tmp, 'agent', 'pki', 'host.crt'), 'utf8'),
    };
    const crashed = await httpsCall(`${gateway}/agent/v1/events`, {
      ...own,
      method: 'POST',
      body: {
        events: [
          {
            seq: 1_000_000,
            kind: 'lifecycle',
            uuid: vmId,
            name: `palisade-${vmId}`,
            vmId,
            event: 'stopped',
            detail: 'crashed',
            at: new Date().toISOString(),
          },
        ],
      },
    });
    expect(crashed).toMatchObject({
      status: 200,
      body: { acknowledged: 1_000_000, vmsUpdated: 1, ignored: 0 },
    });
    expect(await vmState()).toBe('error');
    expect((await host()).state).toBe('unreachable');
    // A heartbeat from an agent that could not ask libvirt: the host is up, its VM unknown.
    const blind = await httpsCall(`${gateway}/agent/v1/heartbeat`, {
      ...own,
      method: 'POST',
      body: {
        probe: { kernel: 'k', cpuModel: 'm', libvirtVersion: null, qemuVersion: null },
        capacity: { cpus: 1, ramMib: 1, diskGib: 1 },
        securityModels: [],
        acceleration: null,
        compliance: {
          status: 'non-compliant',
          securityDriver: 'none',
          acceleration: null,
          checks: [],
        },
      } satisfies HeartbeatRequest,
    });
    expect(blind).toMatchObject({ status: 200, body: { state: 'up', vmsUpdated: 1 } });
    expect(await vmState()).toBe('unknown');

    agent.child.kill('SIGCONT');
    expect((await poll(host, (h) => h.state === 'up')).state).toBe('up');
    expect(await poll(vmState, (s) => s === 'running')).toBe('running');
    const changes = await audits('host.state.change');
    expect(changes.map((a) => a.details)).toContainEqual(
      expect.objectContaining({ from: 'unreachable', to: 'up' }),
    );
  }, 120_000);

  it('operators drain, enable and disable the host; heartbeats keep it draining; each is audited', async () => {
    expect(
      await api.call('alice', 'admin.hosts.drain', { mutation: true, input: { id: hostId } }),
    ).toMatchObject({ status: 403 });
    expect((await host()).state).toBe('up');
    const bad = await api.call('olivia', 'admin.hosts.drain', {
      mutation: true,
      input: { id: 'nope' },
    });
    expect(bad).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
    expect(bad.message).toContain('id');
    expect(
      await api.call('olivia', 'admin.hosts.drain', {
        mutation: true,
        input: { id: '00000000-0000-4000-8000-000000000000' },
      }),
    ).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });

    const drained = await api.call('olivia', 'admin.hosts.drain', {
      mutation: true,
      input: { id: hostId },
    });
    expect(drained.status).toBe(200);
    const out = drained.data as DrainHostOutput;
    expect(out.host.state).toBe('draining');
    const [op] = await withPlatform(api.db, 'test: read operation', (tx) =>
      tx.select().from(schema.operations).where(eq(schema.operations.id, out.operationId)),
    );
    // Recorded for the worker's host.drain workflow (no worker runs in this test).
    expect(op).toMatchObject({ kind: 'host.drain', targetId: hostId, state: 'pending' });
    // Draining again while that drain is unfinished answers the same operation.
    const again = await api.call('olivia', 'admin.hosts.drain', {
      mutation: true,
      input: { id: hostId },
    });
    expect((again.data as DrainHostOutput).operationId).toBe(out.operationId);
    // Not left pending for a relay on the shared database to pick up.
    await withPlatform(api.db, 'test: drop the drain', (tx) =>
      tx.delete(schema.operations).where(eq(schema.operations.id, out.operationId)),
    );
    // A heartbeat after the drain leaves it draining.
    const drainedAt = (await host()).updatedAt;
    const later = await poll(host, (h) => (h.lastHeartbeatAt ?? new Date(0)) > drainedAt);
    expect(later.state).toBe('draining');

    const enabled = await api.call('olivia', 'admin.hosts.enable', {
      mutation: true,
      input: { id: hostId },
    });
    expect(enabled.data).toMatchObject({ state: 'up', enabled: true });
    const disabled = await api.call('olivia', 'admin.hosts.disable', {
      mutation: true,
      input: { id: hostId },
    });
    expect(disabled.data as Host).toMatchObject({ state: 'up', enabled: false });
    const rest = await api.rest('olivia', 'POST', `/admin/hosts/${hostId}/enable`, { body: {} });
    expect(rest.status).toBe(200);
    expect((await host()).enabled).toBe(true);

    for (const action of ['host.drain', 'host.enable', 'host.disable']) {
      const rows = await audits(action);
      expect(rows.length, action).toBeGreaterThan(0);
      expect(rows[0]).toMatchObject({ actorId: api.sub.olivia, tenantId: null });
    }
    expect((await audits('host.drain'))[0]!.details).toMatchObject({
      operationId: out.operationId,
      from: { state: 'up' },
      to: { state: 'draining' },
    });
  }, 120_000);
});
