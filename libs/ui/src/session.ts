/**
 * The login session on top of keycloak-js 26: authorization code flow with PKCE S256, tokens kept
 * fresh by a TokenRefresher, and a new login when a refresh is refused.
 *
 * One Keycloak instance per page and client: keycloak-js refuses a second `init()`, and React's
 * StrictMode runs effects twice in development, so `connectSession` memoises the connection.
 * Must never store tokens anywhere but keycloak-js' memory (no localStorage): a token in storage
 * outlives the tab and is readable by any script on the origin.
 */
import Keycloak from 'keycloak-js';
import type { UiConfig } from './config';
import { LoginRedirectError, LoginServiceError } from './errors';
import { TokenRefresher } from './refresh';

/** Before an API call, refresh when the access token has less than this left (seconds). */
export const MIN_VALIDITY_SECONDS = 30;

/** The person logged in, as the ID token describes them (the API may know more). */
export interface SessionUser {
  subject: string;
  username?: string;
  name?: string;
  email?: string;
}

export interface Session {
  user: SessionUser;
  /** A valid access token, refreshed first when it is about to expire. */
  token(): Promise<string>;
  /** Ends the Keycloak session and comes back to the app, which then asks for a login. */
  logout(): Promise<void>;
}

const connections = new Map<string, Promise<Session | null>>();

/**
 * Logs in (redirecting to Keycloak when there is no session) and resolves with the session, or with
 * null while the browser is being sent to the login page.
 */
export function connectSession(config: UiConfig, clientId: string): Promise<Session | null> {
  const key = `${config.keycloakUrl}|${config.realm}|${clientId}`;
  let connection = connections.get(key);
  if (!connection) {
    connection = connect(config, clientId);
    connections.set(key, connection);
  }
  return connection;
}

async function connect(config: UiConfig, clientId: string): Promise<Session | null> {
  const realmUrl = `${config.keycloakUrl}/realms/${encodeURIComponent(config.realm)}`;
  await probe(realmUrl);

  const keycloak = new Keycloak({ url: config.keycloakUrl, realm: config.realm, clientId });
  // The realm's clients accept only exact redirect URIs: the app's root, nothing deeper.
  const redirectUri = `${window.location.origin}/`;

  let relogging = false;
  const relogin = () => {
    if (relogging) return;
    relogging = true;
    refresher.stop();
    void keycloak.login({ redirectUri });
  };
  const refresher = new TokenRefresher({
    expiry: () =>
      keycloak.tokenParsed?.exp === undefined
        ? null
        : { exp: keycloak.tokenParsed.exp, timeSkew: keycloak.timeSkew ?? 0 },
    // -1 forces the refresh: the timer fires before keycloak-js would consider the token stale.
    refresh: () => keycloak.updateToken(-1).then(() => undefined),
    onFailure: relogin,
  });
  // The hooks go on before init(): keycloak-js arms its expiry timer only when a token is set
  // while onTokenExpired already exists, and init() sets the first token.
  // Every successful refresh, whoever started it, re-arms our timer from the new expiry.
  keycloak.onAuthRefreshSuccess = () => refresher.schedule();
  // keycloak-js' own timer: the backstop when ours was delayed (a sleeping laptop, a busy tab).
  keycloak.onTokenExpired = () => void refresher.refreshNow();

  // The realm accepts only the app's root as redirect URI, so a login round trip (also the silent
  // one after a reload) comes back without the page's #/route: keep it for this tab, and put it
  // back once keycloak-js has taken its callback out of the URL. Only the app's own `#/…` routes,
  // never Keycloak's callback fragment (`#state=…&code=…`).
  keepRoute();

  let authenticated: boolean;
  try {
    authenticated = await keycloak.init({
      onLoad: 'login-required',
      pkceMethod: 'S256',
      checkLoginIframe: false,
      redirectUri,
    });
  } catch (e) {
    refresher.stop();
    throw new LoginServiceError(
      `Keycloak did not complete the login: ${describeKeycloakError(e)}`,
      realmUrl,
      { cause: e },
    );
  }
  if (!authenticated) {
    refresher.stop();
    return null; // keycloak-js is already navigating to the login page
  }
  refresher.schedule();
  restoreRoute();

  const claims = (keycloak.idTokenParsed ?? keycloak.tokenParsed ?? {}) as Record<string, unknown>;
  const str = (v: unknown) => (typeof v === 'string' && v !== '' ? v : undefined);

  return {
    user: {
      subject: keycloak.subject ?? '',
      username: str(claims.preferred_username),
      name: str(claims.name),
      email: str(claims.email),
    },
    async token() {
      if (relogging) throw new LoginRedirectError();
      try {
        await keycloak.updateToken(MIN_VALIDITY_SECONDS);
      } catch {
        // The refresh token is gone or revoked: the only way back is a new login.
        relogin();
        throw new LoginRedirectError();
      }
      if (!keycloak.token) {
        relogin();
        throw new LoginRedirectError();
      }
      return keycloak.token;
    },
    async logout() {
      refresher.stop();
      await keycloak.logout({ redirectUri });
    },
  };
}

const ROUTE_KEY = 'palisade.route';

function keepRoute(): void {
  try {
    if (window.location.hash.startsWith('#/'))
      window.sessionStorage.setItem(ROUTE_KEY, window.location.hash);
  } catch {
    // storage disabled: a login lands on the home page
  }
}

function restoreRoute(): void {
  try {
    const route = window.sessionStorage.getItem(ROUTE_KEY);
    window.sessionStorage.removeItem(ROUTE_KEY);
    if (route?.startsWith('#/') && !window.location.hash)
      window.history.replaceState(window.history.state, '', route);
  } catch {
    // storage disabled: nothing to restore
  }
}

/**
 * keycloak-js redirects to Keycloak without contacting it first, so an unreachable Keycloak would
 * leave the person on the browser's own network error page. One request first lets the app say
 * what is wrong instead. `no-cors`: only reachability matters, and the realm URL sends no CORS
 * headers.
 */
async function probe(realmUrl: string): Promise<void> {
  try {
    await fetch(realmUrl, { mode: 'no-cors', cache: 'no-store' });
  } catch (e) {
    throw new LoginServiceError(`The login service at ${realmUrl} did not answer.`, realmUrl, {
      cause: e,
    });
  }
}

function describeKeycloakError(e: unknown): string {
  if (e instanceof Error) return e.message;
  if (e && typeof e === 'object') {
    const o = e as { error?: unknown; error_description?: unknown };
    if (typeof o.error === 'string')
      return typeof o.error_description === 'string'
        ? `${o.error}: ${o.error_description}`
        : o.error;
  }
  return 'no reason given';
}
