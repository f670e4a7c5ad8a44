/**
 * The public API end to end on WebGPU (SwiftShader's adapter): every stage forced onto WebGPU gives the reference
 * tokens and audio, and a WebGPU device lost mid-request is recovered on WASM.
 *
 * Its own project (`webgpu-pipeline` in playwright.config.ts), without isolation (WebGPU needs none; the WASM it falls
 * back on would): SwiftShader emulates the GPU on the CPU, which makes this the slowest browser test by far, and the
 * project is listed first so that it starts first instead of being the tail of the run.
 */
import { floats, maxAbsDiff, need } from '../helpers/npz.ts';
import { expect, test } from './fixtures.ts';
import { e2e, SEED, VOICE, ZH } from './tiny-golden.ts';

test.describe('CosyVoice on WebGPU (SwiftShader)', () => {
  test('forced WebGPU passes its self-test and gives the reference tokens and audio', async ({ openPage }) => {
    test.setTimeout(600_000); // SwiftShader emulates the GPU on the CPU: minutes on a loaded 2-core machine
    const page = await openPage('tts');
    const created = await page.evaluate(() => window.tts.create({ device: 'webgpu', dtype: 'fp32' }));
    expect(created.ok).toBe(true);
    if (!created.ok) return;
    expect(created.placement['lm']?.device).toBe('webgpu');
    expect(created.placement['flow']?.device).toBe('webgpu');
    expect(created.placement['vocoder']?.device).toBe('webgpu');
    await page.evaluate((bytes) => window.tts.loadVoice(bytes), VOICE);
    const offline = await page.evaluate(({ text, seed }) => window.tts.synthesize(text, seed), {
      text: ZH,
      seed: SEED,
    });
    const reference = floats(need(e2e, 'offline_wave'));
    expect(offline.samples.length).toBe(reference.length);
    // measured 2e-5 on SwiftShader; WGSL's looser float rules (e.g. exp, division) leave less margin than wasm
    const error = maxAbsDiff(Float32Array.from(offline.samples), reference);
    console.log(`WebGPU vs reference: max |Δ| ${error.toExponential(2)}`);
    expect(error).toBeLessThan(1e-3);
    // the vocoder's device lost mid-request (destroyed in its worker): the request rejects and the worker is
    // restarted. The new worker sees no WebGPU (as when the GPU went away), so it fails its self-test and falls back
    // to wasm: the event and the instance's placement say so, and the same instance speaks
    await page.evaluate(() => {
      window.tts.hideWebGpuFromNextStart('vocoder');
    });
    const lost = await page.evaluate(
      ({ text, seed, laterText }) =>
        window.tts.killWorkerDuringStream('vocoder', text, seed, { how: 'lose-device', laterText }),
      { text: ZH.repeat(4), seed: SEED, laterText: ZH },
    );
    expect(lost).toMatchObject({
      firstWhileHeld: true,
      pending: 'ERR_WORKER_CRASHED',
      later: 'resolved',
      recovered: [{ stages: ['vocoder'], devices: { vocoder: 'wasm' }, attempts: 1 }],
    });
    expect(lost.message).toMatch(/^The vocoder worker crashed: .*The WebGPU device was lost \(destroyed\)/);
    expect(await page.evaluate(() => window.tts.placement())).toMatchObject({
      lm: 'webgpu',
      flow: 'webgpu',
      vocoder: 'wasm',
    });
    // the request made right after the loss waited for the restart and speaks (vocoder on wasm now)
    expect(lost.laterSamples.length).toBe(reference.length);
    expect(maxAbsDiff(Float32Array.from(lost.laterSamples), reference)).toBeLessThan(1e-3);
    await page.evaluate(() => window.tts.dispose());
  });
});
