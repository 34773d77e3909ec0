/**
 * Debian's Chromium driven by playwright-core: Playwright's own browser downloads cannot reach
 * their CDN from here, and the distribution's build is what an operator would have anyway.
 *
 * Every test gets a fresh browser with a fresh, empty profile (user-data-dir) that is deleted
 * afterwards, so no Keycloak cookie or keycloak-js state carries from one test to the next.
 * Must never let Chromium talk to anything but loopback: the flags below switch off its
 * background traffic (update checks, sync, QUIC probes to Google's hosts).
 */
import { appendFileSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { repoRoot } from '@palisade/testkit';

export const CHROMIUM = '/usr/bin/chromium';

/** Playwright adds --headless and --user-data-dir itself (it refuses the latter in `args`). */
export const CHROMIUM_ARGS = [
  '--no-sandbox', // Chromium refuses to start as root with its sandbox on
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

const dataDir = path.join(repoRoot(), '.data', 'test');
export const SCREENSHOTS = path.join(dataDir, 'screenshots');
const BROWSER_LOG = path.join(dataDir, 'logs', 'e2e-browser.log');

export interface BrowserSession {
  context: BrowserContext;
  page: Page;
  /** Uncaught exceptions thrown in any page: a working UI throws none. */
  pageErrors: string[];
  close(): Promise<void>;
}

export async function openBrowser(testName: string): Promise<BrowserSession> {
  const profile = mkdtempSync(path.join(tmpdir(), 'palisade-e2e-chromium-'));
  let context: BrowserContext;
  try {
    context = await chromium.launchPersistentContext(profile, {
      executablePath: CHROMIUM,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport: { width: 1280, height: 720 },
    });
  } catch (e) {
    rmSync(profile, { recursive: true, force: true });
    throw e;
  }
  mkdirSync(path.dirname(BROWSER_LOG), { recursive: true });
  const log = (line: string) =>
    appendFileSync(BROWSER_LOG, `${new Date().toISOString()} [${testName}] ${line}\n`);
  const pageErrors: string[] = [];
  const watch = (page: Page) => {
    page.on('console', (m) => log(`console.${m.type()}: ${m.text()}`));
    page.on('pageerror', (e) => {
      pageErrors.push(e.message);
      log(`pageerror: ${e.stack ?? e.message}`);
    });
    page.on('response', (r) => r.status() >= 400 && log(`HTTP ${r.status()}: ${r.url()}`));
    page.on('requestfailed', (r) => log(`request failed: ${r.url()} (${r.failure()?.errorText})`));
    page.on('framenavigated', (f) => f === page.mainFrame() && log(`navigated: ${f.url()}`));
  };
  context.on('page', watch);
  const page = context.pages()[0] ?? (await context.newPage());
  watch(page);
  return {
    context,
    page,
    pageErrors,
    async close() {
      await context.close().catch(() => undefined);
      rmSync(profile, { recursive: true, force: true });
    },
  };
}

/** True when the page shows the REAL Keycloak login form of the realm. */
export async function onKeycloakLogin(page: Page, keycloakUrl: string): Promise<boolean> {
  await page.locator('#kc-form-login').waitFor({ timeout: 30_000 });
  const url = new URL(page.url());
  return (
    url.origin === new URL(keycloakUrl).origin &&
    /^\/realms\/palisade\/(protocol\/openid-connect\/auth|login-actions\/)/.test(url.pathname)
  );
}

/** Fills and submits the real Keycloak login form with a demo user's password. */
export async function keycloakLogin(page: Page, username: string): Promise<void> {
  await page.locator('#kc-form-login').waitFor({ timeout: 30_000 });
  await page.fill('#username', username);
  await page.fill('#password', `${username}-dev-password`);
  await Promise.all([
    // Back on the app: Keycloak redirects to its root with the code in the fragment.
    page.waitForURL((u) => !u.pathname.startsWith('/realms/'), { timeout: 30_000 }),
    page.click('#kc-login'),
  ]);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  mkdirSync(SCREENSHOTS, { recursive: true });
  const file = path.join(SCREENSHOTS, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
