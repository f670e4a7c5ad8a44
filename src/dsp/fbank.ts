/**
 * Kaldi-compatible log mel filterbank (CAM++ speaker-embedding input, spec §3.3), with per-utterance mean
 * normalisation.
 *
 * @module
 */

import { invalidInput } from './errors.ts';
import { createRfftPlan, rfft, type RfftPlan } from './fft.ts';
import { poveyWindow } from './window.ts';

/** float32 machine epsilon: Kaldi's floor before the log (`torch.finfo(torch.float).eps`). */
export const FLOAT32_EPSILON = 1.1920928955078125e-7;

/**
 * Options of {@link createFbankPlan}. Defaults are `torchaudio.compliance.kaldi.fbank` defaults with CosyVoice's
 * `num_mel_bins=80`. Fixed (not configurable): dither 0, DC-offset removal, povey window, power spectrum, FFT size
 * rounded up to a power of two, `snip_edges=True`, no energy term, natural log.
 */
export interface FbankOptions {
  /** @defaultValue 80 */
  readonly numMelBins?: number;
  /** Sample rate in Hz. @defaultValue 16000 */
  readonly sampleFrequency?: number;
  /** Frame length in ms. @defaultValue 25 */
  readonly frameLength?: number;
  /** Frame shift in ms. @defaultValue 10 */
  readonly frameShift?: number;
  /** Lowest mel band edge in Hz. @defaultValue 20 */
  readonly lowFreq?: number;
  /** Highest mel band edge in Hz; ≤ 0 means Nyquist + highFreq. @defaultValue 0 */
  readonly highFreq?: number;
  /** Pre-emphasis coefficient in [0, 1]. @defaultValue 0.97 */
  readonly preemphasisCoefficient?: number;
}

/** Precomputed fbank state. Create with {@link createFbankPlan}. */
export interface FbankPlan {
  /** Output bins per frame. */
  readonly numMelBins: number;
  /** Frame length in samples (400 at 16 kHz). */
  readonly windowSize: number;
  /** Frame shift in samples (160 at 16 kHz). */
  readonly windowShift: number;
  /** FFT size (512 at 16 kHz). */
  readonly paddedWindowSize: number;
  /** Pre-emphasis coefficient. */
  readonly preemphasisCoefficient: number;
  /** Povey window of `windowSize` samples. */
  readonly window: Float64Array;
  /** Kaldi triangular mel banks `[numMelBins][paddedWindowSize/2 + 1]` (Nyquist column zero; float32 values). */
  readonly melBanks: Float64Array;
  /**
   * Number of frames for `length` samples: 1 + ⌊(length − windowSize) / windowShift⌋ (`snip_edges`).
   *
   * @throws {Error} `ERR_INVALID_INPUT` when `length` < windowSize
   */
  numFrames(length: number): number;
  /** @internal */
  readonly rfftPlan: RfftPlan;
  /** @internal */
  readonly ranges: Int32Array;
}

function kaldiMel(hz: number): number {
  return 1127 * Math.log(1 + hz / 700);
}

const f32 = Math.fround;

/** `1127 · ln(1 + f/700)` evaluated step by step in float32, as torchaudio's `mel_scale` on a float32 tensor. */
function kaldiMelFloat32(hz: number): number {
  return f32(1127 * f32(Math.log(f32(1 + f32(hz / 700)))));
}

/**
 * Creates the Kaldi fbank plan.
 *
 * @param options - see {@link FbankOptions}
 * @returns the plan
 * @throws {Error} `ERR_INVALID_INPUT` for invalid frequencies or sizes (messages give the allowed range)
 * @see torchaudio.compliance.kaldi.fbank / torchaudio.compliance.kaldi.get_mel_banks
 */
