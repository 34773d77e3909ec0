/**
 * The REST transport against the real stack: the same procedures as tRPC, reached at /v1 with a
 * real Keycloak token, the OpenAPI document at /openapi.json, and the docs page at /docs.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ErrorCode } from '@palisade/contracts';
import { startTestApi, type TestApi } from './testing/harness';

describe('REST /v1 (real stack)', () => {
  let api: TestApi;
  let base: string;
  let token: string;
  let tenantSlug: string;

  beforeAll(async () => {
    api = await startTestApi();
    base = api.base;
    token = api.token.alice;
    const [tenant] = await api.tenants('rest');
    tenantSlug = tenant!.slug;
    await api.member('alice', tenant!.id, 'owner');
  });
  afterAll(() => api?.close());

  it('GET /v1/me answers with the principal, like the tRPC procedure', async () => {
    const res = await fetch(`${base}/v1/me`, { headers: { authorization: `Bearer ${token}` } });
    expect(res.status).toBe(200);
    expect(await res.json()).toMatchObject({
      principal: { username: 'alice', name: 'Alice Anders' },
      isPlatformAdmin: false,
    });
  });

  it('GET /v1/me without a token is a 401 with the stable code', async () => {
    const res = await fetch(`${base}/v1/me`);
    expect(res.status).toBe(401);
    expect(await res.json()).toMatchObject({ data: { code: ErrorCode.AUTH_MISSING_TOKEN } });
  });

  it('bad input on REST is a 400 naming the field, never a 500', async () => {
    const res = await fetch(`${base}/v1/ssh-keys/not-a-uuid`, {
      method: 'DELETE',
      headers: { authorization: `Bearer ${token}`, 'x-palisade-tenant': tenantSlug },
    });
    expect(res.status).toBe(400);
    const body = (await res.json()) as { message: string };
    expect(body.message).toMatch(/id/);
  });

  it('POST then GET /v1/ssh-keys round-trips through the same procedures', async () => {
    const headers = {
      authorization: `Bearer ${token}`,
      'x-palisade-tenant': tenantSlug,
      'content-type': 'application/json',
    };
    const publicKey =
      'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIBvY1m0DkK0sH3uQkq8b7cN0bq4V8m1s0pQ2YgkqJm7G rest@test';
    const created = await fetch(`${base}/v1/ssh-keys`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'rest-key', publicKey }),
    });
    expect(created.status).toBe(200);
    const listed = (await (await fetch(`${base}/v1/ssh-keys`, { headers })).json()) as {
      name: string;
    }[];
    expect(listed.map((k) => k.name)).toContain('rest-key');
  });

  it('a body over the limit is a 413 and an unparsable one a 400, never a 500; no stack traces', async () => {
    const headers = {
      authorization: `Bearer ${token}`,
      'x-palisade-tenant': tenantSlug,
      'content-type': 'application/json',
    };
    const big = await fetch(`${base}/v1/ssh-keys`, {
      method: 'POST',
      headers,
      body: JSON.stringify({ name: 'a'.repeat(200_000) }),
    });
    expect(big.status).toBe(413);
    expect(await big.json()).toMatchObject({ code: ErrorCode.PAYLOAD_TOO_LARGE });
    const broken = await fetch(`${base}/v1/ssh-keys`, {
      method: 'POST',
      headers,
      body: '{"name": ',
    });
    expect(broken.status).toBe(400);
    const unauth = await (await fetch(`${base}/v1/me`)).text();
    expect(unauth, unauth).not.toContain('stack');
  });

  it('serves the OpenAPI 3.1 document and the docs page', async () => {
    const doc = (await (await fetch(`${base}/openapi.json`)).json()) as {
      openapi: string;
      paths: Record<string, unknown>;
    };
    expect(doc.openapi).toBe('3.1.0');
    expect(Object.keys(doc.paths)).toEqual(
      expect.arrayContaining(['/me', '/ssh-keys', '/ssh-keys/{id}']),
    );
    const docs = await fetch(`${base}/docs`);
    expect(await docs.text()).toContain('swagger-ui-bundle.js');
    expect((await fetch(`${base}/docs/assets/swagger-ui-bundle.js`)).status).toBe(200);
  });
});
