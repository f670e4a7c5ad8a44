/**
 * Best-effort storage in Chromium (issue #13.4): a model cache that cannot keep the files — `Cache.put` failing with
 * Chromium's private-window internal error, or a real quota too small for the package in an off-the-record profile —
 * must not fail the load. The load completes from memory, the `storage` warning names the reason, and the audio is the
 * reference audio for the seed (what the normal load gives, tts.browser.test.ts).
 */
import type { Page } from '@playwright/test';
import { maxAbsDiff } from '../helpers/npz.ts';
import { expect, test } from './fixtures.ts';
import { manifest, REFERENCE, SEED, VOICE, ZH } from './tiny-golden.ts';

type Events = ReadonlyArray<Record<string, unknown>>;

/** The load completed (every file done, `ready` last) and warned exactly once about storage. */
function expectLoadedWithOneStorageWarning(events: Events): Record<string, unknown> {
  const start = events.find((e) => e['type'] === 'load-start') as { files: Array<{ file: string }> };
  const done = events.filter((e) => e['type'] === 'file-done').map((e) => e['file']);
  expect(new Set(done)).toEqual(new Set(start.files.map((f) => f.file)));
  expect(events.at(-1)?.['type']).toBe('ready');
  const warnings = events.filter((e) => e['type'] === 'storage');
  expect(warnings).toHaveLength(1);
  return warnings[0] ?? {};
}

/** The loaded instance speaks the reference audio for the seed. */
async function expectReferenceAudio(page: Page): Promise<void> {
  await page.evaluate((bytes) => window.tts.loadVoice(bytes), VOICE);
  const audio = await page.evaluate(({ text, seed }) => window.tts.synthesize(text, seed), { text: ZH, seed: SEED });
  expect(audio.samples.length).toBe(REFERENCE.length);
  expect(maxAbsDiff(Float32Array.from(audio.samples), REFERENCE)).toBeLessThan(1e-4);
}

// One project: the Cache API and the origin's quota are the same with or without COOP/COEP, and no row plays audio
// (isolation changes only the playback transport and the wasm thread count, which is 1 on 2 cores either way). Each row
// keeps its own page: a cache fault or a quota override, once installed, holds for the whole page or origin.
test.describe('storage is best-effort', { tag: '@not-isolated-only' }, () => {
  for (const { fault, reason, words } of [
    { fault: 'internal', reason: 'error', words: /UnknownError: .*Unexpected internal error/ },
    { fault: 'quota', reason: 'quota', words: /QuotaExceededError/ },
  ] as const) {
    test(`Cache.put rejecting (${fault}) in the page and every worker: the load completes from memory and warns '${reason}'`, async ({
      openPage,
    }) => {
      const page = await openPage('tts');
      const created = await page.evaluate((cacheFault) => window.tts.create({ cache: 'cache-api', cacheFault }), fault);
      expect(created.ok, created.ok ? '' : created.message).toBe(true);
      if (!created.ok) return;
      const warning = expectLoadedWithOneStorageWarning(created.events);
      expect(warning['reason']).toBe(reason);
      expect(warning['message']).toMatch(words);
      expect(await page.evaluate(() => window.tts.cachedEntries())).toBe(0);
      await expectReferenceAudio(page);
      await page.evaluate(() => window.tts.dispose());
    });
  }

  test("an off-the-record context whose real quota is smaller than the package: the load completes and warns 'quota'", async ({
    openPage,
    server,
  }) => {
    const page = await openPage('tts');
    // Playwright's contexts are off-the-record profiles (what a private window is); the DevTools protocol lowers the
    // origin's quota below the package so that Chromium itself refuses the writes. (The page cannot see the override:
    // `navigator.storage.estimate()` reports a fixed quota in off-the-record profiles.)
    const files = manifest.files.filter((f) => f.path.endsWith('.json') || f.path.includes('.fp32.'));
    const quotaBytes = Math.min(...files.map((f) => f.bytes)) + 256 * 1024;
    expect(quotaBytes).toBeLessThan(files.reduce((n, f) => n + f.bytes, 0) / 4);
    const cdp = await page.context().newCDPSession(page);
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.url, quotaSize: quotaBytes });
    expect(await cdp.send('Storage.getUsageAndQuota', { origin: server.url })).toMatchObject({
      quota: quotaBytes,
      overrideActive: true,
    });
    const created = await page.evaluate(() => window.tts.create({ cache: 'cache-api' }));
    expect(created.ok, created.ok ? '' : created.message).toBe(true);
    if (!created.ok) return;
    const warning = expectLoadedWithOneStorageWarning(created.events);
    expect(warning['reason']).toBe('quota');
    expect(warning['message']).toMatch(/QuotaExceededError/);
    // Chromium kept what fitted, and nothing else
    const usage = (await cdp.send('Storage.getUsageAndQuota', { origin: server.url })).usage;
    expect(usage).toBeLessThanOrEqual(quotaBytes);
    await expectReferenceAudio(page);
    await page.evaluate(() => window.tts.dispose());
    await cdp.send('Storage.overrideQuotaForOrigin', { origin: server.url });
  });
});
