/**
 * The login session, on top of keycloak-js: authorization code flow with PKCE S256, and tokens
 * refreshed shortly before they expire. Created once, outside React, so React's StrictMode double
 * effects can never initialise Keycloak twice.
 */
import Keycloak from 'keycloak-js';
import type { UiConfig } from './config';

/** Refresh when the access token has less than this left. */
export const MIN_VALIDITY_SECONDS = 30;

export interface Session {
  /** A valid access token, refreshed first when it is about to expire. */
  token(): Promise<string>;
  logout(): Promise<void>;
  subject: string;
}

export async function startSession(config: UiConfig, clientId: string): Promise<Session> {
  const keycloak = new Keycloak({ url: config.keycloakUrl, realm: config.realm, clientId });
  // The realm accepts only exact redirect URIs: the app's root.
  const redirectUri = `${window.location.origin}/`;
  const authenticated = await keycloak.init({
    onLoad: 'login-required',
    pkceMethod: 'S256',
    checkLoginIframe: false,
    redirectUri,
  });
  if (!authenticated) {
    await keycloak.login({ redirectUri });
    throw new Error('redirecting to login');
  }
  keycloak.onTokenExpired = () => {
    keycloak.updateToken(MIN_VALIDITY_SECONDS).catch(() => keycloak.login({ redirectUri }));
  };
  return {
    subject: keycloak.subject ?? '',
    async token() {
      try {
        await keycloak.updateToken(MIN_VALIDITY_SECONDS);
      } catch {
        // The refresh token is gone or revoked: the only way back is a new login.
        await keycloak.login({ redirectUri });
      }
      return keycloak.token ?? '';
    },
    async logout() {
      await keycloak.logout({ redirectUri });
    },
  };
}
