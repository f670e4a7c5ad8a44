/**
 * `dtype: 'auto'` on wasm against its golden (test/helpers/auto-golden.ts): the quantised variants `auto` picks give
 * the committed tokens exactly and the committed samples within the stated tolerance.
 */
import { expect, it } from 'vitest';
import { AUTO_SAMPLE_TOLERANCE, computeAutoWasm, readAutoWasmGolden } from '../../helpers/auto-golden.ts';
import { maxAbsDiff } from '../../helpers/npz.ts';

it("device 'wasm', dtype 'auto': the quantised variants' tokens and audio match the golden", async () => {
  const golden = readAutoWasmGolden();
  const fresh = await computeAutoWasm();
  expect(fresh.placement).toEqual(golden.placement);
  // auto picks quantised variants on wasm (else this golden would duplicate the fp32 ones)
  expect(fresh.placement['lm']?.dtype).not.toBe('fp32');
  expect(fresh.segmentTokens).toEqual(golden.segmentTokens);
  expect(fresh.samples).toBe(golden.samples);
  expect(fresh.wave.length).toBe(golden.wave.length);
  expect(maxAbsDiff(Float32Array.from(fresh.wave), Float32Array.from(golden.wave))).toBeLessThanOrEqual(
    AUTO_SAMPLE_TOLERANCE,
  );
});
