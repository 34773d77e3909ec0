/**
 * Logs in through the REAL Keycloak login page, as a browser would: the authorization code flow
 * with PKCE S256, over plain HTTP with a cookie jar (GET the auth endpoint, read the login form's
 * action from the HTML, POST the credentials with the cookies, take `code` from the 302 Location,
 * exchange it with the code_verifier).
 *
 * It must never use the password grant for the UI clients: they do not allow one, and a test that
 * needed a weaker client than production would prove nothing. The only password grant here is the
 * master realm's admin-cli, for tests that drive Keycloak's admin API.
 */
import { createHash, randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { repoRoot, type StackInfo } from './stack';

export interface LoginParams {
  /** Keycloak's base URL, e.g. http://localhost:19080 (no trailing /realms). */
  keycloakUrl: string;
  realm: string;
  clientId: string;
  /** Must be one of the client's redirect URIs, exactly. */
  redirectUri: string;
  username: string;
  password: string;
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  idToken: string;
}

/** Just enough of a browser's cookie store for one login: one host, no expiry handling. */
class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const pair = c.split(';', 1)[0]!;
      const eq = pair.indexOf('=');
      if (eq > 0) this.cookies.set(pair.slice(0, eq).trim(), pair.slice(eq + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const decodeEntities = (s: string) =>
  s
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>')
    .replace(/&amp;/g, '&');

/** The reason Keycloak's login theme shows on a page (failed login, or its error page). */
function keycloakMessage(html: string): string | undefined {
  const m =
    /kc-feedback-text[^>]*>\s*([^<]+)/.exec(html) ??
    /id="kc-error-message"[\s\S]*?<p[^>]*>\s*([^<]+)/.exec(html);
  return m?.[1] ? decodeEntities(m[1].trim()) : undefined;
}

const oidc = (keycloakUrl: string, realm: string) =>
  `${keycloakUrl.replace(/\/$/, '')}/realms/${encodeURIComponent(realm)}/protocol/openid-connect`;

interface TokenResponse {
  access_token?: string;
  refresh_token?: string;
  id_token?: string;
  error?: string;
  error_description?: string;
}

async function tokenRequest(url: string, form: Record<string, string>): Promise<Tokens> {
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams(form),
  });
  const body = (await res.json().catch(() => ({}))) as TokenResponse;
  if (!res.ok || !body.access_token || !body.refresh_token || !body.id_token) {
    throw new Error(
      `${form['grant_type']} at ${url} failed (HTTP ${res.status}): ${body.error_description ?? body.error ?? 'no tokens in the response'}`,
    );
  }
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token,
    idToken: body.id_token,
  };
}

export async function loginWithPassword(p: LoginParams): Promise<Tokens> {
  const base = oidc(p.keycloakUrl, p.realm);
  const codeVerifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(codeVerifier).digest('base64url');
  const state = randomBytes(16).toString('base64url');
  const nonce = randomBytes(16).toString('base64url');
  const jar = new CookieJar();

  const authUrl = new URL(`${base}/auth`);
  authUrl.search = new URLSearchParams({
    client_id: p.clientId,
    redirect_uri: p.redirectUri,
    response_type: 'code',
    scope: 'openid',
    state,
    nonce,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  const page = await fetch(authUrl, { redirect: 'manual' });
  jar.take(page);
  if (page.status >= 300 && page.status < 400) {
    // Keycloak redirects errors it can attribute to a valid redirect URI (e.g. PKCE missing).
    const to = new URL(page.headers.get('location') ?? '', authUrl);
    throw new Error(
      `Keycloak login page not shown for ${p.clientId}: ${to.searchParams.get('error_description') ?? to.searchParams.get('error') ?? to.href}`,
    );
  }
  const html = await page.text();
  const action = /<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!page.ok || !action) {
    const why = keycloakMessage(html);
    throw new Error(
      `Keycloak login page not found for ${p.clientId} (HTTP ${page.status})${why ? `: ${why}` : ''}`,
    );
  }

  const submit = await fetch(new URL(decodeEntities(action), authUrl), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: new URLSearchParams({ username: p.username, password: p.password, credentialId: '' }),
  });
  const location = submit.headers.get('location');
  if (submit.status !== 302 || !location) {
    const why = keycloakMessage(await submit.text());
    throw new Error(
      `login as ${p.username} failed (HTTP ${submit.status})${why ? `: ${why}` : ''}`,
    );
  }
  const back = new URL(location);
  const expected = new URL(p.redirectUri);
  if (back.origin !== expected.origin || back.pathname !== expected.pathname)
    throw new Error(`login redirected to ${back.origin}${back.pathname}, not ${p.redirectUri}`);
  if (back.searchParams.get('state') !== state) throw new Error('login: state mismatch');
  const code = back.searchParams.get('code');
  if (!code) {
    throw new Error(
      `login: no code in the redirect (${back.searchParams.get('error_description') ?? back.searchParams.get('error') ?? 'unknown error'})`,
    );
  }

  return tokenRequest(`${base}/token`, {
    grant_type: 'authorization_code',
    client_id: p.clientId,
    redirect_uri: p.redirectUri,
    code,
    code_verifier: codeVerifier,
  });
}

/** The refresh the UIs do (keycloak-js `updateToken`): new tokens from a refresh token. */
export async function refreshTokens(p: {
  keycloakUrl: string;
  realm: string;
  clientId: string;
  refreshToken: string;
}): Promise<Tokens> {
  return tokenRequest(`${oidc(p.keycloakUrl, p.realm)}/token`, {
    grant_type: 'refresh_token',
    client_id: p.clientId,
    refresh_token: p.refreshToken,
  });
}

/**
 * A master-realm admin access token (admin-cli, password grant), for tests that use Keycloak's
 * admin API. Pass the stack's `keycloak` block. It is short-lived (60 s by default in master).
 */
export async function adminToken(
  kc: Pick<StackInfo['keycloak'], 'url' | 'adminUsername' | 'adminPassword'>,
): Promise<string> {
  const url = `${oidc(kc.url, 'master')}/token`;
  const res = await fetch(url, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: 'admin-cli',
      username: kc.adminUsername,
      password: kc.adminPassword,
    }),
  });
  const body = (await res.json().catch(() => ({}))) as TokenResponse;
  if (!res.ok || !body.access_token)
    throw new Error(
      `admin login at ${url} failed (HTTP ${res.status}): ${body.error_description ?? body.error ?? 'no token'}`,
    );
  return body.access_token;
}

/**
 * The secret of a confidential client in the development realm file (infra/keycloak), for tests
 * that run the API with its Keycloak admin client. Those secrets are public, dev-only values.
 */
export function devRealmClientSecret(clientId: string, root = repoRoot()): string {
  const file = path.join(root, 'infra', 'keycloak', 'palisade-realm.json');
  const realm = JSON.parse(readFileSync(file, 'utf8')) as {
    clients: { clientId: string; secret?: string }[];
  };
  const secret = realm.clients.find((c) => c.clientId === clientId)?.secret;
  if (!secret) throw new Error(`${file} has no secret for client ${clientId}`);
  return secret;
}
