import { describe, expect, it } from 'vitest';
import {
  createFbankPlan,
  FLOAT32_EPSILON,
  kaldiFbank,
  poveyWindow,
  speakerFbank,
  subtractFeatureMean,
} from '../../../src/dsp/index.ts';
import { audio16k, excerptOf, golden, lcg, maxAbsDiff, readGolden, report } from './golden.ts';

/** torchaudio's CMN (`feat - feat.mean(dim=0)`) applied to a raw fbank golden [T][80]. */
function withCmn(raw: Float32Array): Float32Array {
  const frames = raw.length / 80;
  const mean = new Float64Array(80);
  for (let i = 0; i < raw.length; i++) mean[i % 80] = (mean[i % 80] ?? 0) + (raw[i] ?? 0) / frames;
  return raw.map((v, i) => v - (mean[i % 80] ?? 0));
}

describe('Kaldi fbank (torchaudio.compliance.kaldi.fbank, 80 bins, dither 0)', () => {
  const plan = createFbankPlan();

  it('has the Kaldi geometry: 400-sample frames, hop 160, 512-point FFT, povey window', () => {
    expect([plan.windowSize, plan.windowShift, plan.paddedWindowSize, plan.numMelBins]).toEqual([400, 160, 512, 80]);
    expect(plan.window[0]).toBe(0);
    expect(plan.window).toEqual(poveyWindow(400));
    // Nyquist column of every mel bank is zero.
    for (let m = 0; m < 80; m++) expect(plan.melBanks[m * 257 + 256]).toBe(0);
  });

  it('raw fbank of 16 kHz speech: max abs ≤ 1e-3 vs torchaudio float32', () => {
    const ref = readGolden('fbank.raw.w0121');
    const ours = kaldiFbank(audio16k('w0121'), plan);
    const err = maxAbsDiff(ref.data, ours);
    report(`fbank w0121 [${ref.shape.join('×')}] max abs vs torchaudio float32`, err);
    expect(err).toBeLessThanOrEqual(1e-3);
  });

  it('raw fbank equals torchaudio in float64 to 2e-5 (mel banks rounded to float32 like Kaldi/torchaudio)', () => {
    const ref = readGolden('fbank64.raw.w0121');
    const ours = kaldiFbank(excerptOf('fbank64.raw.w0121', audio16k('w0121')), plan);
    expect(ours.length).toBe(ref.data.length);
    const err = maxAbsDiff(ref.data, ours);
    report(`fbank w0121 excerpt [${ref.shape.join('×')}] max abs vs torchaudio float64`, err);
    expect(err).toBeLessThanOrEqual(2e-5);
  });

  it.each(['w0121', 'zero_shot', 'cross_lingual'] as const)('%s with CMN (CAM++ input): max abs ≤ 1e-3', (key) => {
    // w0121: torchaudio's raw fbank with its per-bin mean removed here (the prompts have stored CMN goldens)
    const ref = key === 'w0121' ? readGolden('fbank.raw.w0121') : readGolden(`fbank.cmn.${key}`);
    const refData = key === 'w0121' ? withCmn(ref.data) : ref.data;
    const audio = audio16k(key);
    const ours = speakerFbank(audio, plan);
    expect(ref.shape).toEqual([plan.numFrames(audio.length), 80]);
    const err = maxAbsDiff(refData, ours);
    report(`fbank+CMN ${key} [${ref.shape.join('×')}] max abs vs torchaudio float32`, err);
    expect(err).toBeLessThanOrEqual(1e-3);
  });

  it('frames = 1 + ⌊(N − 400)/160⌋ (snip_edges)', () => {
    for (const [n, t] of Object.entries(golden.frameCounts.fbank)) {
      expect(plan.numFrames(Number(n))).toBe(t);
      expect(t).toBe(1 + Math.floor((Number(n) - 400) / 160));
    }
    expect(plan.numFrames(67263)).toBe(readGolden('fbank.raw.w0121').shape[0]);
    expect(kaldiFbank(lcg(4, 560), plan).length).toBe(2 * 80);
  });

  it('floors silent input at ln(float32 eps)', () => {
    const out = kaldiFbank(new Float32Array(400), plan);
    for (const v of out) expect(v).toBe(Math.fround(Math.log(FLOAT32_EPSILON)));
  });

  it('subtractFeatureMean removes the per-column mean', () => {
    const feats = Float32Array.from([1, 10, 3, 20, 5, 30]);
    subtractFeatureMean(feats, 2);
    expect(Array.from(feats)).toEqual([-2, -10, 0, 0, 2, 10]);
    expect(() => subtractFeatureMean(new Float32Array(5), 2)).toThrow(/not a multiple of dim 2/);
  });

  it('rejects audio shorter than one frame and bad options', () => {
    expect(() => kaldiFbank(new Float32Array(399), plan)).toThrow(
      /^ERR_INVALID_INPUT: fbank needs at least one 25 ms frame = 400 samples \(got 399\)/,
    );
    expect(() => createFbankPlan({ lowFreq: 9000 })).toThrow(/lowFreq < highFreq ≤ Nyquist 8000 Hz/);
    expect(() => createFbankPlan({ numMelBins: 3 })).toThrow(/numMelBins must be an integer > 3/);
  });
});
