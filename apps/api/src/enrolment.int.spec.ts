/**
 * Host enrolment against the real stack: an operator creates a join token (real Keycloak token),
 * a real agent process enrols through the agent gateway and then serves its API over mTLS. Checks
 * who may create tokens, that a token works once and not after its expiry, that the agent answers
 * only the control plane's certificate, and that renewal needs the host's current certificate.
 */
import { createHash, randomUUID } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import { connect as tlsConnect } from 'node:tls';
import path from 'node:path';
import 'reflect-metadata';
import * as x509 from '@peculiar/x509';
import { and, eq, inArray } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  CERT_OU,
  ErrorCode,
  type Host,
  type HostCertificate,
  type JoinToken,
} from '@palisade/contracts';
import {
  ensureHost,
  insertJoinToken,
  recordHostCertificate,
  schema,
  withPlatform,
} from '@palisade/db';
import { AgentGatewayService } from './agent-gateway/gateway.service';
import { hashSecret, newSecret, formatToken } from './agent-gateway/join-token';
import { PkiService } from './pki/pki.service';
import { fingerprintOfPem, issueKeyAndCertificate, loadOrCreateCa } from './pki/x509';
import {
  csrPem,
  freePort,
  httpsCall,
  startAgent,
  type AgentProcess,
} from './testing/agent-process';
import { startTestApi, type TestApi } from './testing/harness';

