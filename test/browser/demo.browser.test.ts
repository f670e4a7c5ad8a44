/**
 * Smoke test of the demo page as built by Vite (global setup → build/demo, served at /demo/): load the bundled tiny
 * model, clone a voice from a real recording, speak — through the page's own buttons, public API only.
 */
import { join } from 'node:path';
import { expect, test } from './fixtures.ts';

const PROMPT = join(import.meta.dirname, '../../../shared/data/prompts/zero_shot_prompt.wav');

test('the demo loads the model, clones a voice and speaks', async ({ page, server }) => {
  test.setTimeout(120_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await page.goto(`${server.url}/demo/index.html?model=${encodeURIComponent(`${server.url}/demo/models/tiny/`)}`);
  // the service worker settles isolation first (one reload where the server sends no isolation headers)
  await expect(page.locator('#app-status')).toHaveText(/^Ready for offline use; cross-origin isolated/);
  await page.selectOption('#device', 'wasm');
  await page.click('#load');
  await expect(page.locator('#load-status')).toHaveText('Ready: lm on wasm, flow on wasm, vocoder on wasm', {
    timeout: 60_000,
  });
  await page.setInputFiles('#prompt-file', PROMPT);
  await page.fill('#prompt-text', '希望你以后能够做的比我还好呦。');
  await page.click('#clone');
  await expect(page.locator('#voice-status')).toHaveText('Voice ready: 3.5 s prompt, with transcript.', {
    timeout: 60_000,
  });
  await page.fill('#seed', '42');
  await page.click('#speak-btn');
  await expect(page.locator('#metrics')).toHaveText(
    /^\d+\.\d s of audio · first audio \d+ ms · RTF [\d.]+ · [\d.]+ tokens\/s · seed 42$/,
    {
      timeout: 60_000,
    },
  );
  await expect(page.locator('#caption')).toHaveText(
    '收到好友从远方寄来的生日礼物，那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐。',
  );
  expect(errors).toEqual([]);
});
