/**
 * Logs in through the REAL Keycloak login page, as a browser would: the authorization code flow
 * with PKCE S256, over plain HTTP with a cookie jar. No password-grant shortcut: the UI clients do
 * not allow one, and tests must not need a weaker client than production has.
 */
import { createHash, randomBytes } from 'node:crypto';

export interface LoginParams {
  keycloakUrl: string;
  realm: string;
  clientId: string;
  redirectUri: string;
  username: string;
  password: string;
}

export interface Tokens {
  accessToken: string;
  refreshToken: string;
  idToken: string;
}

class CookieJar {
  private readonly cookies = new Map<string, string>();
  take(res: Response): void {
    for (const c of res.headers.getSetCookie()) {
      const [pair] = c.split(';');
      const eq = pair!.indexOf('=');
      this.cookies.set(pair!.slice(0, eq).trim(), pair!.slice(eq + 1).trim());
    }
  }
  header(): string {
    return [...this.cookies].map(([k, v]) => `${k}=${v}`).join('; ');
  }
}

const decodeEntities = (s: string) =>
  s
    .replace(/&amp;/g, '&')
    .replace(/&quot;/g, '"')
    .replace(/&#x27;|&#39;/g, "'")
    .replace(/&lt;/g, '<')
    .replace(/&gt;/g, '>');

export async function loginWithPassword(p: LoginParams): Promise<Tokens> {
  const base = `${p.keycloakUrl}/realms/${p.realm}/protocol/openid-connect`;
  const verifier = randomBytes(32).toString('base64url');
  const challenge = createHash('sha256').update(verifier).digest('base64url');
  const state = randomBytes(8).toString('hex');
  const jar = new CookieJar();

  const authUrl = new URL(`${base}/auth`);
  authUrl.search = new URLSearchParams({
    client_id: p.clientId,
    redirect_uri: p.redirectUri,
    response_type: 'code',
    scope: 'openid',
    state,
    code_challenge: challenge,
    code_challenge_method: 'S256',
  }).toString();
  const page = await fetch(authUrl, { redirect: 'manual' });
  jar.take(page);
  const html = await page.text();
  const action = /<form[^>]*id="kc-form-login"[^>]*action="([^"]+)"/.exec(html)?.[1];
  if (!page.ok || !action)
    throw new Error(`Keycloak login page not found for ${p.clientId} (HTTP ${page.status})`);

  const submit = await fetch(decodeEntities(action), {
    method: 'POST',
    redirect: 'manual',
    headers: { 'content-type': 'application/x-www-form-urlencoded', cookie: jar.header() },
    body: new URLSearchParams({ username: p.username, password: p.password, credentialId: '' }),
  });
  const location = submit.headers.get('location');
  if (submit.status !== 302 || !location) {
    // Keycloak's login theme shows the reason in an element of class kc-feedback-text.
    const err = /kc-feedback-text[^>]*>\s*([^<]+)/.exec(await submit.text())?.[1]?.trim();
    throw new Error(
      `login as ${p.username} failed (HTTP ${submit.status})${err ? `: ${err}` : ''}`,
    );
  }
  const back = new URL(location);
  if (back.searchParams.get('state') !== state) throw new Error('login: state mismatch');
  const code = back.searchParams.get('code');
  if (!code)
    throw new Error(
      `login: no code in redirect (${back.searchParams.get('error') ?? 'unknown error'})`,
    );

  const token = await fetch(`${base}/token`, {
    method: 'POST',
    headers: { 'content-type': 'application/x-www-form-urlencoded' },
    body: new URLSearchParams({
      grant_type: 'authorization_code',
      client_id: p.clientId,
      redirect_uri: p.redirectUri,
      code,
      code_verifier: verifier,
    }),
  });
  const body = (await token.json()) as {
    access_token?: string;
    refresh_token?: string;
    id_token?: string;
    error_description?: string;
  };
  if (!token.ok || !body.access_token)
    throw new Error(`token exchange failed: ${body.error_description ?? token.status}`);
  return {
    accessToken: body.access_token,
    refreshToken: body.refresh_token!,
    idToken: body.id_token!,
  };
}

/** A master-realm admin token (admin-cli), for tests that use Keycloak's admin API. */
export async function adminToken(
  keycloakUrl: string,
  username: string,
  password: string,
): Promise<string> {
  const res = await fetch(`${keycloakUrl}/realms/master/protocol/openid-connect/token`, {
    method: 'POST',
    body: new URLSearchParams({
      grant_type: 'password',
      client_id: 'admin-cli',
      username,
      password,
    }),
  });
  const body = (await res.json()) as { access_token?: string; error_description?: string };
  if (!body.access_token)
    throw new Error(`admin login failed: ${body.error_description ?? res.status}`);
  return body.access_token;
}
