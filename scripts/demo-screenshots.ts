/**
 * Screenshots of the demo's main states for the README (`npm run screenshots:demo` → docs/demo-*.png): builds the
 * demo, serves it from a sub-path without isolation headers (test/browser/server.ts), and drives the browser tests'
 * Chromium (playwright.config.ts) through model loading, cloning from the shared prompt, and speaking.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { chromium } from '@playwright/test';
import { build } from 'vite';
import config from '../playwright.config.ts';
import { ROOT, startServer } from '../test/browser/server.ts';

const PROMPT_DIR = join(ROOT, '../shared/data/prompts');
await build({
  configFile: join(ROOT, 'vite.config.ts'),
  logLevel: 'warn',
  build: { outDir: join(ROOT, 'build/demo'), emptyOutDir: true },
});
const server = await startServer({ isolated: false });
// the browser and flags of the browser tests
const browser = await chromium.launch(config.use?.launchOptions);
try {
  const page = await browser.newPage({ viewport: { width: 960, height: 900 } });
  const shoot = async (name: string): Promise<void> => {
    await page.screenshot({ path: join(ROOT, `docs/demo-${name}.png`), fullPage: true });
  };
  await page.goto(`${server.url}/demo/`);
  await page.getByText('Ready for offline use').waitFor({ timeout: 120_000 });
  await page.selectOption('#device', 'wasm');
  await page.click('#load');
  await page.getByText(/^Ready: /).waitFor({ timeout: 120_000 });
  await shoot('model');
  await page.setInputFiles('#prompt-file', join(PROMPT_DIR, 'zero_shot_prompt.wav'));
  // zero-shot, with the Chinese transcript and text: CJK glyphs need a font that covers them (tools/setup.sh)
  await page.fill('#prompt-text', readFileSync(join(PROMPT_DIR, 'zero_shot_prompt.txt'), 'utf8').trim());
  await page.click('#clone');
  await page.getByText(/^Voice ready/).waitFor({ timeout: 120_000 });
  await page.fill('#voice-name', 'Zero-shot prompt');
  await page.click('#save-voice');
  await page.locator('#voice-list .voice-name').first().waitFor();
  await shoot('voice');
  await page.click('#examples button:text-is("mixed")');
  await page.fill('#seed', '42');
  await page.click('#speak-btn');
  await page.getByText(/ tokens\/s · seed 42$/).waitFor({ timeout: 120_000 });
  await shoot('speak');
} finally {
  await browser.close();
  await server.close();
}
