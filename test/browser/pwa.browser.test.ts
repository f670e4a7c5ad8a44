/**
 * The demo's update flow, on a private copy of the built demo (global setup → build/demo) served from the sub-path
 * `/demo/` by a plain server *without* isolation headers, so that the test can publish a "new version" of the service
 * worker without touching the copy the other suites serve. Isolation, the manifest, hard reloads and offline use are
 * in demo.browser.test.ts, on its one page.
 *
 * Only in the `not-isolated` project: the server here is the test's own plain static one whatever the project.
 */
import { appendFileSync, cpSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { ISOLATED_STATUS as ISOLATED } from './demo-page.ts';
import { expect, test } from './fixtures.ts';
import { ROOT, startServer } from './server.ts';

/** Counts the main frame's document loads (the first visit and every reload). */
function countDocumentLoads(page: Page): { readonly count: number } {
  const loads = { count: 0 };
  page.on('load', () => {
    loads.count += 1;
  });
  return loads;
}

/** Publishes a new version of the service worker and has the page look for it; resolves once it is announced. */
async function publishUpdate(page: Page, dir: string, version: number): Promise<void> {
  appendFileSync(join(dir, 'sw.js'), `\n// version ${version}\n`);
  await page.evaluate(async () => {
    await (await navigator.serviceWorker.ready).update();
  });
  await expect(page.locator('#update')).toBeVisible();
}

/** Whether a version waits, and the active worker's script. */
function workerState(page: Page): Promise<{ waiting: boolean; active: string | undefined }> {
  return page.evaluate(async () => {
    const registration = await navigator.serviceWorker.ready;
    return { waiting: registration.waiting !== null, active: registration.active?.scriptURL };
  });
}

test('@not-isolated-only a new version is announced, applied on request or at the next start, never looping', async ({
  page,
}) => {
  const dir = mkdtempSync(join(tmpdir(), 'demo-update-'));
  cpSync(join(ROOT, 'build/demo'), dir, { recursive: true });
  const server = await startServer({ isolated: false, mounts: { '/demo/': dir } });
  try {
    await page.goto(`${server.url}/demo/`);
    await expect(page.locator('#app-status')).toHaveText(ISOLATED);
    await expect(page.locator('#update')).toBeHidden();
    const firstWorker = (await workerState(page)).active;

    // Applied on request ("Reload now"): one reload, under the new version.
    const loads = countDocumentLoads(page);
    await publishUpdate(page, dir, 2);
    // announced, not applied: the page is still the one the old version served
    expect(loads.count).toBe(0);
    await page.click('#update-apply');
    await expect(page.locator('#app-status')).toHaveText(ISOLATED);
    await expect(page.locator('#update')).toBeHidden();
    expect(loads.count).toBe(1);
    expect(await workerState(page)).toEqual({ waiting: false, active: firstWorker });

    // Not applied by anyone: the version waits while the page lives (it may be speaking) and is applied by the
    // user's own reload: the old version serves that load, the new one takes over as the page starts (it is the only
    // window), unannounced, and the page loads once more so that the new version's code runs; nothing loops.
    await publishUpdate(page, dir, 3);
    expect((await workerState(page)).waiting).toBe(true);
    await page.reload();
    await expect(page.locator('#app-status')).toHaveText(ISOLATED);
    expect(await workerState(page)).toEqual({ waiting: false, active: firstWorker });
    await expect(page.locator('#update')).toBeHidden();
    expect(loads.count).toBe(3);
    expect(await page.evaluate(() => navigator.serviceWorker.controller?.state)).toBe('activated');
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
