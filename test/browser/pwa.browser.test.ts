/**
 * The demo as a PWA, built by global setup (Vite build → build/demo) and served from the sub-path `/demo/` by the
 * plain test server *without* isolation headers (the `not-isolated` project): the service worker must supply them.
 */
import { appendFileSync, cpSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { cloneFromFile, ISOLATED_STATUS as ISOLATED, loadTinyModel, openDemo } from './demo-page.ts';
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

test('@not-isolated-only the built demo becomes cross-origin isolated through its service worker, reloading once', async ({
  page,
  server,
}) => {
  const loads = countDocumentLoads(page);
  await page.goto(`${server.url}/demo/`);
  await expect(page.locator('#app-status')).toHaveText(ISOLATED);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  expect(await page.evaluate(() => typeof SharedArrayBuffer)).toBe('function');
  expect(loads.count).toBe(2);
  // the document itself came without the headers: isolation is the service worker's doing
  const direct = await page.request.get(`${server.url}/demo/`);
  expect(direct.headers()['cross-origin-embedder-policy']).toBeUndefined();
});

test('@not-isolated-only the web app manifest works under a sub-path', async ({ page, server }) => {
  await page.goto(`${server.url}/demo/`);
  const href = await page.locator('link[rel="manifest"]').getAttribute('href');
  expect(href).not.toBeNull();
  const manifestUrl = new URL(href ?? '', `${server.url}/demo/`).href;
  const manifest = (await (await page.request.get(manifestUrl)).json()) as {
    start_url: string;
    scope: string;
    theme_color: string;
    icons: { src: string; sizes: string; purpose?: string }[];
  };
  expect(new URL(manifest.start_url, manifestUrl).href).toBe(`${server.url}/demo/`);
  expect(new URL(manifest.scope, manifestUrl).href).toBe(`${server.url}/demo/`);
  expect(manifest.theme_color).toMatch(/^#[0-9a-f]{6}$/i);
  expect(manifest.icons.map((icon) => `${icon.sizes}${icon.purpose === undefined ? '' : ` ${icon.purpose}`}`)).toEqual(
    expect.arrayContaining(['192x192', '512x512', '512x512 maskable']),
  );
  for (const icon of manifest.icons) {
    const response = await page.request.get(new URL(icon.src, manifestUrl).href);
    expect(response.headers()['content-type'], icon.src).toBe('image/png');
    const size = Number(icon.sizes.split('x')[0]);
    const png = await response.body();
    // PNG IHDR: width and height as big-endian uint32 at bytes 16 and 20
    expect([png.readUInt32BE(16), png.readUInt32BE(20)], icon.src).toEqual([size, size]);
  }
});

test('@not-isolated-only a hard reload (bypassing the service worker) is recovered with one reload, no loop', async ({
  page,
  server,
}) => {
  await page.goto(`${server.url}/demo/`);
  await expect(page.locator('#app-status')).toHaveText(ISOLATED);
  const loads = countDocumentLoads(page);
  const cdp = await page.context().newCDPSession(page);
  await cdp.send('Page.reload', { ignoreCache: true });
  await expect(page.locator('#app-status')).toHaveText(ISOLATED);
  expect(await page.evaluate(() => crossOriginIsolated)).toBe(true);
  expect(loads.count).toBe(2);
});

/** Downloads the WAV of the current text and seed through the page's button; returns its bytes. */
async function downloadWav(page: Page): Promise<Buffer> {
  const [download] = await Promise.all([page.waitForEvent('download'), page.click('#download-btn')]);
  return readFileSync(await download.path());
}

test('@not-isolated-only after one online session the app, the model and a saved voice work offline, with the same samples', async ({
  page,
  context,
  server,
}) => {
  test.setTimeout(360_000);
  await openDemo(page, server.url);
  await loadTinyModel(page);
  await cloneFromFile(page);
  await page.fill('#voice-name', 'Offline voice');
  await page.click('#save-voice');
  await expect(page.locator('#voice-status')).toHaveText(/^Saved “Offline voice”/);
  await page.fill('#seed', '42');
  const online = await downloadWav(page);

  await context.setOffline(true);
  await page.reload();
  await expect(page.locator('#app-status')).toHaveText(ISOLATED);
  await loadTinyModel(page);
  await page.getByRole('button', { name: 'Use voice Offline voice' }).click();
  await expect(page.locator('#voice-status')).toHaveText(/^Voice ready \(“Offline voice”\)/);
  await page.fill('#seed', '42');
  const offline = await downloadWav(page);
  // a WAV of real audio: RIFF header plus at least one second of 16-bit samples at 24 kHz
  expect(online.subarray(0, 4).toString('latin1')).toBe('RIFF');
  expect(online.length).toBeGreaterThan(44 + 2 * 24000);
  expect(offline.equals(online)).toBe(true);
});

test('@not-isolated-only a new version is announced, applied by one reload, and does not loop', async ({ page }) => {
  // a private copy of the built demo, so that this test can publish a "new version" without touching the shared one
  const dir = mkdtempSync(join(tmpdir(), 'demo-update-'));
  cpSync(join(ROOT, 'build/demo'), dir, { recursive: true });
  const server = await startServer({ isolated: false, mounts: { '/demo/': dir } });
  try {
    await page.goto(`${server.url}/demo/`);
    await expect(page.locator('#app-status')).toHaveText(ISOLATED);
    await expect(page.locator('#update')).toBeHidden();
    const firstWorker = await page.evaluate(async () => (await navigator.serviceWorker.ready).active?.scriptURL);

    appendFileSync(join(dir, 'sw.js'), '\n// next version\n');
    const loads = countDocumentLoads(page);
    await page.evaluate(async () => {
      await (await navigator.serviceWorker.ready).update();
    });
    await expect(page.locator('#update')).toBeVisible();
    // announced, not applied: the page is still the one the old version served
    expect(loads.count).toBe(0);
    await page.click('#update-apply');
    await expect(page.locator('#app-status')).toHaveText(ISOLATED);
    await expect(page.locator('#update')).toBeHidden();
    expect(loads.count).toBe(1);
    const state = await page.evaluate(async () => {
      const registration = await navigator.serviceWorker.ready;
      return { waiting: registration.waiting !== null, active: registration.active?.scriptURL };
    });
    expect(state).toEqual({ waiting: false, active: firstWorker });
  } finally {
    await server.close();
    rmSync(dir, { recursive: true, force: true });
  }
});