describe('host enrolment and the agent API over mTLS (real API, Postgres, Keycloak, agent)', () => {
  let api: TestApi;
  let tmp: string;
  let gateway: string;
  let pki: PkiService;
  let agent: AgentProcess | undefined;
  let agentUrl: string;
  let joinToken: JoinToken;
  const hostName = `hv-${Math.random().toString(36).slice(2, 8)}`;
  const stateDir = () => path.join(tmp, 'agent-state');

  beforeAll(async () => {
    tmp = await mkdtemp(path.join(os.tmpdir(), 'palisade-enrol-'));
    api = await startTestApi({ PKI_DIR: path.join(tmp, 'pki'), AGENT_GATEWAY_PORT: '0' });
    pki = api.app.get(PkiService);
    gateway = api.app.get(AgentGatewayService).url()!;
  });
  afterAll(async () => {
    if (agent && agent.child.exitCode === null) {
      const exited = new Promise((r) => agent!.child.once('exit', r));
      agent.child.kill('SIGTERM');
      await exited;
    }
    await api?.close();
    if (tmp) await rm(tmp, { recursive: true, force: true });
  });

  const hostRow = (name: string) =>
    withPlatform(api.db, 'test: read host', (tx) =>
      tx.select().from(schema.hosts).where(eq(schema.hosts.name, name)),
    );

  it('the CA is created on first boot with its key at 0600, and is the same after a reload', async () => {
    const mode = (await stat(path.join(tmp, 'pki', 'ca.key'))).mode & 0o777;
    expect(mode.toString(8)).toBe('600');
    const again = await loadOrCreateCa(path.join(tmp, 'pki'));
    expect(again.fingerprint).toBe(pki.ca().fingerprint);
  });

  it('a tenant user cannot create join tokens (403) and no host row appears', async () => {
    const denied = await api.call('alice', 'admin.hosts.createJoinToken', {
      mutation: true,
      input: { hostName },
    });
    expect(denied).toMatchObject({ status: 403, code: ErrorCode.AUTH_FORBIDDEN });
    expect(await hostRow(hostName)).toEqual([]);
    expect(await api.call('alice', 'admin.hosts.list')).toMatchObject({ status: 403 });
  });

  it('a bad host name or TTL is a 400 that names the field', async () => {
    const bad = await api.call('olivia', 'admin.hosts.createJoinToken', {
      mutation: true,
      input: { hostName: 'Bad_Name', ttlMinutes: 0 },
    });
    expect(bad).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
    expect(bad.message).toContain('hostName');
    expect(bad.message).toContain('ttlMinutes');
  });

  it('an operator creates a token: shown once, stored only as a hash, audited', async () => {
    const created = await api.call('olivia', 'admin.hosts.createJoinToken', {
      mutation: true,
      input: { hostName, ttlMinutes: 30 },
    });
    expect(created.status).toBe(200);
    joinToken = created.data as JoinToken;
    expect(joinToken).toMatchObject({ hostName, caFingerprint: pki.ca().fingerprint });
    const [, tokenId, secret] = joinToken.token.split('.');
    const rows = await withPlatform(api.db, 'test: read tokens', (tx) =>
      tx.select().from(schema.hostJoinTokens).where(eq(schema.hostJoinTokens.id, tokenId!)),
    );
    expect(rows).toHaveLength(1);
    expect(rows[0]!.secretHash).toBe(hashSecret(secret!));
    expect(JSON.stringify(rows)).not.toContain(secret);
    expect((await hostRow(hostName))[0]).toMatchObject({
      state: 'enrolling',
      certFingerprint: null,
    });
    const audit = await withPlatform(api.db, 'test: read audit', (tx) =>
      tx.select().from(schema.auditEvents).where(eq(schema.auditEvents.targetId, joinToken.hostId)),
    );
    expect(audit.map((a) => a.action)).toContain('host.join_token.create');
    expect(JSON.stringify(audit)).not.toContain(secret);
  });

  it('an agent with the wrong CA pin refuses to send its token, which stays unused', async () => {
    const port = await freePort();
    const wrong = startAgent({
      AGENT_HOSTNAME: hostName,
      AGENT_HOST: '127.0.0.1',
      AGENT_PORT: String(port),
      AGENT_STATE_DIR: path.join(tmp, 'wrong-pin'),
      AGENT_API_URL: gateway,
      AGENT_JOIN_TOKEN: joinToken.token,
      AGENT_CA_SHA256: 'ab'.repeat(32),
    });
    expect(await wrong.ready).toBe(1);
    expect(wrong.output()).toContain('refusing to send the join token');
    const [host] = await hostRow(hostName);
    expect(host).toMatchObject({ state: 'enrolling', certFingerprint: null });
  }, 120_000);

  it('the agent enrols: key 0600, the host is up with the certificate the agent holds', async () => {
    const port = await freePort();
    agentUrl = `https://127.0.0.1:${port}`;
    agent = startAgent({
      AGENT_HOSTNAME: hostName,
      AGENT_HOST: '127.0.0.1',
      AGENT_PORT: String(port),
      AGENT_STATE_DIR: stateDir(),
      AGENT_API_URL: gateway,
      AGENT_JOIN_TOKEN: joinToken.token,
      AGENT_CA_SHA256: joinToken.caFingerprint,
    });
    const ready = await agent.ready;
    expect(ready, agent.output()).toBe('listening');
    const keyMode = (await stat(path.join(stateDir(), 'pki', 'host.key'))).mode & 0o777;
    expect(keyMode.toString(8)).toBe('600');
    const certPem = await readFile(path.join(stateDir(), 'pki', 'host.crt'), 'utf8');
    const cert = new x509.X509Certificate(certPem);
    expect(cert.subject).toContain(`CN=${hostName}`);
    expect(cert.subject).toContain(`OU=${CERT_OU.host}`);
    expect(cert.issuer).toBe(pki.ca().cert.subject);
    const [host] = await hostRow(hostName);
    expect(host).toMatchObject({
      state: 'up',
      certFingerprint: fingerprintOfPem(certPem),
      agentUrl,
    });
    const listed = await api.call('olivia', 'admin.hosts.list');
    expect((listed.data as Host[]).find((h) => h.name === hostName)).toMatchObject({
      state: 'up',
      certFingerprint: fingerprintOfPem(certPem),
    });
  }, 120_000);

  it('a used token is refused (409), and so are an unknown and an expired one (401)', async () => {
    const enrol = (token: string) =>
      csrPem(hostName).then((csr) =>
        httpsCall(`${gateway}/agent/v1/enrol`, {
          method: 'POST',
          ca: pki.ca().certPem,
          body: { token, csr, agentUrl: 'https://127.0.0.1:9' },
        }),
      );
    const before = (await hostRow(hostName))[0]!.certFingerprint;
    expect(await enrol(joinToken.token)).toMatchObject({
      status: 409,
      body: { code: ErrorCode.ENROL_TOKEN_USED },
    });
    const [, id] = joinToken.token.split('.');
    expect(await enrol(formatToken(id!, newSecret()))).toMatchObject({
      status: 401,
      body: { code: ErrorCode.ENROL_TOKEN_UNKNOWN },
    });
    const secret = newSecret();
    const expired = await withPlatform(api.db, 'test: an expired join token', async (tx) => {
      const host = await ensureHost(tx, { name: hostName });
      return insertJoinToken(tx, {
        hostId: host.id,
        secretHash: hashSecret(secret),
        expiresAt: new Date(Date.now() - 60_000),
        createdBy: 'test',
      });
    });
    expect(await enrol(formatToken(expired.id, secret))).toMatchObject({
      status: 401,
      body: { code: ErrorCode.ENROL_TOKEN_EXPIRED },
    });
    // Nothing the refused attempts sent changed the host; each left a trace without the secret.
    expect((await hostRow(hostName))[0]!.certFingerprint).toBe(before);
    const denied = await withPlatform(api.db, 'test: read audit', (tx) =>
      tx
        .select()
        .from(schema.auditEvents)
        .where(
          and(
            eq(schema.auditEvents.action, 'host.enrol'),
            eq(schema.auditEvents.outcome, 'denied'),
            inArray(schema.auditEvents.targetId, [id!, expired.id]),
          ),
        ),
    );
    expect(denied.map((a) => a.details?.code).sort()).toEqual(
      [
        ErrorCode.ENROL_TOKEN_EXPIRED,
        ErrorCode.ENROL_TOKEN_UNKNOWN,
        ErrorCode.ENROL_TOKEN_USED,
      ].sort(),
    );
    expect(JSON.stringify(denied)).not.toContain(joinToken.token.split('.')[2]);
    expect(JSON.stringify(denied)).not.toContain(secret);
  });

  it('a malformed CSR or token names the field', async () => {
    const r = await httpsCall(`${gateway}/agent/v1/enrol`, {
      method: 'POST',
      ca: pki.ca().certPem,
      body: { token: 'nope', csr: 'nope', agentUrl: 'http://x' },
    });
    expect(r).toMatchObject({ status: 400, body: { code: ErrorCode.VALIDATION_FAILED } });
    const message = (r.body as { message: string }).message;
    for (const field of ['token', 'csr', 'agentUrl']) expect(message).toContain(field);
  });

  describe('the agent API', () => {
    const call = (opts: { key?: string; cert?: string; ca?: string }) =>
      httpsCall(`${agentUrl}/v1/host/compliance`, { ca: opts.ca ?? pki.ca().certPem, ...opts });

    it('refuses at TLS a client without a certificate', async () => {
      const r = await call({});
      expect(r.status).toBeUndefined();
      expect(r.tlsError).toMatch(/^(ERR_SSL_|ECONNRESET|EPIPE)/);
    });

    it('refuses at TLS a control-plane certificate signed by another CA', async () => {
      const other = await loadOrCreateCa(path.join(tmp, 'other-ca'));
      const forged = await issueKeyAndCertificate(other, {
        commonName: 'palisade-control-plane',
        organizationalUnit: CERT_OU.controlPlane,
        names: ['localhost'],
        validityDays: 1,
      });
      const r = await call({ key: forged.keyPem, cert: forged.pem });
      expect(r.status).toBeUndefined();
      expect(r.tlsError).toMatch(/^(ERR_SSL_|ECONNRESET|EPIPE)/);
    });

    it("refuses another host's certificate from the same CA (403): hosts never drive hosts", async () => {
      const otherHost = await issueKeyAndCertificate(pki.ca(), {
        commonName: 'hv-other',
        organizationalUnit: CERT_OU.host,
        names: ['hv-other'],
        validityDays: 1,
      });
      const r = await call({ key: otherHost.keyPem, cert: otherHost.pem });
      expect(r.status).toBe(403);
    });

    it("answers the control plane's certificate with the host's compliance and probe", async () => {
      const cp = pki.controlPlaneTls();
      const compliance = await call({ key: cp.key, cert: cp.cert });
      expect(compliance.status).toBe(200);
      expect(compliance.body).toMatchObject({
        status: expect.stringMatching(/^(compliant|degraded|non-compliant)$/),
        checks: expect.arrayContaining([expect.objectContaining({ id: 'svirt' })]),
      });
      const probe = await httpsCall(`${agentUrl}/v1/host/probe`, {
        ca: pki.ca().certPem,
        key: cp.key,
        cert: cp.cert,
      });
      expect(probe.status).toBe(200);
      expect(probe.body).toMatchObject({ cpu: { count: os.cpus().length } });
    }, 120_000);
  });

  describe('admin.hosts.compliance: the API asks the agent over mTLS', () => {
    it('an operator gets the live report; a tenant user gets 403; an unknown host 404', async () => {
      const r = await api.call('olivia', 'admin.hosts.compliance', {
        input: { id: joinToken.hostId },
      });
      expect(r.status).toBe(200);
      expect(r.data).toMatchObject({
        status: expect.stringMatching(/^(compliant|degraded|non-compliant)$/),
        checks: expect.arrayContaining([expect.objectContaining({ id: 'libvirt' })]),
      });
      expect(
        await api.call('alice', 'admin.hosts.compliance', { input: { id: joinToken.hostId } }),
      ).toMatchObject({ status: 403, code: ErrorCode.AUTH_FORBIDDEN });
      expect(
        await api.call('olivia', 'admin.hosts.compliance', { input: { id: randomUUID() } }),
      ).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
    }, 120_000);

    it('a host that has not enrolled is a 409 that says so', async () => {
      const created = await api.call('olivia', 'admin.hosts.createJoinToken', {
        mutation: true,
        input: { hostName: `${hostName}-later` },
      });
      const r = await api.call('olivia', 'admin.hosts.compliance', {
        input: { id: (created.data as JoinToken).hostId },
      });
      expect(r).toMatchObject({ status: 409, code: ErrorCode.HOST_NOT_ENROLLED });
    });

    it("refuses an agent that answers with another host's certificate", async () => {
      // Host B's row points at host A's agent: A's certificate must not pass for B.
      const impostor = await withPlatform(api.db, 'test: a host pointing at another agent', (tx) =>
        ensureHost(tx, { name: `${hostName}-b` }).then((h) =>
          recordHostCertificate(tx, {
            id: h.id,
            fingerprint: 'f'.repeat(64),
            expiresAt: new Date(Date.now() + 86_400_000),
            agentUrl,
          }),
        ),
      );
      const r = await api.call('olivia', 'admin.hosts.compliance', { input: { id: impostor.id } });
      expect(r).toMatchObject({ status: 503, code: ErrorCode.HOST_AGENT_UNREACHABLE });
      expect(r.message).toContain(`not host ${hostName}-b`);
    });
  });

  it('on SIGHUP the agent rotates its key and certificate and serves the new one', async () => {
    const pkiDir = path.join(stateDir(), 'pki');
    const oldCert = await readFile(path.join(pkiDir, 'host.crt'), 'utf8');
    const oldKey = await readFile(path.join(pkiDir, 'host.key'), 'utf8');
    const renewed = agent!.until('certificate renewed');
    agent!.child.kill('SIGHUP');
    await renewed;
    const newCert = await readFile(path.join(pkiDir, 'host.crt'), 'utf8');
    expect(fingerprintOfPem(newCert)).not.toBe(fingerprintOfPem(oldCert));
    expect(await readFile(path.join(pkiDir, 'host.key'), 'utf8')).not.toBe(oldKey);
    expect(((await stat(path.join(pkiDir, 'host.key'))).mode & 0o777).toString(8)).toBe('600');
    expect((await hostRow(hostName))[0]!.certFingerprint).toBe(fingerprintOfPem(newCert));
    // New handshakes get the new certificate, without a restart.
    const cp = pki.controlPlaneTls();
    const served = await new Promise<string>((resolve, reject) => {
      const s = tlsConnect(
        {
          host: '127.0.0.1',
          port: Number(new URL(agentUrl).port),
          ca: cp.ca,
          key: cp.key,
          cert: cp.cert,
        },
        () => {
          resolve(createHash('sha256').update(s.getPeerCertificate().raw).digest('hex'));
          s.end();
        },
      );
      s.once('error', reject);
    });
    expect(served).toBe(fingerprintOfPem(newCert));
    expect(
      await api.call('olivia', 'admin.hosts.compliance', { input: { id: joinToken.hostId } }),
    ).toMatchObject({ status: 200 });
  }, 120_000);

  describe('renewal over mTLS', () => {
    const renew = async (tls: { key?: string; cert?: string }) =>
      httpsCall(`${gateway}/agent/v1/renew`, {
        method: 'POST',
        ca: pki.ca().certPem,
        ...tls,
        body: { csr: await csrPem(hostName) },
      });

    it('without a client certificate is refused (401)', async () => {
      expect(await renew({})).toMatchObject({
        status: 401,
        body: { code: ErrorCode.AGENT_CERT_REJECTED },
      });
    });

    it('with a certificate from another CA is refused (401)', async () => {
      const other = await loadOrCreateCa(path.join(tmp, 'other-ca'));
      const forged = await issueKeyAndCertificate(other, {
        commonName: hostName,
        organizationalUnit: CERT_OU.host,
        names: [hostName],
        validityDays: 1,
      });
      expect(await renew({ key: forged.keyPem, cert: forged.pem })).toMatchObject({
        status: 401,
        body: { code: ErrorCode.AGENT_CERT_REJECTED },
      });
    });

    it("with the host's current certificate issues a new one; the old one no longer renews", async () => {
      const key = await readFile(path.join(stateDir(), 'pki', 'host.key'), 'utf8');
      const cert = await readFile(path.join(stateDir(), 'pki', 'host.crt'), 'utf8');
      const r = await renew({ key, cert });
      expect(r.status).toBe(200);
      const renewed = r.body as HostCertificate;
      expect(renewed.hostName).toBe(hostName);
      expect(new x509.X509Certificate(renewed.certificate).subject).toContain(`CN=${hostName}`);
      expect((await hostRow(hostName))[0]!.certFingerprint).toBe(
        fingerprintOfPem(renewed.certificate),
      );
      expect(await renew({ key, cert })).toMatchObject({
        status: 401,
        body: { code: ErrorCode.AGENT_CERT_REJECTED },
      });
    });
  });

  // Last against this API: it leaves 127.0.0.1 blocked on the gateway.
  it('an address that keeps failing is refused with 429 before its token is looked at', async () => {
    const attempt = async () =>
      httpsCall(`${gateway}/agent/v1/enrol`, {
        method: 'POST',
        ca: pki.ca().certPem,
        body: {
          token: formatToken(randomUUID(), newSecret()),
          csr: await csrPem(hostName),
          agentUrl: 'https://127.0.0.1:9',
        },
      });
    const codes: string[] = [];
    for (let i = 0; i < 12; i++) codes.push(((await attempt()).body as { code: string }).code);
    // Earlier tests already spent some of the 10 failures this address may have per window.
    expect(codes).toContain(ErrorCode.ENROL_TOKEN_UNKNOWN);
    expect(codes.at(-1)).toBe(ErrorCode.RATE_LIMITED);
    expect(
      codes.slice(codes.indexOf(ErrorCode.RATE_LIMITED)).every((c) => c === ErrorCode.RATE_LIMITED),
    ).toBe(true);
    // Even a valid token from this address now waits for the window to pass.
    const fresh = await api.call('olivia', 'admin.hosts.createJoinToken', {
      mutation: true,
      input: { hostName: `${hostName}-c` },
    });
    const r = await httpsCall(`${gateway}/agent/v1/enrol`, {
      method: 'POST',
      ca: pki.ca().certPem,
      body: {
        token: (fresh.data as JoinToken).token,
        csr: await csrPem(`${hostName}-c`),
        agentUrl: 'https://127.0.0.1:9',
      },
    });
    expect(r).toMatchObject({ status: 429, body: { code: ErrorCode.RATE_LIMITED } });
  });

  it('enrolment is off, with a clear error, when PKI_DIR is unset', async () => {
    const plain = await startTestApi();
    try {
      const r = await plain.call('olivia', 'admin.hosts.createJoinToken', {
        mutation: true,
        input: { hostName: `hv-${randomUUID().slice(0, 8)}` },
      });
      expect(r).toMatchObject({ status: 503, code: ErrorCode.ENROL_DISABLED });
    } finally {
      await plain.close();
    }
  });
});
