/**
 * WebGPU smoke check, so later suites can rely on the WebGPU path: with `--enable-unsafe-webgpu`, headless Chromium
 * offers an adapter in the window and in a dedicated worker, and a compute shader returns correct values. On
 * machines without a GPU that adapter is SwiftShader's fallback adapter (set `WEBGPU_REAL_ADAPTER=1` where a real GPU
 * is expected instead).
 */
import { expect, test } from './fixtures.ts';

const expected = Array.from({ length: 256 }, (_, i) => i * 2 + 1);
const expectFallback = process.env['WEBGPU_REAL_ADAPTER'] !== '1';

test('WebGPU adapter and compute shader in the window', async ({ openPage }) => {
  const page = await openPage('webgpu');
  const probe = await page.evaluate(() => window.webgpu.probe());
  expect(probe.hasGpu).toBe(true);
  expect(probe.adapter).toBe(true);
  expect(probe.isFallbackAdapter).toBe(expectFallback);
  expect(probe.computed).toEqual(expected);
});

test('WebGPU adapter and compute shader in a dedicated worker', async ({ openPage }) => {
  const page = await openPage('webgpu');
  const probe = await page.evaluate(() => window.webgpu.probeInWorker());
  expect(probe.adapter).toBe(true);
  expect(probe.isFallbackAdapter).toBe(expectFallback);
  expect(probe.computed).toEqual(expected);
});
