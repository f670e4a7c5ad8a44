import { describe, expect, it } from 'vitest';
import {
  alignPromptMelToTokens,
  createPromptMelPlan,
  createWhisperMelPlan,
  hzToMelSlaney,
  melFilterbank,
  melToHzSlaney,
  promptMel,
  resampleAudio,
  whisperLogMel,
} from '../../../src/dsp/index.ts';
import {
  audio16k,
  excerptOf,
  golden,
  lcg,
  maxAbsDiff,
  readBandedGolden,
  readGolden,
  recording,
  report,
  whisperMelFilters,
} from './golden.ts';

describe('mel filterbanks', () => {
  it.each([80, 128] as const)("reproduce Whisper's mel_filters.npz mel_%i to 1e-6", (nMels) => {
    const ref = whisperMelFilters(nMels);
    const ours = melFilterbank({ sampleRate: 16000, nFft: 400, nMels });
    expect(ref.shape).toEqual([nMels, 201]);
    const err = maxAbsDiff(ref.data, ours);
    report(`mel_${nMels} filterbank max abs vs whisper npz`, err);
    expect(err).toBeLessThanOrEqual(1e-6);
  });

  it('reproduce librosa.filters.mel(24000, 1920, 80, fmax=8000) (prompt mel) to 1e-6', () => {
    const ref = readBandedGolden('promptMelFilters.bands'); // zero outside each row's band, compared densely
    expect(ref.shape).toEqual([80, 961]);
    const err = maxAbsDiff(ref.data, createPromptMelPlan().filters);
    report('prompt-mel filterbank max abs vs librosa', err);
    expect(err).toBeLessThanOrEqual(1e-6);
  });

  it('Slaney scale: linear below 1 kHz, log above, and invertible', () => {
    expect(hzToMelSlaney(1000)).toBeCloseTo(15, 12);
    expect(hzToMelSlaney(200)).toBeCloseTo(3, 12);
    for (const hz of [0, 100, 999, 1000, 4000, 8000, 12000])
      expect(melToHzSlaney(hzToMelSlaney(hz))).toBeCloseTo(hz, 8);
  });

  it('rejects invalid ranges', () => {
    expect(() => melFilterbank({ sampleRate: 16000, nFft: 400, nMels: 80, fMin: 9000, fMax: 8000 })).toThrow(
      /^ERR_INVALID_INPUT: melFilterbank needs 0 ≤ fMin < fMax/,
    );
    expect(() => melFilterbank({ sampleRate: 16000, nFft: 0, nMels: 80 })).toThrow(/positive integer nFft/);
  });
});

describe('whisper log-mel (128 bins, 16 kHz)', () => {
  const plan = createWhisperMelPlan();

  it.each(['w0121', 'zero_shot', 'cross_lingual'] as const)('%s: max abs ≤ 1e-4 vs whisper/torch', (key) => {
    const ref = readGolden(`whisperMel.${key}`);
    const audio = audio16k(key);
    const ours = whisperLogMel(audio, plan);
    expect(ref.shape).toEqual([128, plan.numFrames(audio.length)]);
    const err = maxAbsDiff(ref.data, ours);
    report(`whisper mel ${key} [128×${ref.shape[1] ?? 0}] max abs vs torch float32`, err);
    expect(err).toBeLessThanOrEqual(1e-4);
    // spot values (transformers.js style)
    for (const i of [0, 1000, ref.data.length >> 1, ref.data.length - 1]) {
      expect(ours[i]).toBeCloseTo(ref.data[i] ?? NaN, 4);
    }
  });

  it('equals a float64 computation of the reference to float32 rounding (w0121 excerpt)', () => {
    const ref = readGolden('whisperMel64.w0121');
    const ours = whisperLogMel(excerptOf('whisperMel64.w0121', audio16k('w0121')), plan);
    expect(ours.length).toBe(ref.data.length);
    const err = maxAbsDiff(ref.data, ours);
    report(`whisper mel w0121 excerpt [${ref.shape.join('×')}] max abs vs torch float64`, err);
    expect(err).toBeLessThanOrEqual(1e-6);
  });

  it('T = ⌊N/160⌋ (e.g. 16000 → 100, 16159 → 100, 16160 → 101), as the reference', () => {
    for (const [n, t] of Object.entries(golden.frameCounts.whisperMel)) {
      expect(plan.numFrames(Number(n))).toBe(t);
      expect(t).toBe(Math.floor(Number(n) / 160));
    }
    expect(whisperLogMel(lcg(1, 16160), plan).length).toBe(128 * 101);
  });

  it('80-bin variant and caller buffers', () => {
    const p80 = createWhisperMelPlan({ nMels: 80 });
    const out = new Float32Array(80 * 100 + 5);
    expect(whisperLogMel(lcg(2, 16000), p80, out)).toBe(out);
    expect(() => whisperLogMel(lcg(2, 16000), p80, new Float32Array(10))).toThrow(/needs 8000 values/);
  });

  it('rejects audio too short for the reflect padding', () => {
    expect(() => whisperLogMel(new Float32Array(200), plan)).toThrow(
      /^ERR_INVALID_INPUT: Whisper log-mel needs more than 200 samples at 16 kHz \(got 200\)/,
    );
  });
});

