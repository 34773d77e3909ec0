/**
 * Debian's Chromium driven by playwright-core (browser downloads are impossible here). The flags
 * keep Chromium off the network: with background networking on it tries Google's hosts at start.
 * Playwright gives every launch a fresh, empty profile of its own.
 */
import { existsSync, mkdirSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { repoRoot } from '@palisade/testkit';

export const CHROMIUM = '/usr/bin/chromium';

export async function launch(): Promise<Browser> {
  if (!existsSync(CHROMIUM))
    throw new Error(`${CHROMIUM} is missing: 'npm run stack -- up' installs the chromium package`);
  return chromium.launch({
    executablePath: CHROMIUM,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Fills the real Keycloak login form. */
export async function keycloakLogin(page: Page, username: string): Promise<void> {
  await page.waitForSelector('#kc-form-login', { timeout: 30_000 });
  await page.fill('#username', username);
  await page.fill('#password', `${username}-dev-password`);
  await Promise.all([
    page.waitForURL((u) => !u.pathname.includes('/protocol/openid-connect/'), { timeout: 30_000 }),
    page.click('#kc-login'),
  ]);
}

export async function screenshot(page: Page, name: string): Promise<string> {
  const dir = path.join(repoRoot(), '.data', 'test', 'screenshots');
  mkdirSync(dir, { recursive: true });
  const file = path.join(dir, `${name}.png`);
  await page.screenshot({ path: file, fullPage: true });
  return file;
}
