import { createServer, type IncomingHttpHeaders, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { TRPCClientError } from '@trpc/client';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { apiErrorTitle, createApiClient, displayName, shouldRetry, toDisplayError } from './api';
import { LoginRedirectError } from './errors';

/**
 * A stand-in speaking tRPC's batch wire format on a real socket, so the client's real link,
 * headers and error parsing run. (The real API's behaviour is covered by the e2e tests.)
 */
let server: Server;
let apiUrl: string;
const seen: { url: string; headers: IncomingHttpHeaders }[] = [];
let reply: { status: number; body: unknown } = { status: 200, body: [] };

beforeAll(async () => {
  server = createServer((req, res) => {
    seen.push({ url: req.url ?? '', headers: req.headers });
    res.writeHead(reply.status, { 'content-type': 'application/json' });
    res.end(JSON.stringify(reply.body));
  });
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  apiUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(() => new Promise<void>((r) => server.close(() => r())));

const me = {
  principal: { subject: 's-1', kind: 'user', name: 'Alice Anders', roles: ['r'] },
  isPlatformAdmin: false,
};

describe('createApiClient', () => {
  it('sends each batch to /trpc with a token fetched for that request', async () => {
    seen.length = 0;
    reply = { status: 200, body: [{ result: { data: me } }, { result: { data: me } }] };
    let n = 0;
    const api = createApiClient(`${apiUrl}/`, async () => `token-${++n}`);
    const [a, b] = await Promise.all([api.me.query(), api.me.query()]);
    expect(a).toEqual(me);
    expect(b).toEqual(me);
    expect(seen).toHaveLength(1); // batched
    expect(seen[0]!.url).toMatch(/^\/trpc\/me,me\?batch=1/);
    expect(seen[0]!.headers.authorization).toBe('Bearer token-1');

    reply = { status: 200, body: [{ result: { data: me } }] };
    await api.me.query();
    expect(seen[1]!.headers.authorization).toBe('Bearer token-2');
  });

  it('sends nothing when no token can be had (the browser is off to the login page)', async () => {
    seen.length = 0;
    const api = createApiClient(apiUrl, () => Promise.reject(new LoginRedirectError()));
    await expect(api.me.query()).rejects.toThrow(/redirecting to the login page/);
    expect(seen).toHaveLength(0);
  });

  it("surfaces the API's error code and request ID", async () => {
    reply = {
      status: 401,
      body: [
        {
          error: {
            message: 'The access token has expired.',
            code: -32001,
            data: {
              code: 'auth.token_expired',
              requestId: 'req-123',
              httpStatus: 401,
              path: 'me',
            },
          },
        },
      ],
    };
    const api = createApiClient(apiUrl, async () => 't');
    const error = await api.me.query().catch((e: unknown) => e);
    expect(toDisplayError(error)).toEqual({
      message: 'The access token has expired.',
      code: 'auth.token_expired',
      requestId: 'req-123',
      httpStatus: 401,
    });
    expect(shouldRetry(0, error)).toBe(false);
    expect(apiErrorTitle(toDisplayError(error))).toBe('The API did not accept your session');
  });

  it('sends the active tenant as X-Palisade-Tenant, read per request, and none before one is chosen', async () => {
    seen.length = 0;
    reply = { status: 200, body: [{ result: { data: me } }] };
    let tenant: string | undefined = undefined;
    const api = createApiClient(
      apiUrl,
      async () => 't',
      () => tenant,
    );
    await api.me.query();
    expect(seen[0]!.headers['x-palisade-tenant']).toBeUndefined();
    tenant = '6f1c2d3e-0000-4000-8000-000000000001';
    reply = { status: 200, body: [{ result: { data: me } }] };
    await api.me.query();
    expect(seen[1]!.headers['x-palisade-tenant']).toBe(tenant);
  });

  it('names every field a validation failure lists', async () => {
    reply = {
      status: 400,
      body: [
        {
          error: {
            message: 'name: must not be empty; sshKeyIds.0: must be a UUID',
            code: -32600,
            data: {
              code: 'common.validation_failed',
              httpStatus: 400,
              requestId: 'req-9',
              fields: [
                { path: 'name', message: 'must not be empty' },
                { path: 'sshKeyIds.0', message: 'must be a UUID' },
              ],
            },
          },
        },
      ],
    };
    const api = createApiClient(apiUrl, async () => 't');
    const shown = toDisplayError(await api.me.query().catch((e: unknown) => e));
    expect(shown.code).toBe('common.validation_failed');
    expect(shown.fields).toEqual([
      { path: 'name', message: 'must not be empty' },
      { path: 'sshKeyIds.0', message: 'must be a UUID' },
    ]);
  });

  it("takes the field of a refusal from details.field, without repeating the field's name", async () => {
    reply = {
      status: 400,
      body: [
        {
          error: {
            message: 'cidr: 10.0.0.1/24 has host bits set; did you mean 10.0.0.0/24?',
            code: -32600,
            data: {
              code: 'common.validation_failed',
              httpStatus: 400,
              details: { field: 'cidr' },
            },
          },
        },
      ],
    };
    const api = createApiClient(apiUrl, async () => 't');
    const shown = toDisplayError(await api.me.query().catch((e: unknown) => e));
    expect(shown.fields).toEqual([
      { path: 'cidr', message: '10.0.0.1/24 has host bits set; did you mean 10.0.0.0/24?' },
    ]);
  });

  it('says which API did not answer when nothing is listening', async () => {
    const closed = createServer();
    await new Promise<void>((r) => closed.listen(0, '127.0.0.1', r));
    const deadUrl = `http://127.0.0.1:${(closed.address() as AddressInfo).port}`;
    await new Promise<void>((r) => closed.close(() => r()));
    const api = createApiClient(deadUrl, async () => 't');
    const error = await api.me.query().catch((e: unknown) => e);
    const shown = toDisplayError(error, deadUrl);
    expect(shown.message).toMatch(new RegExp(`^The API at ${deadUrl} did not answer \\(.+\\)\\.$`));
    expect(shown.code).toBeUndefined();
    expect(apiErrorTitle(shown)).toBe('Cannot reach the API');
    expect(shouldRetry(0, error)).toBe(true);
    expect(shouldRetry(2, error)).toBe(false); // gives up after two retries
  });
});

describe('shouldRetry', () => {
  it('retries a server error but never a login redirect', () => {
    const e500 = TRPCClientError.from({
      error: { message: 'Internal error.', code: -32603, data: { httpStatus: 500 } },
    });
    expect(shouldRetry(0, e500)).toBe(true);
    expect(apiErrorTitle(toDisplayError(e500))).toBe('The API failed');
    expect(shouldRetry(0, new LoginRedirectError())).toBe(false);
  });
});

describe('displayName', () => {
  it('prefers the full name, then the username, then the subject', () => {
    expect(displayName({ subject: 's', username: 'alice', name: 'Alice Anders' })).toBe(
      'Alice Anders',
    );
    expect(displayName({ subject: 's', username: 'alice', name: '' })).toBe('alice');
    expect(displayName({ subject: 's' })).toBe('s');
  });
});
