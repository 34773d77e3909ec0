/**
 * The tenant portal in a real Chromium, logged in through the real Keycloak, against the real API
 * and Postgres. No worker runs here, so accepted operations stay pending, and the page says so.
 * Each test makes its own tenants (random suffixes) and catalogue entries.
 */
import type { Page } from 'playwright-core';
import { loadStack } from '@palisade/testkit';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { keycloakLogin, onKeycloakLogin, screenshot } from './browser';
import { browserPerTest } from './per-test';
import { fixtures, newPublicKey, suffix, type Fixtures } from './fixtures';
import { PORTS } from './global-setup';

const portal = `http://localhost:${PORTS.portal}/`;
const keycloakUrl = loadStack('test').keycloak.url;

async function openSection(page: Page, name: string) {
  await page
    .getByRole('navigation', { name: 'Sections' })
    .getByRole('link', { name, exact: true })
    .click();
}

/**
 * Waits until one quota row's "In use" cell reads `text`, e.g. "1 of 5". A page shows cached
 * numbers first and the API's fresh ones a moment later; the test waits for the API's.
 */
async function expectQuota(page: Page, resource: string, text: string) {
  await page
    .getByRole('table', { name: 'Quota and usage' })
    .getByRole('row', { name: resource, exact: true })
    .locator('td:nth-child(4)')
    .filter({ hasText: new RegExp(`^\\s*${text}\\s*$`) })
    .waitFor();
}