export function createFbankPlan(options: FbankOptions = {}): FbankPlan {
  const numMelBins = options.numMelBins ?? 80;
  const sampleFrequency = options.sampleFrequency ?? 16000;
  const frameLength = options.frameLength ?? 25;
  const frameShift = options.frameShift ?? 10;
  const lowFreq = options.lowFreq ?? 20;
  const preemphasisCoefficient = options.preemphasisCoefficient ?? 0.97;
  if (!Number.isSafeInteger(numMelBins) || numMelBins <= 3) {
    throw invalidInput(`numMelBins must be an integer > 3 (got ${String(numMelBins)}).`);
  }
  if (!(sampleFrequency > 0)) throw invalidInput(`sampleFrequency must be > 0 (got ${sampleFrequency}).`);
  if (!(preemphasisCoefficient >= 0 && preemphasisCoefficient <= 1)) {
    throw invalidInput(`preemphasisCoefficient must be in [0, 1] (got ${preemphasisCoefficient}).`);
  }
  // Same float expression as torchaudio (left to right), then int().
  const windowShift = Math.trunc(sampleFrequency * frameShift * 0.001);
  const windowSize = Math.trunc(sampleFrequency * frameLength * 0.001);
  if (windowShift < 1 || windowSize < 2) {
    throw invalidInput(
      `frameLength/frameShift give ${windowSize}/${windowShift} samples; need a window of ≥ 2 and a shift of ≥ 1 sample.`,
    );
  }
  let paddedWindowSize = 1;
  while (paddedWindowSize < windowSize) paddedWindowSize *= 2;
  const nyquist = 0.5 * sampleFrequency;
  const highFreq = (options.highFreq ?? 0) <= 0 ? (options.highFreq ?? 0) + nyquist : (options.highFreq ?? 0);
  if (!(lowFreq >= 0 && lowFreq < nyquist && highFreq > 0 && highFreq <= nyquist && lowFreq < highFreq)) {
    throw invalidInput(
      `fbank needs 0 ≤ lowFreq < highFreq ≤ Nyquist ${nyquist} Hz (got lowFreq ${lowFreq}, highFreq ${highFreq}).`,
    );
  }
  const numBins = paddedWindowSize / 2 + 1;
  const fftBinWidth = sampleFrequency / paddedWindowSize;
  // The band edges are float64 scalars, but like Kaldi (BaseFloat) and torchaudio (default float32 tensors) the
  // triangles are evaluated in float32. The rounding matters: mel values near 2800 carry ~1e-4 absolute error, which
  // changes low-energy bands by ~1e-4 in the log domain.
  const melLow = kaldiMel(lowFreq);
  const melHigh = kaldiMel(highFreq);
  const melDelta = (melHigh - melLow) / (numMelBins + 1);
  const low32 = f32(melLow);
  const delta32 = f32(melDelta);
  const melBanks = new Float64Array(numMelBins * numBins);
  const ranges = new Int32Array(2 * numMelBins);
  for (let m = 0; m < numMelBins; m++) {
    const left = f32(low32 + f32(m * delta32));
    const center = f32(low32 + f32((m + 1) * delta32));
    const right = f32(low32 + f32((m + 2) * delta32));
    let start = numBins;
    let end = 0;
    // Columns 0 .. numBins − 2; the Nyquist column stays zero (torchaudio pads it).
    for (let k = 0; k < numBins - 1; k++) {
      const mel = kaldiMelFloat32(f32(fftBinWidth * k));
      const up = f32(f32(mel - left) / f32(center - left));
      const down = f32(f32(right - mel) / f32(right - center));
      const w = Math.max(0, Math.min(up, down));
      melBanks[m * numBins + k] = w;
      if (w > 0) {
        start = Math.min(start, k);
        end = k + 1;
      }
    }
    ranges[2 * m] = Math.min(start, end);
    ranges[2 * m + 1] = end;
  }
  return {
    numMelBins,
    windowSize,
    windowShift,
    paddedWindowSize,
    preemphasisCoefficient,
    window: poveyWindow(windowSize),
    melBanks,
    numFrames(length: number): number {
      if (!Number.isSafeInteger(length) || length < windowSize) {
        throw invalidInput(
          `fbank needs at least one ${frameLength} ms frame = ${windowSize} samples (got ${String(length)}).`,
        );
      }
      return 1 + Math.floor((length - windowSize) / windowShift);
    },
    rfftPlan: createRfftPlan(paddedWindowSize),
    ranges,
  };
}

/**
 * Kaldi log mel filterbank `[T][numMelBins]` (row-major, CAM++'s input [1, T, 80] layout). Per frame of 400 samples
 * (hop 160): remove the DC offset, pre-emphasise (x[j] − 0.97·x[j−1], the first sample uses itself), povey window,
 * zero-pad to 512, power spectrum, Kaldi mel banks (1127·ln(1 + f/700), 20 Hz – Nyquist), ln(max(·, float32 eps)).
 * Computed in float64.
 *
 * @param wave - mono samples in [−1, 1] (not int16 scale) at the plan's sample rate
 * @param plan - plan from {@link createFbankPlan}
 * @param out - optional destination of T·numMelBins values
 * @returns the features (a new Float32Array unless `out` is given)
 * @throws {Error} `ERR_INVALID_INPUT` when the wave is shorter than one frame or `out` is too small
 * @see torchaudio.compliance.kaldi.fbank(wave, num_mel_bins=80, dither=0.0, sample_frequency=16000)
 */
