/**
 * `dtype: 'auto'` against its goldens (test/helpers/auto-golden.ts): on each device `auto` resolves for, the variants
 * it picks give the committed tokens exactly and the committed samples within the stated tolerance (computed on the
 * wasm EP; the WebGPU golden's dtypes are checked on WebGPU in test/browser/webgpu-pipeline.browser.test.ts).
 */
import { describe, expect, it } from 'vitest';
import {
  AUTO_GOLDEN_DEVICES,
  AUTO_SAMPLE_TOLERANCE,
  computeAutoGolden,
  readAutoGolden,
} from '../../helpers/auto-golden.ts';
import { maxAbsDiff } from '../../helpers/npz.ts';

describe.each(AUTO_GOLDEN_DEVICES)("dtype 'auto' for %s", (device) => {
  it("the variants auto picks give the golden's tokens and audio", async () => {
    const golden = readAutoGolden(device);
    const fresh = await computeAutoGolden(device);
    expect(fresh.placement).toEqual(golden.placement);
    // auto picks a quantised LM on either device (else this golden would duplicate the fp32 ones)
    expect(fresh.placement['lm']?.dtype).not.toBe('fp32');
    expect(fresh.segmentTokens).toEqual(golden.segmentTokens);
    expect(fresh.samples).toBe(golden.samples);
    expect(fresh.wave.length).toBe(golden.wave.length);
    expect(maxAbsDiff(Float32Array.from(fresh.wave), Float32Array.from(golden.wave))).toBeLessThanOrEqual(
      AUTO_SAMPLE_TOLERANCE,
    );
  });
});
