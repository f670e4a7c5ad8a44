/**
 * The demo page as built by Vite (global setup → build/demo, served at /demo/), through its own controls only:
 * load the bundled tiny model, clone a voice from a real recording, speak, save the voice, and find it again after a
 * reload.
 */
import { ISOLATED_STATUS, cloneFromFile, loadTinyModel, openDemo, speak } from './demo-page.ts';
import { expect, test } from './fixtures.ts';

test('the demo loads the model, clones a voice, speaks, and keeps a saved voice across reloads', async ({
  page,
  server,
}) => {
  test.setTimeout(180_000);
  const errors: string[] = [];
  page.on('pageerror', (e) => errors.push(e.message));
  page.on('console', (m) => {
    if (m.type() === 'error') errors.push(m.text());
  });
  await openDemo(page, server.url);
  await loadTinyModel(page);
  const seconds = await cloneFromFile(page);
  await speak(page, 42);

  await page.fill('#voice-name', 'Zero-shot prompt');
  await page.click('#save-voice');
  await expect(page.locator('#voice-status')).toHaveText(
    'Saved “Zero-shot prompt”: it stays in this browser, also offline.',
  );
  await page.reload();
  await expect(page.locator('#app-status')).toHaveText(ISOLATED_STATUS);
  await expect(page.locator('#voice-list .voice-name')).toHaveText(['Zero-shot prompt']);
  await loadTinyModel(page);
  await page.getByRole('button', { name: 'Use voice Zero-shot prompt' }).click();
  await expect(page.locator('#voice-status')).toHaveText(
    `Voice ready (“Zero-shot prompt”): ${seconds.toFixed(1)} s prompt, with transcript.`,
  );
  await speak(page, 7);
  expect(errors).toEqual([]);
});
