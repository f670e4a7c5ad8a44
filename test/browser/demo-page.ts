/**
 * Steps through the built demo page (served at /demo/ by the test server) with its own controls, shared by the demo
 * and PWA suites.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Page } from '@playwright/test';
import { decodeWav } from '../../src/dsp/index.ts';
import { expect } from './fixtures.ts';

export const PROMPT = join(import.meta.dirname, '../../../shared/data/prompts/zero_shot_prompt.wav');
const TRANSCRIPT = readFileSync(
  join(import.meta.dirname, '../../../shared/data/prompts/zero_shot_prompt.txt'),
  'utf8',
).trim();
export const TEXT = '收到好友从远方寄来的生日礼物，那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐。';
export const ISOLATED_STATUS = /^Ready for offline use; cross-origin isolated/;

/** Opens the demo and waits until the service worker has settled isolation (one reload without server headers). */
export async function openDemo(page: Page, baseUrl: string): Promise<void> {
  await page.goto(`${baseUrl}/demo/`);
  await expect(page.locator('#app-status')).toHaveText(ISOLATED_STATUS);
}

/** Loads the bundled tiny model on WASM. */
export async function loadTinyModel(page: Page): Promise<void> {
  await page.selectOption('#device', 'wasm');
  await page.click('#load');
  // measured 0.2-0.4 MB/s for the 9.6 MB download on a 2-core machine shared with five browser suites
  await expect(page.locator('#load-status')).toHaveText('Ready: lm on wasm, flow on wasm, vocoder on wasm', {
    timeout: 150_000,
  });
}

/** Chooses the prompt file and clones it with its transcript; returns the trimmed prompt's length in seconds. */
export async function cloneFromFile(page: Page): Promise<number> {
  await page.setInputFiles('#prompt-file', PROMPT);
  const status = page.locator('#prompt-status');
  await expect(status).toHaveText(/^\d+\.\d s of speech \(trimmed \d+\.\d s at the start, \d+\.\d s at the end\)\.$/);
  const [speech = '', head = '', tail = ''] =
    /^(\S+) s of speech \(trimmed (\S+) s at the start, (\S+) s at the end/
      .exec((await status.textContent()) ?? '')
      ?.slice(1) ?? [];
  const wav = decodeWav(readFileSync(PROMPT));
  // the three figures are rounded to 0.1 s each
  expect(
    Math.abs(Number(speech) + Number(head) + Number(tail) - wav.samples.length / wav.sampleRate),
  ).toBeLessThanOrEqual(0.15);
  await page.fill('#prompt-text', TRANSCRIPT);
  await page.click('#clone');
  await expect(page.locator('#voice-status')).toHaveText(/^Voice ready: \d+\.\d s prompt, with transcript\.$/, {
    timeout: 60_000,
  });
  const prompt = Number(/(\d+\.\d) s prompt/.exec((await page.locator('#voice-status').textContent()) ?? '')?.[1]);
  // speech tokens come at 25 per second of the trimmed prompt: the two lengths agree to one token and the rounding
  expect(Math.abs(prompt - Number(speech))).toBeLessThanOrEqual(0.04 + 0.1);
  return prompt;
}

/** Speaks the default text with a seed and waits for the figures. */
export async function speak(page: Page, seed: number): Promise<void> {
  await page.fill('#text', TEXT);
  await page.fill('#seed', String(seed));
  await page.click('#speak-btn');
  await expect(page.locator('#metrics')).toHaveText(
    new RegExp(`^\\d+\\.\\d s of audio · first audio \\d+ ms · RTF [\\d.]+ · [\\d.]+ tokens/s · seed ${seed}$`),
    { timeout: 60_000 },
  );
  await expect(page.locator('#caption')).toHaveText(TEXT);
}