describe('the tenant portal', () => {
  const browser = browserPerTest();
  let fx: Fixtures;
  beforeAll(() => {
    fx = fixtures();
  });
  afterAll(() => fx?.close());

  it('alice adds an SSH key and a network, is told why a create would fail, creates a VM and sees its operation pending and her quota move', async () => {
    const { page } = browser();
    const tenant = await fx.tenant('Alice Labs', { alice: 'owner' });
    const cat = await fx.catalog();
    await fx.quota(tenant.id, { vms: 5, vcpus: 2, ramMiB: 4096, diskGiB: 100, networks: 3 });
    const keyName = `laptop-${suffix()}`;

    await page.goto(portal);
    expect(await onKeycloakLogin(page, keycloakUrl)).toBe(true);
    await keycloakLogin(page, 'alice');
    // The switcher offers her tenants; picking one shows it.
    await page.getByLabel('Tenant', { exact: true }).selectOption(tenant.id);
    await page.getByRole('heading', { name: `Tenant ${tenant.name}` }).waitFor();
    await expectQuota(page, 'VMs', '0 of 5');
    await expectQuota(page, 'vCPUs', '0 of 2');

    // SSH key
    await openSection(page, 'SSH keys');
    await page.getByLabel('Name', { exact: true }).fill(keyName);
    await page.getByLabel('Public key').fill(newPublicKey(keyName));
    await page.getByRole('button', { name: 'Add key' }).click();
    await page
      .getByRole('table', { name: 'SSH keys' })
      .getByRole('cell', { name: keyName })
      .waitFor();

    // Network: a field-named error from the form, one from the API, then an accepted create.
    await openSection(page, 'Networks');
    await page.getByLabel('Name', { exact: true }).fill('Bad_Name');
    await page.getByLabel('CIDR').fill('10.20.0.0/24');
    await page.getByRole('button', { name: 'Create network' }).click();
    const nameError = page.locator('.pl-field-error', { hasText: 'name' });
    await nameError.waitFor();
    expect(await nameError.innerText()).toMatch(
      /^name: must be lowercase letters, digits and dashes/,
    );

    await page.getByLabel('Name', { exact: true }).fill('backend');
    await page.getByLabel('CIDR').fill('10.20.0.1/24');
    await page.getByRole('button', { name: 'Create network' }).click();
    const cidrError = page.locator('.pl-field-error', { hasText: 'cidr' });
    await cidrError.waitFor();
    expect(await cidrError.innerText()).toContain('has host bits set');
    // The API's refusal itself, with its stable code and a request ID.
    const refusal = page.getByRole('alert').filter({ hasText: 'The API refused the request' });
    expect(await refusal.getByText('common.validation_failed').isVisible()).toBe(true);
    expect(await refusal.getByText('Request ID').isVisible()).toBe(true);
    await screenshot(page, 'portal-network-field-error');

    await page.getByLabel('CIDR').fill('10.20.0.0/24');
    await page.getByRole('button', { name: 'Create network' }).click();
    const netAccepted = page.getByRole('status').filter({ hasText: 'Accepted: network backend' });
    await netAccepted.waitFor();
    expect(await netAccepted.innerText()).toContain(
      'network.create is pending: it stays pending until a worker runs it.',
    );
    await page
      .getByRole('table', { name: 'Networks' })
      .getByRole('cell', { name: 'backend' })
      .waitFor();

    // VM: the dry run names the quota shortfall for the large flavor, and passes the small one.
    await openSection(page, 'VMs');
    await page.getByLabel('Flavor').selectOption(cat.large.id);
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    const reasons = page.getByRole('list', { name: 'Reasons' });
    await reasons.waitFor();
    expect(await reasons.innerText()).toMatch(/vCPU.*quota\.exceeded/s);
    await page.getByLabel('Flavor').selectOption(cat.small.id);
    await page.getByRole('button', { name: 'Check', exact: true }).click();
    await page.getByText('Check passed').waitFor();

    await page.getByLabel('Name', { exact: true }).fill('web-1');
    await page.getByLabel('Image').selectOption(cat.image.id);
    await page.getByLabel('Network').selectOption({ label: 'backend (10.20.0.0/24)' });
    await page.getByLabel(new RegExp(`^${keyName} `)).check();
    await page.getByRole('button', { name: 'Create VM' }).click();
    const vmAccepted = page.getByRole('status').filter({ hasText: 'Accepted: VM web-1' });
    await vmAccepted.waitFor();
    expect(await vmAccepted.innerText()).toContain(
      'vm.create is pending: it stays pending until a worker runs it.',
    );
    const row = page.getByRole('row', { name: 'VM web-1' });
    await row.waitFor();
    expect(await row.locator('td').nth(1).innerText()).toBe('running'); // desired
    expect(await row.locator('td').nth(2).innerText()).toBe('building'); // observed

    // A second change while vm.create is unfinished: confirmed, then refused by the API by code.
    await row.getByRole('button', { name: 'Stop' }).click();
    await row
      .getByRole('group', { name: 'Confirm Stop' })
      .getByRole('button', { name: 'Confirm' })
      .click();
    const busy = page.getByRole('alert').filter({ hasText: 'operation.in_progress' });
    await busy.waitFor();

    // The VM's operation timeline.
    await vmAccepted.getByRole('link', { name: 'Follow its operations' }).click();
    await page.getByRole('heading', { name: 'VM web-1' }).waitFor();
    const op = page.getByRole('listitem', { name: 'Operation vm.create pending' });
    await op.waitFor();
    expect(
      await page.getByText('A pending operation stays pending until a worker runs it.').isVisible(),
    ).toBe(true);
    // Its isolation: nothing measured before its host started it, and the page says so.
    const verdict = page.getByRole('status', { name: 'Isolation verdict' });
    await verdict.waitFor();
    expect(await verdict.innerText()).toContain('unknown');
    expect(
      await page
        .getByText('not measured yet: the VM has not started since it was created')
        .isVisible(),
    ).toBe(true);
    // The lifecycle actions are on the detail page too.
    expect(await page.getByRole('button', { name: 'Force off' }).isVisible()).toBe(true);
    // Changing the VM while its create is unfinished: the resize dry run names the reason and a
    // snapshot is refused by the API, each with the code, in its own section.
    const reshape = page.getByRole('region', { name: 'Resize or rebuild' });
    await reshape.getByLabel('New flavor').selectOption(cat.large.id);
    await reshape.getByRole('button', { name: 'Resize' }).click();
    await reshape
      .getByRole('alert', { name: 'Resize refused' })
      .filter({ hasText: 'operation.in_progress' })
      .waitFor();
    const snaps = page.getByRole('region', { name: 'Snapshots' });
    expect(await snaps.getByText('No snapshots.').isVisible()).toBe(true);
    await snaps.getByLabel('Snapshot name').fill('before-upgrade');
    await snaps.getByRole('button', { name: 'Take snapshot' }).click();
    await snaps.getByRole('alert').filter({ hasText: 'operation.in_progress' }).waitFor();
    await screenshot(page, 'portal-vm-operation-pending');

    // Quota usage moved by exactly the small flavor.
    await openSection(page, 'Quota');
    await expectQuota(page, 'VMs', '1 of 5');
    await expectQuota(page, 'vCPUs', '1 of 2');
    await expectQuota(page, 'Networks', '1 of 3');

    // And the audit log recorded what she did.
    await openSection(page, 'Audit log');
    const audit = page.getByRole('table', { name: 'Audit events' });
    await audit.waitFor();
    expect(await audit.innerText()).toContain('vm.create');
    await screenshot(page, 'portal-audit');
  });

  it('an owner creates an API client and sees its secret once, with a copy button', async () => {
    const { page } = browser();
    const tenant = await fx.tenant('Alice Clients', { alice: 'owner' });
    await page.goto(portal);
    await keycloakLogin(page, 'alice');
    await page.getByLabel('Tenant', { exact: true }).selectOption(tenant.id);
    await openSection(page, 'Members & API clients');
    await page.getByRole('table', { name: 'Members' }).waitFor();
    const name = `ci-${suffix()}`;
    await page.getByRole('heading', { name: 'Create an API client' }).waitFor();
    const form = page.locator('form', {
      has: page.getByRole('button', { name: 'Create API client' }),
    });
    await form.getByLabel('Name', { exact: true }).fill(name);
    await form.getByLabel('Role').selectOption('viewer');
    await form.getByRole('button', { name: 'Create API client' }).click();
    const secret = page
      .getByRole('region', { name: `Client secret of ${name}` })
      .locator('.pl-secret-value');
    await secret.waitFor();
    expect((await secret.innerText()).length).toBeGreaterThanOrEqual(16);
    expect(await page.getByText('Shown once.').isVisible()).toBe(true);
    expect(await page.getByRole('button', { name: 'Copy' }).isVisible()).toBe(true);
    await page
      .getByRole('table', { name: 'API clients' })
      .getByRole('cell', { name, exact: true })
      .waitFor();
    await screenshot(page, 'portal-api-client-secret');
    // Dismissed, it is gone for good: the list never carries it.
    await page.getByRole('button', { name: 'I have stored it' }).click();
    expect(await page.getByRole('region', { name: `Client secret of ${name}` }).count()).toBe(0);
  });

  it('an owner invites a member, changes their role and removes them', async () => {
    const { page } = browser();
    const tenant = await fx.tenant('Alice Team', { alice: 'owner' });
    const email = `e2e-${suffix()}@example.test`;
    await page.goto(portal);
    await keycloakLogin(page, 'alice');
    await page.getByLabel('Tenant', { exact: true }).selectOption(tenant.id);
    await openSection(page, 'Members & API clients');
    await page.getByRole('table', { name: 'Members' }).waitFor();
    const form = page.locator('form', { has: page.getByRole('button', { name: 'Invite' }) });

    await form.getByLabel('Email').fill('not-an-email');
    await form.getByRole('button', { name: 'Invite' }).click();
    expect(await form.locator('.pl-field-error').innerText()).toBe(
      'email: must be an email address',
    );

    await form.getByLabel('Email').fill(email);
    await form.getByLabel('Role').selectOption('member');
    await form.getByRole('button', { name: 'Invite' }).click();
    const row = page.getByRole('row', { name: `Member ${email}` });
    await row.waitFor();
    const role = row.getByLabel(`Role of ${email}`);
    expect(await role.inputValue()).toBe('member');

    await role.selectOption('viewer');
    // The select is controlled by the list: it reads viewer once the API's answer is re-read.
    await row
      .locator('select option:checked', { hasText: 'viewer' })
      .waitFor({ state: 'attached' });
    // Read back after a reload: the same page, in the remembered tenant.
    await page.reload();
    await page.getByRole('row', { name: `Member ${email}` }).waitFor();
    expect(
      await page
        .getByRole('row', { name: `Member ${email}` })
        .getByLabel(`Role of ${email}`)
        .inputValue(),
    ).toBe('viewer');

    const again = page.getByRole('row', { name: `Member ${email}` });
    await again.getByRole('button', { name: 'Remove' }).click();
    await again
      .getByRole('group', { name: 'Confirm Remove' })
      .getByRole('button', { name: 'Confirm' })
      .click();
    await page.getByRole('row', { name: `Member ${email}` }).waitFor({ state: 'detached' });
    await screenshot(page, 'portal-members');
  });

  it("bob sees tenant B's objects only: A is not offered, A's key is not listed, A's VM is not found", async () => {
    const { page } = browser();
    const a = await fx.tenant('Tenant A', { alice: 'owner' });
    const b = await fx.tenant('Tenant B', { bob: 'owner' });
    const cat = await fx.catalog();
    await fx.quota(a.id, { vms: 2, vcpus: 2, ramMiB: 2048, diskGiB: 20, networks: 1 });
    const alice = await fx.login('alice');
    const bob = await fx.login('bob');
    const aKey = `a-key-${suffix()}`;
    const bKey = `b-key-${suffix()}`;
    await fx.mutate(alice.token, a.id, 'sshKeys.create', {
      name: aKey,
      publicKey: newPublicKey(aKey),
    });
    await fx.mutate(bob.token, b.id, 'sshKeys.create', {
      name: bKey,
      publicKey: newPublicKey(bKey),
    });
    const net = await fx.mutate<{ network: { id: string } }>(alice.token, a.id, 'networks.create', {
      name: 'a-net',
      cidr: '10.30.0.0/24',
    });
    const vm = await fx.mutate<{ vm: { id: string } }>(alice.token, a.id, 'vms.create', {
      name: 'a-secret-vm',
      flavorId: cat.small.id,
      imageId: cat.image.id,
      networkId: net.network.id,
    });

    await page.goto(portal);
    await keycloakLogin(page, 'bob');
    const switcher = page.getByLabel('Tenant', { exact: true });
    await switcher.selectOption(b.id);
    await page.getByRole('heading', { name: `Tenant ${b.name}` }).waitFor();
    const offered = await switcher
      .locator('option')
      .evaluateAll((os) => os.map((o) => (o as HTMLOptionElement).value));
    expect(offered).toContain(b.id);
    expect(offered).not.toContain(a.id);

    await openSection(page, 'SSH keys');
    const keys = page.getByRole('table', { name: 'SSH keys' });
    await keys.getByRole('cell', { name: bKey }).waitFor();
    expect(await keys.getByText(aKey).count()).toBe(0);

    // A's VM by its id, in B: the API answers not found, and nothing of the VM is shown.
    await page.evaluate((id) => (window.location.hash = `#/vms/${id}`), vm.vm.id);
    const notFound = page.getByRole('alert').filter({ hasText: 'common.not_found' });
    await notFound.waitFor();
    expect(await page.getByText('a-secret-vm').count()).toBe(0);
    await screenshot(page, 'portal-bob-not-found');

    // A reload (a login round trip to the app's root) comes back to the same page, in the tenant
    // bob chose, which is remembered.
    await page.reload();
    await page.getByRole('alert').filter({ hasText: 'common.not_found' }).waitFor();
    expect(new URL(page.url()).hash).toBe(`#/vms/${vm.vm.id}`);
    expect(await page.getByLabel('Tenant', { exact: true }).inputValue()).toBe(b.id);
  });
});
