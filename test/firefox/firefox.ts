/**
 * Firefox for the Firefox suite: Debian's Firefox ESR (`FIREFOX_PATH` overrides `/usr/bin/firefox-esr`) launched
 * headless by puppeteer-core over WebDriver BiDi, with nothing downloaded. `openTestPage` mirrors the Chromium suite's
 * `openPage` fixture (test/browser/fixtures.ts): `/page/<name>` of the shared test server, ready when the page module
 * has set `window.testReady`, with its uncaught errors collected for the test to assert on.
 */
import puppeteer, { type Browser, type Page } from 'puppeteer-core';

export const FIREFOX_PATH = process.env['FIREFOX_PATH'] ?? '/usr/bin/firefox-esr';

const PREFS: Readonly<Record<string, unknown>> = {
  // a live AudioContext starts without a user gesture (the Chromium suite's --autoplay-policy flag)
  'media.autoplay.default': 0,
  'media.autoplay.block-webaudio': false,
};

/** Launches Firefox with `env` added to its environment (e.g. the audio backend's `PULSE_SERVER`). */
export function launchFirefox(env: Readonly<Record<string, string>>): Promise<Browser> {
  return puppeteer.launch({
    browser: 'firefox',
    executablePath: FIREFOX_PATH,
    headless: true,
    extraPrefsFirefox: PREFS,
    env: { ...process.env, ...env },
    // the tests' own budgets (vitest.config.ts) bound every step; puppeteer's defaults (30 s to launch, 180 s per
    // protocol call) must not cut in first on a loaded machine (0: none)
    timeout: 0,
    protocolTimeout: 0,
  });
}

/** A test page and the uncaught errors it has thrown so far. */
export interface TestPage {
  readonly page: Page;
  readonly errors: Error[];
}

/** Opens `/page/<name>` of the test server at `serverUrl` and waits until the page is ready. */
export async function openTestPage(browser: Browser, serverUrl: string, name: string): Promise<TestPage> {
  const page = await browser.newPage();
  const errors: Error[] = [];
  page.on('pageerror', (error: unknown) => errors.push(error instanceof Error ? error : new Error(String(error))));
  await page.goto(`${serverUrl}/page/${name}`);
  await page.waitForFunction(() => (globalThis as { testReady?: boolean }).testReady === true, { timeout: 0 });
  return { page, errors };
}