export function kaldiFbank(wave: ArrayLike<number>, plan: FbankPlan, out?: Float32Array): Float32Array {
  const numFrames = plan.numFrames(wave.length);
  const { numMelBins, windowSize, windowShift, paddedWindowSize, window, melBanks, ranges, rfftPlan } = plan;
  const size = numFrames * numMelBins;
  if (out !== undefined && out.length < size) {
    throw invalidInput(`kaldiFbank output needs ${size} values (got ${out.length}).`);
  }
  const result = out ?? new Float32Array(size);
  const numBins = paddedWindowSize / 2 + 1;
  const frame = new Float64Array(paddedWindowSize);
  const raw = new Float64Array(windowSize);
  const spectrum = new Float64Array(2 * numBins);
  const power = new Float64Array(numBins);
  const coefficient = plan.preemphasisCoefficient;
  for (let t = 0; t < numFrames; t++) {
    const start = t * windowShift;
    let mean = 0;
    for (let j = 0; j < windowSize; j++) {
      const v = wave[start + j] ?? 0;
      raw[j] = v;
      mean += v;
    }
    mean /= windowSize;
    for (let j = 0; j < windowSize; j++) raw[j] = (raw[j] ?? 0) - mean;
    for (let j = windowSize - 1; j >= 0; j--) {
      const previous = raw[j > 0 ? j - 1 : 0] ?? 0;
      frame[j] = ((raw[j] ?? 0) - coefficient * previous) * (window[j] ?? 0);
    }
    rfft(frame, rfftPlan, spectrum);
    for (let b = 0; b < numBins; b++) {
      const re = spectrum[2 * b] ?? 0;
      const im = spectrum[2 * b + 1] ?? 0;
      power[b] = re * re + im * im;
    }
    for (let m = 0; m < numMelBins; m++) {
      const row = m * numBins;
      let sum = 0;
      for (let b = ranges[2 * m] ?? 0, end = ranges[2 * m + 1] ?? 0; b < end; b++) {
        sum += (melBanks[row + b] ?? 0) * (power[b] ?? 0);
      }
      result[t * numMelBins + m] = Math.log(Math.max(sum, FLOAT32_EPSILON));
    }
  }
  return result;
}

/**
 * Cepstral mean normalisation in place: subtracts from every column of a `[T][dim]` matrix its mean over the T rows
 * (means accumulated in float64).
 *
 * @param features - row-major `[T][dim]` features, modified in place
 * @param dim - values per row
 * @returns `features`
 * @throws {Error} `ERR_INVALID_INPUT` when `features.length` is not a multiple of `dim`
 * @see `feat - feat.mean(dim=0, keepdim=True)` in cosyvoice/cli/frontend.py `_extract_spk_embedding`
 */
export function subtractFeatureMean<T extends Float32Array | Float64Array>(features: T, dim: number): T {
  if (!Number.isSafeInteger(dim) || dim < 1 || features.length % dim !== 0) {
    throw invalidInput(`feature length ${features.length} is not a multiple of dim ${dim}.`);
  }
  const rows = features.length / dim;
  if (rows === 0) return features;
  const mean = new Float64Array(dim);
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < dim; c++) mean[c] = (mean[c] ?? 0) + (features[r * dim + c] ?? 0);
  }
  for (let c = 0; c < dim; c++) mean[c] = (mean[c] ?? 0) / rows;
  for (let r = 0; r < rows; r++) {
    for (let c = 0; c < dim; c++) features[r * dim + c] = (features[r * dim + c] ?? 0) - (mean[c] ?? 0);
  }
  return features;
}

/**
 * CAM++ speaker-embedding features: {@link kaldiFbank} (80 bins, 16 kHz) followed by {@link subtractFeatureMean}.
 *
 * @param wave16k - mono 16 kHz samples in [−1, 1]
 * @param plan - fbank plan
 * @defaultValue plan = createFbankPlan()
 * @param out - optional destination of T·80 values
 * @returns `[T][80]` mean-normalised log-mel features
 * @throws {Error} `ERR_INVALID_INPUT` when the wave is shorter than 400 samples
 * @see cosyvoice/cli/frontend.py `_extract_spk_embedding` (spec §3.3)
 */
export function speakerFbank(
  wave16k: ArrayLike<number>,
  plan: FbankPlan = createFbankPlan(),
  out?: Float32Array,
): Float32Array {
  return subtractFeatureMean(kaldiFbank(wave16k, plan, out), plan.numMelBins);
}
