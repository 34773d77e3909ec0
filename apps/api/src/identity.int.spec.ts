/**
 * Tenant onboarding, members and API clients against the real stack: the API's own Keycloak admin
 * client changes the real realm, tokens come from the real Keycloak (browser login for people,
 * client_credentials for API clients), and every check of Keycloak's side goes through the master
 * admin's view of the realm, not through the code under test.
 */
import { decodeJwt } from 'jose';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  ErrorCode,
  type ApiClient,
  type ApiClientWithSecret,
  type Member,
  type Tenant,
} from '@palisade/contracts';
import { schema, setMemberRole, withPlatform, withTenant } from '@palisade/db';
import { adminToken } from '@palisade/testkit';
import { eq, sql } from 'drizzle-orm';
import { startTestApi, type CallResult, type TestApi } from './testing/harness';
import { lockForChange } from './trpc/procedures/members/guards';

type Onboarded = Tenant & { owner: (Member & { userCreated: boolean }) | null };

describe('tenant onboarding, members and API clients (real Keycloak + Postgres)', () => {
  let api: TestApi;
  const run = Math.random().toString(36).slice(2, 8);
  const slug = `onb-${run}`;
  const newcomer = `newcomer-${run}@example.test`;
  let tenant: Onboarded;
  /** Keycloak objects this run created, removed again at the end. */
  const cleanup = { users: [] as string[], groups: [] as string[], clients: [] as string[] };

  /** Keycloak's admin API as the master admin: the independent view of the realm. */
  async function kc<T>(path: string, init: RequestInit = {}): Promise<{ status: number; body: T }> {
    const token = await adminToken(api.stack.keycloak);
    const res = await fetch(
      `${api.stack.keycloak.url}/admin/realms/${api.stack.keycloak.realm}${path}`,
      {
        ...init,
        headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json' },
      },
    );
    const text = await res.text();
    return { status: res.status, body: (text ? JSON.parse(text) : null) as T };
  }

  /** A real client_credentials token request, as a script or CI pipeline makes it. */
  async function clientToken(clientId: string, secret: string) {
    const res = await fetch(`${api.stack.keycloak.issuer}/protocol/openid-connect/token`, {
      method: 'POST',
      headers: { 'content-type': 'application/x-www-form-urlencoded' },
      body: new URLSearchParams({
        grant_type: 'client_credentials',
        client_id: clientId,
        client_secret: secret,
      }),
    });
    const body = (await res.json()) as { access_token?: string; error?: string };
    return { status: res.status, token: body.access_token, error: body.error };
  }

  const asAlice = (proc: string, input?: unknown, mutation = input !== undefined) =>
    api.call('alice', proc, { tenant: tenant.id, input, mutation });

  beforeAll(async () => {
    api = await startTestApi();
  });
  afterAll(async () => {
    if (api) {
      for (const id of cleanup.clients) await kc(`/clients/${id}`, { method: 'DELETE' });
      for (const id of cleanup.users) await kc(`/users/${id}`, { method: 'DELETE' });
      for (const id of cleanup.groups) await kc(`/groups/${id}`, { method: 'DELETE' });
    }
    await api?.close();
  });

  it('an operator onboards a tenant: its Keycloak group exists and alice (an existing user) is its owner', async () => {
    const res = await api.call('olivia', 'admin.tenants.create', {
      mutation: true,
      input: { slug, name: `Onboarding ${run}`, ownerEmail: 'Alice@Acme.test' },
    });
    expect(res.status).toBe(200);
    tenant = res.data as Onboarded;
    cleanup.groups.push(tenant.keycloakGroupId!);
    expect(tenant).toMatchObject({ slug, status: 'active' });
    expect(tenant.owner).toMatchObject({
      subject: api.sub.alice,
      email: 'alice@acme.test',
      role: 'owner',
      userCreated: false,
    });

    const group = await kc<{ path: string }>(`/groups/${tenant.keycloakGroupId}`);
    expect(group).toMatchObject({ status: 200, body: { path: `/tenants/${slug}` } });
    const members = await kc<{ id: string }[]>(`/groups/${tenant.keycloakGroupId}/members`);
    expect(members.body.map((m) => m.id)).toEqual([api.sub.alice]);

    const got = await api.call('olivia', 'admin.tenants.get', { input: { id: tenant.id } });
    expect(got.data).toMatchObject({ id: tenant.id, keycloakGroupId: tenant.keycloakGroupId });
    const listed = await api.call('olivia', 'admin.tenants.list');
    expect((listed.data as Tenant[]).map((t) => t.slug)).toContain(slug);
  });

  it('onboarding refuses tenant users (403), a bad slug names the field, a taken slug is 409', async () => {
    const byAlice = await api.call('alice', 'admin.tenants.create', {
      mutation: true,
      input: { slug: `x-${run}`, name: 'x' },
    });
    expect(byAlice).toMatchObject({ status: 403, code: ErrorCode.AUTH_FORBIDDEN });
    const bad = await api.call('olivia', 'admin.tenants.create', {
      mutation: true,
      input: { slug: 'Not A Slug', name: 'x', ownerEmail: 'nope' },
    });
    expect(bad).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
    expect(bad.message).toMatch(/slug: /);
    expect(bad.message).toMatch(/ownerEmail: must be an email address/);
    const taken = await api.call('olivia', 'admin.tenants.create', {
      mutation: true,
      input: { slug, name: 'again' },
    });
    expect(taken).toMatchObject({ status: 409, code: ErrorCode.CONFLICT });
    expect(taken.message).toMatch(/^slug: /);
  });

  it('the owner invites a new person: Keycloak gets the user with required actions, in the tenant group', async () => {
    const res = await asAlice('members.invite', { email: newcomer, role: 'member' });
    expect(res.status).toBe(200);
    const member = res.data as Member & { userCreated: boolean };
    cleanup.users.push(member.subject);
    expect(member).toMatchObject({ email: newcomer, role: 'member', userCreated: true });

    const user = await kc<{
      email: string;
      enabled: boolean;
      emailVerified: boolean;
      requiredActions: string[];
    }>(`/users/${member.subject}`);
    expect(user.body).toMatchObject({ email: newcomer, enabled: true, emailVerified: false });
    expect([...user.body.requiredActions].sort()).toEqual(['UPDATE_PASSWORD', 'VERIFY_EMAIL']);
    const groups = await kc<{ id: string }[]>(`/users/${member.subject}/groups`);
    expect(groups.body.map((g) => g.id)).toContain(tenant.keycloakGroupId);

    const again = await asAlice('members.invite', { email: newcomer, role: 'viewer' });
    expect(again).toMatchObject({ status: 409, code: ErrorCode.CONFLICT });
    expect(again.message).toMatch(/^email: /);
  });

  it('the owner invites an existing user (bob), who then works in the tenant; removal revokes his still-valid token at once', async () => {
    const res = await asAlice('members.invite', { email: 'bob@globex.test', role: 'viewer' });
    expect(res.data).toMatchObject({ subject: api.sub.bob, role: 'viewer', userCreated: false });
    const bobsMembership = (res.data as Member).id;

    const asBob = await api.call('bob', 'members.list', { tenant: tenant.id });
    expect(asBob.status).toBe(200);
    expect((asBob.data as Member[]).map((m) => m.email).sort()).toEqual(
      ['alice@acme.test', 'bob@globex.test', newcomer].sort(),
    );

    const removed = await asAlice('members.remove', { id: bobsMembership });
    expect(removed).toMatchObject({ status: 200, data: { id: bobsMembership } });
    // The same access token, seconds later: refused, because memberships are read per request.
    expect(decodeJwt(api.token.bob).exp! * 1000).toBeGreaterThan(Date.now());
    const after = await api.call('bob', 'members.list', { tenant: tenant.id });
    expect(after).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
    const groups = await kc<{ id: string }[]>(`/users/${api.sub.bob}/groups`);
    expect(groups.body.map((g) => g.id)).not.toContain(tenant.keycloakGroupId);
  });

  it('a tenant never loses its last owner, and only owners touch owners', async () => {
    const members = (await asAlice('members.list')).data as Member[];
    const alice = members.find((m) => m.subject === api.sub.alice)!;
    const newcomerRow = members.find((m) => m.email === newcomer)!;

    const demote = await asAlice('members.setRole', { id: alice.id, role: 'admin' });
    expect(demote).toMatchObject({ status: 409, code: ErrorCode.TENANT_LAST_OWNER });
    const leave = await asAlice('members.remove', { id: alice.id });
    expect(leave).toMatchObject({ status: 409, code: ErrorCode.TENANT_LAST_OWNER });

    // bob as an admin may manage members, but may neither make an owner nor touch alice.
    await asAlice('members.invite', { email: 'bob@globex.test', role: 'admin' });
    const promote = await api.call('bob', 'members.setRole', {
      tenant: tenant.id,
      mutation: true,
      input: { id: newcomerRow.id, role: 'owner' },
    });
    expect(promote).toMatchObject({ status: 403, code: ErrorCode.AUTH_FORBIDDEN });
    const ousted = await api.call('bob', 'members.remove', {
      tenant: tenant.id,
      mutation: true,
      input: { id: alice.id },
    });
    expect(ousted).toMatchObject({ status: 403, code: ErrorCode.AUTH_FORBIDDEN });

    // With a second owner, alice may step down.
    expect((await asAlice('members.setRole', { id: newcomerRow.id, role: 'owner' })).status).toBe(
      200,
    );
    // Through REST this time: PATCH /v1/members/{id} is the same procedure.
    const stepDown = await fetch(`${api.base}/v1/members/${alice.id}`, {
      method: 'PATCH',
      headers: {
        authorization: `Bearer ${api.token.alice}`,
        'x-palisade-tenant': tenant.slug,
        'content-type': 'application/json',
      },
      body: JSON.stringify({ role: 'admin' }),
    });
    expect(stepDown.status).toBe(200);
    expect(await stepDown.json()).toMatchObject({ id: alice.id, role: 'admin' });
    const roles = await withPlatform(api.db, 'test: read roles', (tx) =>
      tx
        .select({ subject: schema.memberships.subject, role: schema.memberships.role })
        .from(schema.memberships)
        .where(eq(schema.memberships.tenantId, tenant.id)),
    );
    expect(roles.filter((r) => r.role === 'owner')).toEqual([
      { subject: newcomerRow.subject, role: 'owner' },
    ]);
  });

  it('two owners demoting each other at the same moment: the second waits for the first and is refused', async () => {
    const [race] = await api.tenants('owner-race');
    await api.member('alice', race!.id, 'owner');
    await api.member('bob', race!.id, 'owner');
    const members = (await api.call('alice', 'members.list', { tenant: race!.id }))
      .data as Member[];
    const idOf = (sub: string) => members.find((m) => m.subject === sub)!.id;
    let second: Promise<CallResult> | undefined;
    // The first demotion runs here, holding its locks open until bob's request (authorised as
    // an owner: the demotion is not committed yet) is seen queueing behind them in Postgres.
    await withTenant(api.db, race!.id, async (tx) => {
      const { rows } = await tx.execute<{ pid: number }>(sql`SELECT pg_backend_pid() AS pid`);
      const pid = rows[0]!.pid;
      await lockForChange(tx, { tenantId: race!.id, id: idOf(api.sub.bob) });
      await setMemberRole(tx, { tenantId: race!.id, id: idOf(api.sub.bob), role: 'member' });
      second = api.call('bob', 'members.setRole', {
        tenant: race!.id,
        mutation: true,
        input: { id: idOf(api.sub.alice), role: 'member' },
      });
      const queued = async () =>
        (
          await api.db.execute<{ n: number }>(
            sql`SELECT count(*)::int AS n FROM pg_stat_activity WHERE ${pid} = ANY (pg_blocking_pids(pid))`,
          )
        ).rows[0]!.n > 0;
      while (!(await queued())) await new Promise((r) => setTimeout(r, 50));
    });
    expect(await second).toMatchObject({ status: 409, code: ErrorCode.TENANT_LAST_OWNER });
    const roles = await withPlatform(api.db, 'test: read owners', (tx) =>
      tx
        .select({ subject: schema.memberships.subject, role: schema.memberships.role })
        .from(schema.memberships)
        .where(eq(schema.memberships.tenantId, race!.id)),
    );
    expect(roles.filter((r) => r.role === 'owner')).toEqual([
      { subject: api.sub.alice, role: 'owner' },
    ]);
  });

  describe('API clients', () => {
    let ci: ApiClientWithSecret;
    let ciToken: string;
    let rotatedSecret: string;

    it('an admin creates one: a real client_credentials token carries the tenant and the API audience', async () => {
      const res = await asAlice('apiClients.create', { name: 'ci', role: 'member' });
      expect(res.status).toBe(200);
      ci = res.data as ApiClientWithSecret;
      expect(ci).toMatchObject({ name: 'ci', role: 'member', status: 'active' });
      expect(ci.clientSecret.length).toBeGreaterThanOrEqual(16);
      expect(ci.tokenUrl).toBe(`${api.stack.keycloak.issuer}/protocol/openid-connect/token`);

      const kcClient = await kc<{ id: string; serviceAccountsEnabled: boolean }[]>(
        `/clients?clientId=${encodeURIComponent(ci.clientId)}`,
      );
      cleanup.clients.push(kcClient.body[0]!.id);
      expect(kcClient.body[0]).toMatchObject({
        serviceAccountsEnabled: true,
        standardFlowEnabled: false,
        implicitFlowEnabled: false,
        directAccessGrantsEnabled: false,
        publicClient: false,
      });

      const t = await clientToken(ci.clientId, ci.clientSecret);
      expect(t.status).toBe(200);
      ciToken = t.token!;
      const claims = decodeJwt(ciToken);
      expect(claims['palisade_tenant']).toBe(tenant.id);
      expect([claims.aud].flat()).toContain('palisade-api');
      expect(claims['realm_access']).toBeUndefined();

      // Palisade keeps no secret: the row has no column that could hold it.
      const [row] = await withPlatform(api.db, 'test: read api client', (tx) =>
        tx.select().from(schema.apiClients).where(eq(schema.apiClients.id, ci.id)),
      );
      expect(JSON.stringify(row)).not.toContain(ci.clientSecret);
      const listed = (await asAlice('apiClients.list')).data as ApiClient[];
      expect(listed.map((c) => c.name)).toEqual(['ci']);
      expect(JSON.stringify(listed)).not.toContain(ci.clientSecret);
    });

    it('its token calls tenant procedures as its role: member may write SSH keys, not manage members', async () => {
      const bearer = { bearer: ciToken };
      const me = await api.call(bearer, 'me');
      expect(me.data).toMatchObject({ principal: { kind: 'service', tenant: tenant.id } });
      const listed = await api.call(bearer, 'sshKeys.list');
      expect(listed).toMatchObject({ status: 200, data: [] });
      const added = await api.call(bearer, 'sshKeys.create', {
        mutation: true,
        input: {
          name: 'ci-key',
          publicKey:
            'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvY1m0DkK0sH3uQkq8b7cN0bq4V8m1s0pQ2YgkqJm7G ci',
        },
      });
      expect(added.status).toBe(200);
      const invite = await api.call(bearer, 'members.invite', {
        mutation: true,
        input: { email: `ci-${run}@example.test`, role: 'viewer' },
      });
      expect(invite).toMatchObject({ status: 403, code: ErrorCode.AUTH_FORBIDDEN });
      // Another tenant in the header is not its tenant: not found.
      const [other] = await api.tenants('elsewhere');
      const elsewhere = await api.call(bearer, 'sshKeys.list', { tenant: other!.id });
      expect(elsewhere).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
    });

    it('an API client cannot be an owner (400 naming role); another tenant’s client id is 404', async () => {
      const owner = await asAlice('apiClients.create', { name: 'boss', role: 'owner' });
      expect(owner).toMatchObject({ status: 400, code: ErrorCode.VALIDATION_FAILED });
      expect(owner.message).toMatch(/^role: /);
      const [bobs] = await api.tenants('bobs');
      await api.member('bob', bobs!.id, 'owner');
      const stolen = await api.call('bob', 'apiClients.rotate', {
        tenant: bobs!.id,
        mutation: true,
        input: { id: ci.id },
      });
      expect(stolen).toMatchObject({ status: 404, code: ErrorCode.NOT_FOUND });
    });

    it('a token whose palisade_tenant does not match its row is refused (the claim grants nothing)', async () => {
      const res = await asAlice('apiClients.create', { name: 'skewed', role: 'admin' });
      const skewed = res.data as ApiClientWithSecret;
      const [client] = (
        await kc<{ id: string }[]>(`/clients?clientId=${encodeURIComponent(skewed.clientId)}`)
      ).body;
      cleanup.clients.push(client!.id);
      // Rewrite its hard-coded claim to name another tenant, as a tampered realm could.
      const [other] = await api.tenants('claimed');
      const mappers = await kc<{ id: string; name: string; config: Record<string, string> }[]>(
        `/clients/${client!.id}/protocol-mappers/models`,
      );
      const mapper = mappers.body.find((m) => m.config['claim.name'] === 'palisade_tenant')!;
      const put = await kc(`/clients/${client!.id}/protocol-mappers/models/${mapper.id}`, {
        method: 'PUT',
        body: JSON.stringify({
          ...mapper,
          protocol: 'openid-connect',
          protocolMapper: 'oidc-hardcoded-claim-mapper',
          config: { ...mapper.config, 'claim.value': other!.id },
        }),
      });
      expect(put.status).toBe(204);
      const t = await clientToken(skewed.clientId, skewed.clientSecret);
      expect(decodeJwt(t.token!)['palisade_tenant']).toBe(other!.id);
      expect(await api.call({ bearer: t.token! }, 'sshKeys.list')).toMatchObject({
        status: 403,
        code: ErrorCode.AUTH_FORBIDDEN,
      });
      for (const tenantId of [tenant.id, other!.id])
        expect(
          await api.call({ bearer: t.token! }, 'sshKeys.list', { tenant: tenantId }),
        ).toMatchObject({
          status: 404,
          code: ErrorCode.NOT_FOUND,
        });
      expect((await asAlice('apiClients.revoke', { id: skewed.id })).status).toBe(200);
    });

    it('rotation: the old secret stops working, the new one works', async () => {
      const res = await asAlice('apiClients.rotate', { id: ci.id });
      expect(res.status).toBe(200);
      const rotated = res.data as ApiClientWithSecret;
      expect(rotated.clientSecret).not.toBe(ci.clientSecret);
      expect(rotated.secretRotatedAt).not.toBeNull();
      expect(await clientToken(ci.clientId, ci.clientSecret)).toMatchObject({
        status: 401,
        error: 'unauthorized_client',
      });
      rotatedSecret = rotated.clientSecret;
      const fresh = await clientToken(ci.clientId, rotated.clientSecret);
      expect(fresh.status).toBe(200);
      ciToken = fresh.token!;
    });

    it('a suspended tenant refuses its users and its API clients at once, and resumes', async () => {
      const suspended = await api.call('olivia', 'admin.tenants.suspend', {
        mutation: true,
        input: { id: tenant.id },
      });
      expect(suspended).toMatchObject({ status: 200, data: { status: 'suspended' } });
      expect(await asAlice('sshKeys.list')).toMatchObject({
        status: 403,
        code: ErrorCode.TENANT_SUSPENDED,
      });
      expect(await api.call({ bearer: ciToken }, 'sshKeys.list')).toMatchObject({
        status: 403,
        code: ErrorCode.TENANT_SUSPENDED,
      });
      const resumed = await api.call('olivia', 'admin.tenants.resume', {
        mutation: true,
        input: { id: tenant.id },
      });
      expect(resumed.data).toMatchObject({ status: 'active' });
      expect((await asAlice('sshKeys.list')).status).toBe(200);
      expect((await api.call({ bearer: ciToken }, 'sshKeys.list')).status).toBe(200);
    });

    it('revocation: its unexpired token is refused (401 auth.client_revoked) and Keycloak issues no more', async () => {
      const res = await asAlice('apiClients.revoke', { id: ci.id });
      expect(res).toMatchObject({ status: 200, data: { status: 'revoked' } });
      expect(decodeJwt(ciToken).exp! * 1000).toBeGreaterThan(Date.now());
      expect(await api.call({ bearer: ciToken }, 'sshKeys.list')).toMatchObject({
        status: 401,
        code: ErrorCode.AUTH_CLIENT_REVOKED,
      });
      const kcClient = await kc<unknown[]>(`/clients?clientId=${encodeURIComponent(ci.clientId)}`);
      expect(kcClient.body).toEqual([]);
      expect((await clientToken(ci.clientId, rotatedSecret)).status).toBe(401);
      const again = await asAlice('apiClients.revoke', { id: ci.id });
      expect(again).toMatchObject({ status: 200, data: { status: 'revoked' } });
      expect(await asAlice('apiClients.rotate', { id: ci.id })).toMatchObject({
        status: 409,
        code: ErrorCode.CONFLICT,
      });
    });
  });

  it('deleting a tenant puts it in `deleting`, refuses its users, and cannot be resumed', async () => {
    const deleted = await api.call('olivia', 'admin.tenants.delete', {
      mutation: true,
      input: { id: tenant.id },
    });
    expect(deleted).toMatchObject({ status: 200, data: { status: 'deleting' } });
    expect(await asAlice('members.list')).toMatchObject({
      status: 403,
      code: ErrorCode.TENANT_SUSPENDED,
    });
    const resume = await api.call('olivia', 'admin.tenants.resume', {
      mutation: true,
      input: { id: tenant.id },
    });
    expect(resume).toMatchObject({ status: 409, code: ErrorCode.CONFLICT });
    const audit = await withPlatform(api.db, 'test: read audit', (tx) =>
      tx
        .select({ action: schema.auditEvents.action })
        .from(schema.auditEvents)
        .where(eq(schema.auditEvents.tenantId, tenant.id)),
    );
    expect(audit.map((a) => a.action)).toEqual(
      expect.arrayContaining([
        'tenant.create',
        'member.invite',
        'member.remove',
        'member.set_role',
        'apiclient.create',
        'apiclient.rotate',
        'apiclient.revoke',
        'tenant.suspend',
        'tenant.resume',
        'tenant.delete',
      ]),
    );
  });
});
