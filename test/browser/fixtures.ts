/**
 * Playwright fixtures shared by every browser suite:
 * - `isolated` (project option): whether the server sends COOP/COEP (the `isolated` and `not-isolated` projects);
 * - `server` (one per worker process): the static test server of server.ts in that mode;
 * - `openPage(name)`: navigates to `/page/<name>` (which loads `build/browser-pages/<name>.js`), waits until the
 *   page module has set `window.testReady`, and fails the test on any uncaught page error.
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
    await use(async (name: string) => {
      await page.goto(`${server.url}/page/${name}`);
      await page.waitForFunction(() => (globalThis as { testReady?: boolean }).testReady === true);
      return page;
    });
    expect(errors, 'uncaught errors in the page').toEqual([]);
  },
});

export { expect };
