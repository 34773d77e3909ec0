/**
 * Logging in to the portal and the admin console through the REAL Keycloak login page, in a real
 * Chromium, against the real API: what a person sees must be what the API verified.
 */
import { loadStack } from '@palisade/testkit';
import { describe, expect, it } from 'vitest';
import { keycloakLogin, onKeycloakLogin, screenshot } from './browser';
import { PORTS } from './global-setup';
import { browserPerTest } from './per-test';

const portal = `http://localhost:${PORTS.portal}/`;
const admin = `http://localhost:${PORTS.admin}/`;
const keycloakUrl = loadStack('test').keycloak.url;

describe('logging in through the real Keycloak', () => {
  const browser = browserPerTest();

  it('a tenant user signs in to the portal and sees the name and email the API returned', async () => {
    const { page } = browser();
    await page.goto(portal);
    expect(await onKeycloakLogin(page, keycloakUrl)).toBe(true);
    expect(new URL(page.url()).searchParams.get('client_id')).toBe('palisade-portal');
    expect(new URL(page.url()).searchParams.get('code_challenge_method')).toBe('S256');

    await keycloakLogin(page, 'alice');
    await page.getByRole('heading', { name: 'Signed in as Alice Anders' }).waitFor();
    expect(new URL(page.url()).origin).toBe(new URL(portal).origin);
    expect(await page.getByText('alice@acme.test', { exact: true }).isVisible()).toBe(true);
    expect(await page.getByRole('list', { name: 'Roles' }).isVisible()).toBe(true);
    expect(
      await page.getByRole('list', { name: 'Roles' }).getByText('platform-admin').count(),
    ).toBe(0);
    // The header names who is logged in and offers a way out.
    expect(await page.getByRole('banner').getByText('Alice Anders').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Log out', exact: true }).isVisible()).toBe(true);
    await screenshot(page, 'portal-alice');
  });

  it('an operator signs in to the admin console and sees the platform-admin role', async () => {
    const { page } = browser();
    await page.goto(admin);
    expect(await onKeycloakLogin(page, keycloakUrl)).toBe(true);
    expect(new URL(page.url()).searchParams.get('client_id')).toBe('palisade-admin');
    await keycloakLogin(page, 'olivia');
    await page.getByRole('heading', { name: 'Signed in as Olivia Operator' }).waitFor();
    expect(
      await page
        .getByRole('list', { name: 'Roles' })
        .getByText('platform-admin', { exact: true })
        .isVisible(),
    ).toBe(true);
    expect(await page.getByRole('heading', { name: 'Operator view' }).isVisible()).toBe(true);
    expect(await page.getByRole('heading', { name: 'Operators only' }).count()).toBe(0);
    await screenshot(page, 'admin-olivia');
  });

  it('the admin console refuses a tenant user by name, not with a blank page', async () => {
    const { page } = browser();
    await page.goto(admin);
    await keycloakLogin(page, 'alice');
    const refusal = page.getByRole('alert').filter({ hasText: 'Operators only' });
    await refusal.waitFor();
    expect(await refusal.getByRole('heading', { name: 'Operators only' }).isVisible()).toBe(true);
    expect(
      await refusal
        .getByText(
          'Alice Anders is signed in but does not have the platform-admin role, which the admin console requires.',
        )
        .isVisible(),
    ).toBe(true);
    // Nothing of the operator view leaks past the refusal.
    expect(await page.getByRole('heading', { name: /Signed in as|Operator view/ }).count()).toBe(0);
    await screenshot(page, 'admin-refuses-alice');

    // The refusal's own button logs out, back to the login page to pick another account.
    await refusal.getByRole('button', { name: 'Log out and sign in as someone else' }).click();
    expect(await onKeycloakLogin(page, keycloakUrl)).toBe(true);
  });

  it('logging out ends the session: back on the Keycloak login page, and it stays there', async () => {
    const { page } = browser();
    await page.goto(portal);
    await keycloakLogin(page, 'bob');
    await page.getByRole('heading', { name: 'Signed in as Bob Brown' }).waitFor();
    await page.getByRole('button', { name: 'Log out', exact: true }).click();
    expect(await onKeycloakLogin(page, keycloakUrl)).toBe(true);

    // Not just a page change: the Keycloak session is gone, so the app asks for a login again.
    await page.goto(portal);
    expect(await onKeycloakLogin(page, keycloakUrl)).toBe(true);
    expect(await page.getByRole('heading', { name: /Signed in as/ }).count()).toBe(0);
    await screenshot(page, 'portal-after-logout');
  });
});
