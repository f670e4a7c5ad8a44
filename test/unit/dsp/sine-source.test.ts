import { describe, expect, it } from 'vitest';
import { mergeSource, sineGen2 } from '../../../src/dsp/index.ts';
import { lcg, maxAbsDiff, readGolden, report } from './golden.ts';

/** Rows 0, stride, 2·stride, … of a sample-major [L][width] array (the strided goldens keep these rows). */
function strideRows(x: ArrayLike<number>, width: number, stride: number): Float64Array {
  const rows = Math.ceil(x.length / width / stride);
  const out = new Float64Array(rows * width);
  for (let r = 0; r < rows; r++) {
    for (let h = 0; h < width; h++) out[r * width + h] = x[r * stride * width + h] ?? NaN;
  }
  return out;
}

describe('SineGen2 excitation (spec §6.2 step 3) vs a torch float64 SineGen2', () => {
  const f0 = readGolden('sineGen2.f0').data;
  const noise = lcg(2024, f0.length * 480 * 9);

  it('f0 [T] + noise [480T×9] → excitation [480T×9] matches to 1e-6 (every 7th sample, all 9 harmonics)', () => {
    const ref = readGolden('sineGen2.excitationStrided');
    const stride = ref.entry.stride ?? 1;
    expect(ref.shape).toEqual([Math.ceil((f0.length * 480) / stride), 9]);
    const ours = sineGen2(f0, noise, {}, new Float64Array(f0.length * 480 * 9));
    const err = maxAbsDiff(ref.data, strideRows(ours, 9, stride));
    report('sineGen2 excitation max abs vs torch float64', err);
    expect(err).toBeLessThanOrEqual(1e-6);
    // Float32Array output
    expect(maxAbsDiff(ref.data, strideRows(sineGen2(f0, noise), 9, stride))).toBeLessThanOrEqual(1e-6);
  });

  it('long contour (200 frames, phase accumulation) matches to 1e-6', () => {
    const contour = readGolden('sineGen2Long.f0').data;
    const ref = readGolden('sineGen2Long.excitationStrided');
    const stride = ref.entry.stride ?? 1;
    const ours = sineGen2(contour, undefined, {}, new Float64Array(contour.length * 480 * 9));
    const err = maxAbsDiff(ref.data, strideRows(ours, 9, stride));
    report('sineGen2 long contour max abs vs torch float64', err);
    expect(err).toBeLessThanOrEqual(1e-6);
  });

  it('unvoiced frames carry only noise at amplitude 0.1/3, voiced ones sines + 0.003 noise', () => {
    const exc = sineGen2(
      Float32Array.of(0, 200),
      Float64Array.from({ length: 960 * 9 }, () => 1),
      {},
      new Float64Array(960 * 9),
    );
    expect(exc[0]).toBeCloseTo(0.1 / 3, 15);
    const n = 700 * 9 + 4;
    expect(Math.abs((exc[n] ?? 0) - 0.003)).toBeLessThanOrEqual(0.1);
    const quiet = sineGen2(Float32Array.of(0, 0));
    expect(quiet.every((v) => v === 0)).toBe(true);
  });

  it('mergeSource = tanh(Linear(9→1)) matches torch (row-wise, on the reference excitation rows)', () => {
    const exc = readGolden('sineGen2.excitationStrided').data;
    const ref = readGolden('mergeSource.outputStrided');
    expect(ref.entry.stride).toBe(readGolden('sineGen2.excitationStrided').entry.stride);
    const weight = lcg(9, 9).map((v) => v * 0.5);
    const err = maxAbsDiff(ref.data, mergeSource(exc, weight, 0.1));
    report('mergeSource max abs vs torch float64', err);
    expect(err).toBeLessThanOrEqual(1e-6);
  });

  it('rejects wrong noise length and empty f0', () => {
    expect(() => sineGen2(Float32Array.of(100), new Float32Array(10))).toThrow(
      /^ERR_INVALID_INPUT: noise must hold T·480·9 = 4320 values/,
    );
    expect(() => sineGen2(new Float32Array(0))).toThrow(/at least one F0 frame/);
    expect(() => mergeSource(new Float32Array(10), new Float32Array(9), 0)).toThrow(
      /not a multiple of weight length 9/,
    );
  });
});
