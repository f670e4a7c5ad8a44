/**
 * Playwright fixtures shared by every browser suite:
 * - `isolated` (project option): whether the server sends COOP/COEP (the `isolated` and `not-isolated` projects);
 * - `server` (one per worker process): the static test server of server.ts in that mode;
 * - `openPage(name)`: navigates to `/page/<name>` (which loads `build/browser-pages/<name>.js`), waits until the
 *   page module has set `window.testReady`, and fails the test on any uncaught page error;
 * - `sharedPage(name)`: the same, but one page for every test of a serial describe block, for tests that would each
 *   otherwise load the package again (a load is ~8 s of the tiny package's session creation on 2 cores, most of a
 *   short test's time).
 */
import { test as base, expect, type Page } from '@playwright/test';
import { startServer, type TestServer } from './server.ts';

/** Options a Playwright project can set (see playwright.config.ts). */
export interface BrowserTestOptions {
  /** Serve pages cross-origin isolated (COOP/COEP). */
  readonly isolated: boolean;
}

interface WorkerFixtures extends BrowserTestOptions {
  readonly server: TestServer;
}

interface TestFixtures {
  readonly openPage: (name: string) => Promise<Page>;
}

export const test = base.extend<TestFixtures, WorkerFixtures>({
  isolated: [true, { scope: 'worker', option: true }],
  server: [
    async ({ isolated }, use) => {
      const server = await startServer({ isolated });
      await use(server);
      await server.close();
    },
    { scope: 'worker' },
  ],
  openPage: async ({ page, server }, use) => {
    const errors: Error[] = [];
    page.on('pageerror', (error) => errors.push(error));
    await use((name: string) => navigate(page, server.url, name));
    expect(errors, 'uncaught errors in the page').toEqual([]);
  },
});

/** Opens `/page/<name>` on `url` and waits for the page module. */
async function navigate(page: Page, url: string, name: string): Promise<Page> {
  await page.goto(`${url}/page/${name}`);
  await page.waitForFunction(() => (globalThis as { testReady?: boolean }).testReady === true);
  return page;
}

/**
 * One page for all tests of the enclosing describe block, which it makes serial (a failed test skips the rest: they
 * would run on a page in an unknown state). Opened before the first test, closed after the last; each test fails on
 * an uncaught page error raised while it ran. Returns the page getter for the tests.
 */
export function sharedPage(name: string): () => Page {
  test.describe.configure({ mode: 'serial' });
  let shared: Page | undefined;
  const errors: Error[] = [];
  test.beforeAll(async ({ browser, server }) => {
    const page = await browser.newPage();
    page.on('pageerror', (error) => errors.push(error));
    shared = await navigate(page, server.url, name);
  });
  test.afterEach(() => {
    expect(errors.splice(0), 'uncaught errors in the page').toEqual([]);
  });
  test.afterAll(async () => {
    await shared?.context().close();
  });
  return () => {
    if (shared === undefined) throw new Error(`the shared page ${name} did not open (see beforeAll)`);
    return shared;
  };
}

export { expect };
