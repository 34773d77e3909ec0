/**
 * Property-based inputs through every REST operation in the OpenAPI document: whatever a client
 * sends (wrong types, huge strings, odd unicode, missing fields, garbage JSON), the answer is never
 * a 5xx. Runs against the real stack with a real token, so the whole path is exercised.
 */
import fc from 'fast-check';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { buildOpenApiDocument } from './openapi/openapi';
import { startTestApi, type TestApi } from './testing/harness';

const operations = Object.entries(buildOpenApiDocument().paths ?? {}).flatMap(([p, item]) =>
  Object.keys(item as object).map((method) => ({ method: method.toUpperCase(), path: p })),
);

const jsonValue = fc.jsonValue({ maxDepth: 3 });
const oddString = fc.oneof(
  fc.string(),
  fc.string({ unit: 'binary', maxLength: 40 }),
  fc.constant('a'.repeat(70_000)),
  fc.constant("' OR 1=1 --"),
);
const body = fc.oneof(
  jsonValue.map((v) => JSON.stringify(v)),
  fc
    .record({ name: oddString, publicKey: oddString }, { requiredKeys: [] })
    .map((v) => JSON.stringify(v)),
  fc.string().map((s) => `{${s}`), // not JSON at all
);

describe('REST input fuzzing (real stack)', () => {
  let api: TestApi;
  let base: string;
  let token: string;
  let tenantSlug: string;

  beforeAll(async () => {
    api = await startTestApi();
    base = api.base;
    token = api.token.bob;
    const [tenant] = await api.tenants('fuzz');
    tenantSlug = tenant!.slug;
    await api.member('bob', tenant!.id, 'owner');
  });
  afterAll(() => api?.close());

  it('has operations to fuzz', () => {
    expect(operations.length).toBeGreaterThan(2);
  });

  it('never answers a 5xx, whatever the path parameters, headers and body', async () => {
    const seen = new Map<number, number>();
    await fc.assert(
      fc.asyncProperty(
        fc.constantFrom(...operations),
        fc.oneof(fc.uuid(), oddString),
        body,
        fc.oneof(fc.constant(tenantSlug), oddString),
        fc.boolean(),
        async (op, param, payload, tenantHeader, withToken) => {
          const url = `${base}/v1${op.path.replace('{id}', encodeURIComponent(param))}`;
          const headers: Record<string, string> = { 'content-type': 'application/json' };
          if (withToken) headers.authorization = `Bearer ${token}`;
          if (/^[\x20-\x7e]*$/.test(tenantHeader)) headers['x-palisade-tenant'] = tenantHeader;
          const res = await fetch(url, {
            method: op.method,
            headers,
            body: op.method === 'GET' ? undefined : payload,
          });
          await res.arrayBuffer();
          seen.set(res.status, (seen.get(res.status) ?? 0) + 1);
          expect(res.status, `${op.method} ${url}`).toBeLessThan(500);
        },
      ),
      { numRuns: 150 },
    );
    // The inputs must reach past the edge, not all bounce off one check.
    console.log('status codes seen', Object.fromEntries(seen));
    expect(seen.size).toBeGreaterThan(2);
  }, 120_000);
});
