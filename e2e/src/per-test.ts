/**
 * The per-test browser of the e2e suites. Apart from browser.ts because it registers vitest hooks,
 * and global-setup.ts (which runs outside a test worker) imports browser.ts.
 */
import { afterEach, beforeEach, expect } from 'vitest';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { openBrowser, screenshot, SCREENSHOTS, type BrowserSession } from './browser';

/**
 * Registers a fresh browser per test (in beforeEach) and returns a getter for it. A failing test
 * leaves a FAILED-* screenshot; any uncaught page exception fails the test in afterEach.
 */
export function browserPerTest(
  /** Runs on each new browser before the test, e.g. to install Playwright's fake clock. */
  prepare?: (b: BrowserSession) => Promise<void>,
): () => BrowserSession {
  let b: BrowserSession | undefined;
  beforeEach(async (ctx) => {
    b = await openBrowser(ctx.task.name);
    await prepare?.(b);
  });
  afterEach(async (ctx) => {
    // Keep the page a failing test ended on, and its text: they say more than the assertion.
    // (Here rather than in onTestFailed, which runs after this hook has closed the browser.)
    if (b && ctx.task.result?.state === 'fail') {
      const name = `FAILED-${ctx.task.name.replace(/\W+/g, '-').slice(0, 60)}`;
      await screenshot(b.page, name).catch(() => undefined);
      const text = await b.page.evaluate(() => document.body.innerText).catch(() => '');
      writeFileSync(path.join(SCREENSHOTS, `${name}.txt`), `${b.page.url()}\n\n${text}`);
    }
    const errors = [...(b?.pageErrors ?? [])];
    await b?.close();
    b = undefined;
    // A page that threw is broken even when it looks right.
    expect(errors).toEqual([]);
  });
  return () => {
    if (!b) throw new Error('no browser: browserPerTest() works only inside a test');
    return b;
  };
}
