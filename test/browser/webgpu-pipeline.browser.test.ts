/**
 * The public API end to end on WebGPU (SwiftShader's adapter): every stage forced onto WebGPU with `dtype: 'auto'` —
 * what a WebGPU user gets by default, the q4 LM — gives the tokens and audio of the WebGPU `auto` golden
 * (test/helpers/auto-golden.ts), and a WebGPU device lost mid-request is recovered on WASM. The fp32 graphs on WebGPU
 * are compared with WASM graph by graph in variants.browser.test.ts.
 *
 * Its own project (`webgpu-pipeline` in playwright.config.ts), without isolation (WebGPU needs none; the WASM it falls
 * back on would): SwiftShader emulates the GPU on the CPU, which makes this the slowest browser test by far, and the
 * project is listed first so that it starts first instead of being the tail of the run.
 */
import { strided } from '../helpers/audio.ts';
import { readAutoGolden } from '../helpers/auto-golden.ts';
import { maxAbsDiff } from '../helpers/npz.ts';
import { runAutoGolden } from './auto-golden-run.ts';
import { expect, test } from './fixtures.ts';

/**
 * max |Δ| of WebGPU's samples against the golden (computed on wasm with the same dtypes). Measured 1.9e-5 on
 * SwiftShader (2e-5 for fp32 against the reference); WGSL's looser float rules (e.g. exp, division) leave less margin
 * than wasm's 1e-4.
 */
const WEBGPU_SAMPLE_TOLERANCE = 1e-3;

test.describe('CosyVoice on WebGPU (SwiftShader)', () => {
  test("dtype 'auto' on forced WebGPU passes its self-test and gives the golden's tokens and audio", async ({
    openPage,
  }) => {
    test.setTimeout(600_000); // SwiftShader emulates the GPU on the CPU: minutes on a loaded 2-core machine
    const golden = readAutoGolden('webgpu');
    const page = await openPage('tts');
    // every stage on WebGPU, in the dtypes auto picks there (q4 LM): the golden's placement, tokens and audio
    const error = await runAutoGolden(page, golden, 'webgpu');
    console.log(`WebGPU vs the wasm golden: max |Δ| ${error.toExponential(2)}`);
    expect(error).toBeLessThan(WEBGPU_SAMPLE_TOLERANCE);
    // the vocoder's device lost mid-request (destroyed in its worker): the request rejects and the worker is
    // restarted. The new worker sees no WebGPU (as when the GPU went away), so it fails its self-test and falls back
    // to wasm: the event and the instance's placement say so, and the same instance speaks
    await page.evaluate(() => {
      window.tts.hideWebGpuFromNextStart('vocoder');
    });
    const lost = await page.evaluate(
      ({ text, seed, laterText }) =>
        window.tts.killWorkerDuringStream('vocoder', text, seed, { how: 'lose-device', laterText }),
      { text: golden.text.repeat(4), seed: golden.seed, laterText: golden.text },
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
    // the request made right after the loss waited for the restart and speaks (vocoder on wasm now, the same file)
    expect(lost.laterSamples.length).toBe(golden.samples);
    const later = strided(Float32Array.from(lost.laterSamples), golden.stride);
    expect(maxAbsDiff(later, Float32Array.from(golden.wave))).toBeLessThan(WEBGPU_SAMPLE_TOLERANCE);
    await page.evaluate(() => window.tts.dispose());
  });
});