describe('prompt mel (Matcha, 80 bins, 24 kHz)', () => {
  const plan = createPromptMelPlan();

  it('zero-shot prompt (24 kHz recording): max abs ≤ 1e-4 vs matcha/torch', () => {
    const ref = readGolden('promptMel.zero_shot');
    const audio = recording('zero_shot').samples;
    const ours = promptMel(audio, plan);
    expect(ref.shape).toEqual([Math.floor(audio.length / 480), 80]);
    const err = maxAbsDiff(ref.data, ours);
    report(`prompt mel zero_shot [${ref.shape.join('×')}] max abs vs torch float32`, err);
    expect(err).toBeLessThanOrEqual(1e-4);
  });

  it('cross-lingual prompt (22.05 kHz → 24 kHz with our resampler): max abs ≤ 1e-4', () => {
    const ref = readGolden('promptMel.cross_lingual');
    const wav = recording('cross_lingual');
    const audio = resampleAudio(wav.samples.subarray(0, golden.crossLingualFeatureSamples), 22050, 24000);
    const err = maxAbsDiff(ref.data, promptMel(audio, plan));
    report(`prompt mel cross_lingual [${ref.shape.join('×')}] max abs vs torch float32`, err);
    expect(err).toBeLessThanOrEqual(1e-4);
  });

  it('equals a float64 computation of the reference to float32 rounding (zero-shot excerpt)', () => {
    const ref = readGolden('promptMel64.zero_shot');
    const ours = promptMel(excerptOf('promptMel64.zero_shot', recording('zero_shot').samples), plan);
    expect(ours.length).toBe(ref.data.length);
    const err = maxAbsDiff(ref.data, ours);
    report(`prompt mel zero_shot excerpt [${ref.shape.join('×')}] max abs vs torch float64`, err);
    expect(err).toBeLessThanOrEqual(2e-6);
  });

  it('T = ⌊N/480⌋ for N = 24000, 24479, 24480, 36000, as the reference', () => {
    expect(golden.frameCounts.promptMel).toMatchObject({ '24000': 50, '24479': 50, '24480': 51, '36000': 75 });
    for (const [n, t] of Object.entries(golden.frameCounts.promptMel)) {
      expect(plan.numFrames(Number(n))).toBe(t);
    }
    expect(promptMel(lcg(3, 24480), plan).length).toBe(51 * 80);
  });

  it('rejects audio too short for the 720-sample reflect padding', () => {
    expect(() => promptMel(new Float32Array(720), plan)).toThrow(/^ERR_INVALID_INPUT: prompt mel needs more than 720/);
  });
});

describe('prompt mel ↔ token alignment (spec §3.5)', () => {
  it('keeps min(⌊T/2⌋, tokens) tokens and twice as many frames, as views', () => {
    const mel = new Float32Array(101 * 80).map((_, i) => i);
    const tokens = Int32Array.from({ length: 60 }, (_, i) => i);
    const a = alignPromptMelToTokens(mel, 80, tokens);
    expect(a.numTokens).toBe(50);
    expect(a.mel.length).toBe(100 * 80);
    expect(a.tokens.length).toBe(50);
    expect(a.mel.buffer).toBe(mel.buffer);
    const b = alignPromptMelToTokens(mel, 80, tokens.subarray(0, 30));
    expect([b.numTokens, b.mel.length / 80]).toEqual([30, 60]);
    const c = alignPromptMelToTokens(mel, 80, new BigInt64Array(70));
    expect(c.tokens).toBeInstanceOf(BigInt64Array);
    expect(() => alignPromptMelToTokens(new Float32Array(81), 80, tokens)).toThrow(/not a multiple of nMels 80/);
  });
});
