import { decodeJwt } from 'jose';
import { describe, expect, it } from 'vitest';
import { loginWithPassword } from './keycloak';
import { loadStack } from './stack';

describe('loginWithPassword against the real Keycloak', () => {
  const stack = loadStack('test');
  const params = (
    username: string,
    password: string,
    clientId = 'palisade-portal',
    redirectUri = 'http://localhost:15173/',
  ) => ({
    keycloakUrl: stack.keycloak.url,
    realm: stack.keycloak.realm,
    clientId,
    redirectUri,
    username,
    password,
  });

  it('walks the PKCE code flow and returns tokens for the API audience', async () => {
    const t = await loginWithPassword(params('bob', 'bob-dev-password'));
    const claims = decodeJwt(t.accessToken);
    expect(claims.aud).toContain('palisade-api');
    expect(claims.azp).toBe('palisade-portal');
    expect(claims['preferred_username']).toBe('bob');
    expect(t.refreshToken).toBeTruthy();
  });

  it('fails with Keycloak’s own message on a wrong password', async () => {
    await expect(loginWithPassword(params('bob', 'wrong'))).rejects.toThrow(
      /login as bob failed.*Invalid username or password/,
    );
  });

  it('is refused a redirect URI the client does not list exactly', async () => {
    await expect(
      loginWithPassword(
        params('bob', 'bob-dev-password', 'palisade-portal', 'http://localhost:15173/evil'),
      ),
    ).rejects.toThrow(/login page not found/);
  });
});
