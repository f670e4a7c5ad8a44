/**
 * The `dtype: 'auto'` golden request in Chromium (test/helpers/auto-golden.ts), for the wasm and the WebGPU test:
 * creates an instance with `dtype: 'auto'` on the golden's device, checks that `auto` placed every stage as the golden
 * says, loads the golden voice and runs the golden text and seed. Tokens and lengths are compared here (exact); the
 * caller bounds the samples with its device's tolerance and disposes of the instance.
 */
import type { Page } from '@playwright/test';
import type { Device } from '../../src/base/stages.ts';
import type { AutoGolden } from '../helpers/auto-golden.ts';
import { maxAbsDiff } from '../helpers/npz.ts';
import { expect } from './fixtures.ts';
import { VOICE } from './tiny-golden.ts';

/** Runs the golden request on `page`'s instance; resolves to max |Δ| of the kept samples against the golden. */
export async function runAutoGolden(page: Page, golden: AutoGolden, device: Device): Promise<number> {
  const created = await page.evaluate((d) => window.tts.create({ device: d, dtype: 'auto' }), device);
  expect(created.ok, created.ok ? '' : created.message).toBe(true);
  if (!created.ok) return Infinity;
  const placement = Object.fromEntries(
    Object.entries(created.placement).map(([stage, p]) => [stage, { device: p.device, dtype: p.dtype }]),
  );
  expect(placement).toEqual(golden.placement);
  await page.evaluate((bytes) => window.tts.loadVoice(bytes), VOICE);
  const got = await page.evaluate((a) => window.tts.goldenRequest(a.request, a.seed, a.stride), {
    request: { call: 'synthesize' as const, text: golden.text, options: {} },
    seed: golden.seed,
    stride: golden.stride,
  });
  expect(got.segmentTokens).toEqual(golden.segmentTokens);
  expect(got.chunkSamples).toEqual([golden.samples]);
  expect(got.wave.length).toBe(golden.wave.length);
  return maxAbsDiff(Float32Array.from(got.wave), Float32Array.from(golden.wave));
}
