import type { Browser, BrowserContext, Page } from 'playwright-core';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { keycloakLogin, launch, screenshot } from './browser';
import { PORTS } from './global-setup';

const portal = `http://localhost:${PORTS.portal}/`;
const admin = `http://localhost:${PORTS.admin}/`;

describe('logging in through the real Keycloak', () => {
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  beforeAll(async () => {
    browser = await launch();
  });
  afterAll(() => browser?.close());
  beforeEach(async () => {
    // A fresh context per test: no Keycloak session cookie carries over.
    context = await browser.newContext();
    page = await context.newPage();
  });
  afterEach(() => context?.close());

  it('a tenant user signs in to the portal and sees the name the API returned', async () => {
    await page.goto(portal);
    expect(new URL(page.url()).port).toBe('19080'); // sent to Keycloak's login page
    await keycloakLogin(page, 'alice');
    await expect(
      page.getByRole('heading', { name: 'Signed in as Alice Anders' }).waitFor(),
    ).resolves.toBeUndefined();
    expect(await page.getByText('alice@acme.test').isVisible()).toBe(true);
    await screenshot(page, 'portal-alice');
  });

  it('an operator signs in to the admin console and sees the platform-admin role', async () => {
    await page.goto(admin);
    await keycloakLogin(page, 'olivia');
    await page.getByRole('heading', { name: 'Signed in as Olivia Operator' }).waitFor();
    expect(
      await page
        .getByRole('list', { name: 'Roles' })
        .getByText('platform-admin', { exact: true })
        .isVisible(),
    ).toBe(true);
    await screenshot(page, 'admin-olivia');
  });

  it('the admin console refuses a tenant user with an explanation, not a blank page', async () => {
    await page.goto(admin);
    await keycloakLogin(page, 'alice');
    await page.getByRole('heading', { name: 'Operators only' }).waitFor();
    expect(
      await page.getByText('Alice Anders is signed in but does not have the').isVisible(),
    ).toBe(true);
    expect(await page.getByRole('heading', { name: /Signed in as/ }).count()).toBe(0);
    await screenshot(page, 'admin-refuses-alice');
  });

  it('logging out ends the session: the next visit asks for a login again', async () => {
    await page.goto(portal);
    await keycloakLogin(page, 'bob');
    await page.getByRole('heading', { name: 'Signed in as Bob Brown' }).waitFor();
    await page.getByRole('button', { name: 'Log out' }).click();
    await page.waitForSelector('#kc-form-login', { timeout: 30_000 });
    await page.goto(portal);
    await page.waitForSelector('#kc-form-login', { timeout: 30_000 });
    expect(new URL(page.url()).pathname).toContain('/realms/palisade/protocol/openid-connect/auth');
  });
});
