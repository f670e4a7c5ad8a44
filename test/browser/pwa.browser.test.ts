/**
 * The demo as a PWA, built by global setup (Vite build → build/demo) and served from the sub-path `/demo/` by the
 * plain test server *without* isolation headers (the `not-isolated` project): the service worker must supply them.
 */
import type { Page } from '@playwright/test';
import { expect, test } from './fixtures.ts';

const ISOLATED = 'Ready for offline use; cross-origin isolated (shared-memory playback, threaded WASM).';

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
