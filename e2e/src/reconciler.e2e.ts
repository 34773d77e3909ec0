/**
 * The admin console's reconciler page in a real Chromium, as the operator olivia through the real
 * Keycloak login: a pass's findings and a quarantined domain, as the worker's reconciler writes
 * them (written here on the platform scope; the pass itself is tested in the worker), and the
 * quarantine filter. Everything it creates carries a random suffix and is removed afterwards.
 */
import { eq } from 'drizzle-orm';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { insertReconcileReport, recordQuarantine, schema, withPlatform } from '@palisade/db';
import { keycloakLogin, screenshot } from './browser';
import { fixtures, suffix, type Fixtures } from './fixtures';
import { browserPerTest } from './per-test';
import { PORTS } from './global-setup';

const admin = `http://localhost:${PORTS.admin}/`;

describe('the reconciler page of the admin console', () => {
  const browser = browserPerTest();
  let fx: Fixtures;
  const s = suffix();
  const worker = `e2e-reconciler-${s}`;
  const domainName = `hand-made-${s}`;
  let hostId = '';
  let reportId = '';

  beforeAll(async () => {
    fx = fixtures();
    await withPlatform(fx.db, 'e2e fixture: a reconciler pass', async (tx) => {
      const [host] = await tx
        .insert(schema.hosts)
        .values({ name: `e2e-rc-${s}`, state: 'up' })
        .returning();
      hostId = host!.id;
      await recordQuarantine(tx, {
        hostId,
        seen: [
          {
            kind: 'domain',
            ref: crypto.randomUUID(),
            name: domainName,
            reason: 'foreign',
            vmId: null,
            tenantId: null,
            state: 'running',
          },
        ],
      });
    });
    const report = await withPlatform(fx.db, 'e2e fixture: its report', (tx) =>
      insertReconcileReport(tx, {
        startedAt: new Date(),
        worker,
        findings: 2,
        summary: {
          hosts: { checked: 1, failed: [] },
          vms: {
            observedCorrected: 1,
            restarted: [
              {
                vmId: crypto.randomUUID(),
                tenantId: crypto.randomUUID(),
                hostId,
                operationId: crypto.randomUUID(),
                was: 'shutoff',
              },
            ],
            left: [],
            missing: [],
          },
          quarantine: { present: { domain: 1, volume: 0, segment: 0 }, new: 1, resolved: 0 },
          erasedVolumeFilesRemoved: [],
          deadlines: { overdueNow: 0, endedSinceLastReport: 3 },
          quota: { tenantsChecked: 4, corrected: [] },
        },
      }),
    );
    reportId = report.id;
  });

  afterAll(async () => {
    await withPlatform(fx.db, 'e2e cleanup: reconciler', async (tx) => {
      if (reportId)
        await tx.delete(schema.reconcileReports).where(eq(schema.reconcileReports.id, reportId));
      if (hostId) await tx.delete(schema.hosts).where(eq(schema.hosts.id, hostId));
    });
    await fx?.close();
  });

  it('olivia reads the latest pass and the quarantined domain, and filters the quarantine', async () => {
    const { page } = browser();
    await page.goto(admin);
    await keycloakLogin(page, 'olivia');
    await page
      .getByRole('navigation', { name: 'Sections' })
      .getByRole('link', { name: 'Reconciler', exact: true })
      .click();

    const pass = page.getByRole('row', { name: `Pass ${reportId}` });
    await pass.waitFor();
    const text = await pass.innerText();
    expect(text).toContain(worker);
    expect(text).toContain('1 VM(s) restarted');
    expect(text).toContain('1 newly quarantined');
    expect(text).toContain('0 overdue, 3 ended');

    const item = page.getByRole('row', { name: `Quarantined domain ${domainName}` });
    await item.waitFor();
    const itemText = await item.innerText();
    expect(itemText).toContain(`e2e-rc-${s}`);
    expect(itemText).toContain('foreign');
    expect(itemText).toContain('running');
    await screenshot(page, 'admin-reconciler');

    // Nothing of it is resolved: the "no longer found" view does not list it.
    await page.getByLabel('Show').selectOption('resolved');
    await page
      .getByRole('table', { name: 'Quarantined items' })
      .or(page.getByText('Nothing quarantined.'))
      .first()
      .waitFor();
    expect(await page.getByRole('row', { name: `Quarantined domain ${domainName}` }).count()).toBe(
      0,
    );
  });
});
