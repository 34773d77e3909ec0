/**
 * Keeping a session alive past the realm's 5-minute access tokens, in the real browser against the
 * real Keycloak. The page's clock is Playwright's fake one, moved forward on purpose, so nothing
 * here waits minutes; Keycloak and the API keep real time, which is what makes the refreshed
 * tokens genuinely new.
 */
import type { Page, Response } from 'playwright-core';
import { adminToken, loadStack } from '@palisade/testkit';
import { describe, expect, it } from 'vitest';
import { keycloakLogin, onKeycloakLogin, screenshot } from './browser';
import { PORTS } from './global-setup';
import { browserPerTest } from './per-test';

const portal = `http://localhost:${PORTS.portal}/`;
const stack = loadStack('test');
const tokenEndpoint = `${stack.keycloak.issuer}/protocol/openid-connect/token`;

const grantOf = (r: Response) =>
  new URLSearchParams(r.request().postData() ?? '').get('grant_type') ?? '';
const isTokenCall = (r: Response) => r.url() === tokenEndpoint && r.request().method() === 'POST';

/** Logs alice in to the portal and returns the tokens Keycloak handed the page. */
async function signIn(page: Page): Promise<{ idToken: string }> {
  await page.goto(portal);
  const codeExchange = page.waitForResponse(
    (r) => isTokenCall(r) && grantOf(r) === 'authorization_code',
  );
  await keycloakLogin(page, 'alice');
  const body = (await (await codeExchange).json()) as { id_token: string };
  await page.getByRole('heading', { name: 'Signed in as Alice Anders' }).waitFor();
  // From here the page's time moves only when the test moves it: no timer fires by itself.
  await page.clock.pauseAt(Date.now() + 1000);
  return { idToken: body.id_token };
}

describe('token refresh in the browser', () => {
  // Fake timers and Date in the page, starting now and running at normal speed until moved.
  const browser = browserPerTest((b) => b.context.clock.install());

  it('refreshes the access token before it expires, without a new login', async () => {
    const { page } = browser();
    await signIn(page);
    const refreshed = page.waitForResponse(
      (r) => isTokenCall(r) && grantOf(r) === 'refresh_token',
      { timeout: 10_000 },
    );
    // 4.5 minutes on: past our refresh point (1 minute before the 5-minute expiry) but not past
    // the expiry itself, so keycloak-js' own onTokenExpired cannot be what refreshed.
    await page.clock.fastForward('04:30');
    const response = await refreshed;
    expect(response.status()).toBe(200);
    const body = (await response.json()) as { access_token?: string };
    expect(body.access_token).toBeTruthy();
    // Still the app, still signed in: no trip to the login page.
    expect(new URL(page.url()).origin).toBe(new URL(portal).origin);
    expect(await page.getByRole('heading', { name: 'Signed in as Alice Anders' }).isVisible()).toBe(
      true,
    );
  });

  it('sends the person back to the login page when Keycloak refuses the refresh', async () => {
    const { page } = browser();
    const { idToken } = await signIn(page);
    // End exactly this browser's Keycloak session (other tests may be logged in as alice too).
    const sid = (
      JSON.parse(Buffer.from(idToken.split('.')[1]!, 'base64url').toString()) as {
        sid: string;
      }
    ).sid;
    const del = await fetch(
      `${stack.keycloak.url}/admin/realms/${stack.keycloak.realm}/sessions/${sid}`,
      {
        method: 'DELETE',
        headers: { authorization: `Bearer ${await adminToken(stack.keycloak)}` },
      },
    );
    expect(del.status).toBe(204);

    const refused = page.waitForResponse((r) => isTokenCall(r) && grantOf(r) === 'refresh_token', {
      timeout: 10_000,
    });
    await page.clock.fastForward('04:30');
    expect((await refused).status()).toBe(400);
    expect(await onKeycloakLogin(page, stack.keycloak.url)).toBe(true);
    await screenshot(page, 'portal-refresh-refused');
  });
});
