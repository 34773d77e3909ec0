/**
 * The admin console in a real Chromium, as the operator olivia through the real Keycloak login:
 * onboarding a tenant and setting its quota, adding a flavor and disabling it, and creating a
 * host join token that is shown once. Everything it creates carries a random suffix.
 */
import type { Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { eq } from 'drizzle-orm';
import { JOIN_TOKEN_PATTERN } from '@palisade/contracts';
import { schema, withPlatform } from '@palisade/db';
import { keycloakLogin, screenshot } from './browser';
import { browserPerTest } from './per-test';
import { fixtures, suffix, type Fixtures } from './fixtures';
import { PORTS } from './global-setup';

const admin = `http://localhost:${PORTS.admin}/`;

async function openSection(page: Page, name: string) {
  await page
    .getByRole('navigation', { name: 'Sections' })
    .getByRole('link', { name, exact: true })
    .click();
}

describe('the admin console', () => {
  const browser = browserPerTest();
  let fx: Fixtures;
  beforeAll(() => {
    fx = fixtures();
  });
  afterAll(() => fx?.close());

  it('olivia creates a tenant, sets its quota and suspends it', async () => {
    const { page } = browser();
    const slug = `e2e-op-${suffix()}`;
    await page.goto(admin);
    await keycloakLogin(page, 'olivia');
    await openSection(page, 'Tenants');
    await page.getByRole('table', { name: 'Tenants' }).waitFor();

    // A bad slug is refused by the form, naming the field, before anything is sent.
    await page.getByLabel('Slug').fill('Not A Slug');
    await page.getByLabel('Name', { exact: true }).fill('Ops Test');
    await page.getByRole('button', { name: 'Create tenant' }).click();
    expect(await page.locator('.pl-field-error', { hasText: 'slug' }).innerText()).toMatch(
      /^slug: must be 3 to 32 lowercase letters/,
    );

    await page.getByLabel('Slug').fill(slug);
    await page.getByRole('button', { name: 'Create tenant' }).click();
    await page
      .getByRole('status')
      .filter({ hasText: `Tenant ${slug} created` })
      .waitFor();
    const row = page.getByRole('row', { name: `Tenant ${slug}` });
    await row.waitFor();
    expect(await row.getByText('active', { exact: true }).isVisible()).toBe(true);

    await row.getByRole('button', { name: 'Quota' }).click();
    await page.getByLabel('vms', { exact: true }).fill('3');
    await page.getByLabel('vcpus', { exact: true }).fill('8');
    await page.getByRole('button', { name: 'Set quota' }).click();
    const set = page.getByRole('list', { name: 'Limits and usage' });
    await set.waitFor();
    expect(await set.getByText('vms: 0 of 3').isVisible()).toBe(true);
    expect(await set.getByText('vcpus: 0 of 8').isVisible()).toBe(true);

    await row.getByRole('button', { name: 'Suspend' }).click();
    await row
      .getByRole('group', { name: 'Confirm Suspend' })
      .getByRole('button', { name: 'Confirm' })
      .click();
    await row.getByText('suspended', { exact: true }).waitFor();
    await screenshot(page, 'admin-tenants');

    // What the page showed is what the database holds.
    const [t] = await withPlatform(fx.db, 'e2e: read tenant', (tx) =>
      tx
        .select({ status: schema.tenants.status })
        .from(schema.tenants)
        .where(eq(schema.tenants.slug, slug)),
    );
    expect(t?.status).toBe('suspended');
  });

  it('olivia adds a flavor and disables it', async () => {
    const { page } = browser();
    const name = `e2e${suffix()}.medium`;
    await page.goto(admin);
    await keycloakLogin(page, 'olivia');
    await openSection(page, 'Flavors');
    await page.getByRole('table', { name: 'Flavors' }).waitFor();
    await page.getByLabel('Name', { exact: true }).fill(name);
    await page.getByLabel('vCPUs').fill('2');
    await page.getByLabel('RAM (MiB)').fill('32');
    await page.getByRole('button', { name: 'Create flavor' }).click();
    expect(await page.locator('.pl-field-error', { hasText: 'ramMiB' }).innerText()).toBe(
      'ramMiB: must be at least 64 MiB',
    );
    await page.getByLabel('RAM (MiB)').fill('1024');
    await page.getByRole('button', { name: 'Create flavor' }).click();
    const row = page.getByRole('row', { name: `Flavor ${name}` });
    await row.waitFor();
    expect(await row.getByText('enabled', { exact: true }).isVisible()).toBe(true);
    await row.getByRole('button', { name: 'Disable' }).click();
    await row
      .getByRole('group', { name: 'Confirm Disable' })
      .getByRole('button', { name: 'Confirm' })
      .click();
    await row.getByText('disabled', { exact: true }).waitFor();
    await screenshot(page, 'admin-flavors');
  });

  it('olivia creates a host join token, shown once, and the host waits in state enrolling', async () => {
    const { page } = browser();
    const host = `e2e-host-${suffix()}`;
    await page.goto(admin);
    await keycloakLogin(page, 'olivia');
    await openSection(page, 'Hosts');
    await page.getByRole('heading', { name: 'Hosts', exact: true }).waitFor();
    await page.getByLabel('Host name').fill(host);
    await page.getByRole('button', { name: 'Create join token' }).click();
    const token = page
      .getByRole('region', { name: `Join token for ${host}` })
      .locator('.pl-secret-value');
    await token.waitFor();
    expect(await token.innerText()).toMatch(JOIN_TOKEN_PATTERN);
    expect(await page.getByText('AGENT_CA_SHA256=').isVisible()).toBe(true);
    const row = page.getByRole('row', { name: `Host ${host}` });
    await row.waitFor();
    expect(await row.getByText('enrolling').isVisible()).toBe(true);
    await screenshot(page, 'admin-join-token');
    await page.getByRole('button', { name: 'I have stored it' }).click();
    expect(await page.getByRole('region', { name: `Join token for ${host}` }).count()).toBe(0);

    // The global audit log shows the operator's action.
    await openSection(page, 'Audit log');
    const audit = page.getByRole('table', { name: 'Audit events' });
    await audit.waitFor();
    expect(await audit.innerText()).toContain('host.');
  });
});
