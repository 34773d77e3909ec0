import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { ErrorCode, redactConfig } from '@palisade/contracts';
import { apiConfigSchema, keycloakRealmOf } from '../config';
import { mappingFor } from '../errors/error-map';
import { createIdentityAdmin } from './identity.provider';
import { KeycloakIdentityAdmin, UnconfiguredIdentityAdmin } from './keycloak-identity-admin';

const base = {
  DATABASE_URL: 'postgres://u:p@127.0.0.1:5432/db',
  REDIS_URL: 'redis://127.0.0.1:6379',
  KEYCLOAK_ISSUER: 'http://localhost:18080/realms/palisade',
};

/** A loopback port with nothing listening on it. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
  const { port } = server.address() as { port: number };
  await new Promise((r) => server.close(r));
  return port;
}

describe('identity admin configuration', () => {
  it('derives Keycloak’s base URL and realm from the issuer, and refuses an issuer without /realms/', () => {
    const config = apiConfigSchema.parse(base);
    expect(keycloakRealmOf(config)).toEqual({
      baseUrl: 'http://localhost:18080',
      realm: 'palisade',
    });
    const bad = apiConfigSchema.safeParse({ ...base, KEYCLOAK_ISSUER: 'http://localhost:18080/' });
    expect(bad.success).toBe(false);
    expect(bad.error?.issues[0]?.path).toEqual(['KEYCLOAK_ISSUER']);
  });

  it('the client secret is redacted in logged config and must not be a toy value', () => {
    const secret = 'a-long-enough-dev-secret';
    const config = apiConfigSchema.parse({ ...base, KEYCLOAK_ADMIN_CLIENT_SECRET: secret });
    expect(JSON.stringify(redactConfig(config))).not.toContain(secret);
    const short = apiConfigSchema.safeParse({ ...base, KEYCLOAK_ADMIN_CLIENT_SECRET: 'x' });
    expect(short.error?.issues[0]?.path).toEqual(['KEYCLOAK_ADMIN_CLIENT_SECRET']);
  });

  it('without a secret, identity changes answer 503 and say which variable is missing', async () => {
    const admin = createIdentityAdmin(apiConfigSchema.parse(base));
    expect(admin).toBeInstanceOf(UnconfiguredIdentityAdmin);
    expect(admin.tokenUrl).toBe(
      'http://localhost:18080/realms/palisade/protocol/openid-connect/token',
    );
    const error = await admin.ensureUser('a@example.test').catch((e: unknown) => e);
    expect(error).toMatchObject({ code: ErrorCode.UNAVAILABLE });
    expect(String((error as Error).message)).toMatch(/KEYCLOAK_ADMIN_CLIENT_SECRET/);
    expect(mappingFor(error as never).http).toBe(503);
  });

  it('an unreachable Keycloak is common.unavailable (503, retry), never an internal error', async () => {
    const admin = new KeycloakIdentityAdmin({
      baseUrl: `http://127.0.0.1:${await closedPort()}`,
      realm: 'palisade',
      clientId: 'palisade-identity-admin',
      clientSecret: 'irrelevant-for-this-test',
    });
    for (const attempt of [
      () => admin.ensureTenantGroup('acme'),
      () => admin.ensureUser('a@example.test'),
      () => admin.createApiClient({ clientId: 'c', tenantId: 't', description: 'd' }),
    ])
      await expect(attempt()).rejects.toMatchObject({ code: ErrorCode.UNAVAILABLE });
  });
});
