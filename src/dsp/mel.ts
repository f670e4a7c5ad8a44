/**
 * Mel filterbanks and the two mel features of CosyVoice 2's front-end:
 * Whisper's 128-bin log-mel at 16 kHz (speech-tokenizer input, spec §3.2) and Matcha's 80-bin prompt mel at 24 kHz
 * (flow condition, spec §3.4), plus the 2:1 prompt mel ↔ token alignment (spec §3.5).
 *
 * @module
 */

import { invalidInput } from './errors.ts';
import { createStftPlan, forEachStftFrame, padSignal, type StftPlan } from './stft.ts';

/** Options of {@link melFilterbank}, named after `librosa.filters.mel`. */
export interface MelFilterbankOptions {
  /** Sample rate in Hz. */
  readonly sampleRate: number;
  /** FFT size; the filterbank has ⌊nFft/2⌋ + 1 columns. */
  readonly nFft: number;
  /** Number of mel bands (rows). */
  readonly nMels: number;
  /**
   * Lowest band edge in Hz.
   * @defaultValue 0
   */
  readonly fMin?: number;
  /**
   * Highest band edge in Hz.
   * @defaultValue sampleRate / 2
   */
  readonly fMax?: number;
  /**
   * Area normalisation: 'slaney' divides each triangle by its width in Hz (2 / (f[i+2] − f[i])); null keeps peak 1.
   * @defaultValue 'slaney'
   */
  readonly norm?: 'slaney' | null;
}

// Slaney's Auditory Toolbox mel scale (librosa htk=False): linear below 1 kHz, logarithmic above.
const F_SP = 200 / 3;
const MIN_LOG_HZ = 1000;
const MIN_LOG_MEL = MIN_LOG_HZ / F_SP;
const LOG_STEP = Math.log(6.4) / 27;

/**
 * Hz → mel on the Slaney scale.
 *
 * @param hz - frequency in Hz
 * @returns mel value
 * @see librosa.hz_to_mel(htk=False)
 */
export function hzToMelSlaney(hz: number): number {
  return hz >= MIN_LOG_HZ ? MIN_LOG_MEL + Math.log(hz / MIN_LOG_HZ) / LOG_STEP : hz / F_SP;
}

/**
 * Mel → Hz on the Slaney scale.
 *
 * @param mel - mel value
 * @returns frequency in Hz
 * @see librosa.mel_to_hz(htk=False)
 */
export function melToHzSlaney(mel: number): number {
  return mel >= MIN_LOG_MEL ? MIN_LOG_HZ * Math.exp(LOG_STEP * (mel - MIN_LOG_MEL)) : F_SP * mel;
}

/**
 * Triangular mel filterbank on the Slaney mel scale, `[nMels][⌊nFft/2⌋ + 1]` row-major, computed in float64.
 * Reproduces Whisper's `mel_filters.npz` (`mel_80`, `mel_128`: sr 16000, nFft 400) and Matcha's prompt-mel bank
 * (sr 24000, nFft 1920, nMels 80, fMax 8000).
 *
 * @param options - sampleRate, nFft, nMels, fMin, fMax, norm
 * @returns the filterbank
 * @throws {Error} `ERR_INVALID_INPUT` for non-positive sizes or 0 ≤ fMin < fMax ≤ … violated
 * @see librosa.filters.mel(sr, n_fft, n_mels, fmin, fmax, htk=False, norm='slaney')
 */
export function melFilterbank(options: MelFilterbankOptions): Float64Array {
  const { sampleRate, nFft, nMels } = options;
  const fMin = options.fMin ?? 0;
  const fMax = options.fMax ?? sampleRate / 2;
  const norm = options.norm === undefined ? 'slaney' : options.norm;
  if (!(sampleRate > 0) || !Number.isSafeInteger(nFft) || nFft < 1 || !Number.isSafeInteger(nMels) || nMels < 1) {
    throw invalidInput(
      `melFilterbank needs sampleRate > 0 and positive integer nFft, nMels (got ${sampleRate}, ${nFft}, ${nMels}).`,
    );
  }
  if (!(fMin >= 0 && fMin < fMax)) {
    throw invalidInput(`melFilterbank needs 0 ≤ fMin < fMax (got fMin ${fMin}, fMax ${fMax}).`);
  }
  const numBins = Math.floor(nFft / 2) + 1;
  // mel_frequencies(nMels + 2): np.linspace over the mel range, last point exactly max.
  const minMel = hzToMelSlaney(fMin);
  const maxMel = hzToMelSlaney(fMax);
  const count = nMels + 2;
  const melF = new Float64Array(count);
  const step = (maxMel - minMel) / (count - 1);
  for (let i = 0; i < count; i++) melF[i] = melToHzSlaney(i === count - 1 ? maxMel : i * step + minMel);
  const weights = new Float64Array(nMels * numBins);
  for (let m = 0; m < nMels; m++) {
    const f0 = melF[m] ?? 0;
    const f1 = melF[m + 1] ?? 0;
    const f2 = melF[m + 2] ?? 0;
    const enorm = norm === 'slaney' ? 2 / (f2 - f0) : 1;
    for (let k = 0; k < numBins; k++) {
      const freq = (k * sampleRate) / nFft;
      const lower = (freq - f0) / (f1 - f0);
      const upper = (f2 - freq) / (f2 - f1);
      const w = Math.max(0, Math.min(lower, upper));
      weights[m * numBins + k] = w * enorm;
    }
  }
  return weights;
}

/** Nonzero column range [start, end) of every row of a filterbank, to skip the zeros. */
function rowRanges(filters: Float64Array, rows: number, cols: number): Int32Array {
  const ranges = new Int32Array(2 * rows);
  for (let r = 0; r < rows; r++) {
    let start = 0;
    while (start < cols && filters[r * cols + start] === 0) start++;
    let end = cols;
    while (end > start && filters[r * cols + end - 1] === 0) end--;
    ranges[2 * r] = start;
    ranges[2 * r + 1] = end;
  }
  return ranges;
}

// ---------------------------------------------------------------------------------------------------------------------
// Whisper log-mel (spec §3.2)

/** Whisper's STFT size at 16 kHz (25 ms). */
export const WHISPER_N_FFT = 400;
/** Whisper's hop at 16 kHz (10 ms). */
export const WHISPER_HOP_LENGTH = 160;
/** Sample rate Whisper features expect. */
export const WHISPER_SAMPLE_RATE = 16000;

/** Precomputed Whisper log-mel state. Create with {@link createWhisperMelPlan}. */
export interface WhisperMelPlan {
  /** Number of mel bins (80 or 128). */
  readonly nMels: number;
  /** The STFT plan (nFft 400, hop 160, periodic Hann, center, reflect). */
  readonly stft: StftPlan;
  /** Mel filterbank `[nMels][201]` (librosa Slaney, fMax 8000). */
  readonly filters: Float64Array;
  /**
   * Number of feature frames for `length` samples at 16 kHz: T = ⌊length / 160⌋ (the last STFT frame is dropped).
   *
   * @throws {Error} `ERR_INVALID_INPUT` when `length` < 201 (the reflect padding of 200 needs more samples)
   */
  numFrames(length: number): number;
  /** @internal */
  readonly ranges: Int32Array;
}

/**
 * Creates the Whisper log-mel plan.
 *
 * @param options - `nMels`: 128 for CosyVoice 2's speech tokenizer v2, 80 for Whisper v1–v2 models
 * @defaultValue nMels = 128
 * @returns the plan
 * @throws {Error} `ERR_INVALID_INPUT` when nMels is not a positive integer
 * @see whisper.audio.log_mel_spectrogram / s3tokenizer.log_mel_spectrogram
 */
export function createWhisperMelPlan(options: { readonly nMels?: number } = {}): WhisperMelPlan {
  const nMels = options.nMels ?? 128;
  const stft = createStftPlan({ nFft: WHISPER_N_FFT, hopLength: WHISPER_HOP_LENGTH });
  const filters = melFilterbank({ sampleRate: WHISPER_SAMPLE_RATE, nFft: WHISPER_N_FFT, nMels });
  return {
    nMels,
    stft,
    filters,
    numFrames(length: number): number {
      if (!Number.isSafeInteger(length) || length <= WHISPER_N_FFT / 2) {
        throw invalidInput(
          `Whisper log-mel needs more than ${WHISPER_N_FFT / 2} samples at 16 kHz (got ${String(length)}).`,
        );
      }
      return Math.floor(length / WHISPER_HOP_LENGTH);
    },
    ranges: rowRanges(filters, nMels, stft.numBins),
  };
}

/**
 * Whisper log-mel spectrogram `[nMels][T]` (row-major, the layout of the speech tokenizer's `feats` [1, 128, T]):
 * periodic Hann(400) STFT, hop 160, centred with reflect padding, power |X|², last frame dropped (T = ⌊N/160⌋),
 * Slaney mel, log10(max(·, 1e-10)), floor at (global max − 8), then (x + 4) / 4.
 *
 * @param audio - mono 16 kHz samples in [−1, 1]
 * @param plan - plan from {@link createWhisperMelPlan}
 * @param out - optional destination of nMels·T values
 * @returns the features (a new Float32Array unless `out` is given)
 * @throws {Error} `ERR_INVALID_INPUT` when the audio is too short (≤ 200 samples) or `out` too small
 * @see whisper.audio.log_mel_spectrogram(audio, n_mels=128) (spec §3.2)
 */
export function whisperLogMel(audio: ArrayLike<number>, plan: WhisperMelPlan, out?: Float32Array): Float32Array {
  const numFrames = plan.numFrames(audio.length);
  const { nMels, filters, ranges } = plan;
  const numBins = plan.stft.numBins;
  const size = nMels * numFrames;
  if (out !== undefined && out.length < size) {
    throw invalidInput(`whisperLogMel output needs ${size} values (got ${out.length}).`);
  }
  const logMel = new Float64Array(size);
  const power = new Float64Array(numBins);
  let max = -Infinity;
  forEachStftFrame(audio, plan.stft, (spectrum, t) => {
    if (t >= numFrames) return; // drop the last STFT frame
    for (let b = 0; b < numBins; b++) {
      const re = spectrum[2 * b] ?? 0;
      const im = spectrum[2 * b + 1] ?? 0;
      power[b] = re * re + im * im;
    }
    for (let m = 0; m < nMels; m++) {
      const row = m * numBins;
      let sum = 0;
      for (let b = ranges[2 * m] ?? 0, end = ranges[2 * m + 1] ?? 0; b < end; b++) {
        sum += (filters[row + b] ?? 0) * (power[b] ?? 0);
      }
      const value = Math.log10(Math.max(sum, 1e-10));
      logMel[m * numFrames + t] = value;
      if (value > max) max = value;
    }
  });
  const floor = max - 8;
  const result = out ?? new Float32Array(size);
  for (let i = 0; i < size; i++) result[i] = (Math.max(logMel[i] ?? 0, floor) + 4) / 4;
  return result;
}

// ---------------------------------------------------------------------------------------------------------------------
// Matcha prompt mel (spec §3.4)

/** Options of {@link createPromptMelPlan}; defaults are CosyVoice 2's `feat_extractor`. */
export interface PromptMelOptions {
  /** @defaultValue 24000 */
  readonly sampleRate?: number;
  /** @defaultValue 1920 */
  readonly nFft?: number;
  /** @defaultValue 480 */
  readonly hopLength?: number;
  /** @defaultValue 1920 */
  readonly winLength?: number;
  /** @defaultValue 80 */
  readonly nMels?: number;
  /** @defaultValue 0 */
  readonly fMin?: number;
  /** @defaultValue 8000 */
  readonly fMax?: number;
}

/** Precomputed prompt-mel state. Create with {@link createPromptMelPlan}. */
export interface PromptMelPlan {
  /** Sample rate the audio must have. */
  readonly sampleRate: number;
  /** Number of mel bins. */
  readonly nMels: number;
  /** Reflect padding on both sides, (nFft − hopLength) / 2 (720 by default). */
  readonly pad: number;
  /** STFT plan (center = false; the padding is applied separately). */
  readonly stft: StftPlan;
  /** Mel filterbank `[nMels][nFft/2 + 1]`. */
  readonly filters: Float64Array;
  /**
   * Number of mel frames for `length` samples: 1 + ⌊(length + 2·pad − nFft) / hop⌋ (= ⌊length/480⌋ by default).
   *
   * @throws {Error} `ERR_INVALID_INPUT` when the audio is too short for the reflect padding or one frame
   */
  numFrames(length: number): number;
  /** @internal */
  readonly ranges: Int32Array;
}

/**
 * Creates the prompt-mel plan (Matcha-TTS `mel_spectrogram` with CosyVoice 2's settings by default).
 *
 * @param options - overrides of the CosyVoice 2 defaults
 * @returns the plan
 * @throws {Error} `ERR_INVALID_INPUT` for invalid sizes
 * @see matcha.utils.audio.mel_spectrogram
 */
export function createPromptMelPlan(options: PromptMelOptions = {}): PromptMelPlan {
  const sampleRate = options.sampleRate ?? 24000;
  const nFft = options.nFft ?? 1920;
  const hopLength = options.hopLength ?? 480;
  const winLength = options.winLength ?? 1920;
  const nMels = options.nMels ?? 80;
  const stft = createStftPlan({ nFft, hopLength, winLength, center: false });
  const filters = melFilterbank({
    sampleRate,
    nFft,
    nMels,
    fMin: options.fMin ?? 0,
    fMax: options.fMax ?? 8000,
  });
  const pad = Math.trunc((nFft - hopLength) / 2);
  return {
    sampleRate,
    nMels,
    pad,
    stft,
    filters,
    numFrames(length: number): number {
      if (!Number.isSafeInteger(length) || length <= pad || length + 2 * pad < nFft) {
        throw invalidInput(
          `prompt mel needs more than ${Math.max(pad, nFft - 2 * pad - 1)} samples at ${sampleRate} Hz ` +
            `(got ${String(length)}).`,
        );
      }
      return 1 + Math.floor((length + 2 * pad - nFft) / hopLength);
    },
    ranges: rowRanges(filters, nMels, stft.numBins),
  };
}

/**
 * Prompt mel `[T][nMels]` (row-major, the flow's `prompt_feat` [1, T, 80] layout): reflect-pad 720, STFT with
 * periodic Hann(1920), hop 480, no centring, magnitude √(re² + im² + 1e-9), Slaney mel (fMax 8000),
 * ln(max(·, 1e-5)). T = ⌊N/480⌋.
 *
 * @param audio - mono 24 kHz samples in [−1, 1]
 * @param plan - plan from {@link createPromptMelPlan}
 * @param out - optional destination of T·nMels values
 * @returns the features (a new Float32Array unless `out` is given)
 * @throws {Error} `ERR_INVALID_INPUT` when the audio is too short or `out` too small
 * @see matcha.utils.audio.mel_spectrogram(y, 1920, 80, 24000, 480, 1920, 0, 8000, center=False) (spec §3.4)
 */
export function promptMel(audio: ArrayLike<number>, plan: PromptMelPlan, out?: Float32Array): Float32Array {
  const numFrames = plan.numFrames(audio.length);
  const { nMels, filters, ranges } = plan;
  const numBins = plan.stft.numBins;
  const size = nMels * numFrames;
  if (out !== undefined && out.length < size) {
    throw invalidInput(`promptMel output needs ${size} values (got ${out.length}).`);
  }
  const result = out ?? new Float32Array(size);
  const magnitude = new Float64Array(numBins);
  const padded = padSignal(audio, plan.pad, 'reflect');
  forEachStftFrame(padded, plan.stft, (spectrum, t) => {
    for (let b = 0; b < numBins; b++) {
      const re = spectrum[2 * b] ?? 0;
      const im = spectrum[2 * b + 1] ?? 0;
      magnitude[b] = Math.sqrt(re * re + im * im + 1e-9);
    }
    for (let m = 0; m < nMels; m++) {
      const row = m * numBins;
      let sum = 0;
      for (let b = ranges[2 * m] ?? 0, end = ranges[2 * m + 1] ?? 0; b < end; b++) {
        sum += (filters[row + b] ?? 0) * (magnitude[b] ?? 0);
      }
      result[t * nMels + m] = Math.log(Math.max(sum, 1e-5));
    }
  });
  return result;
}

// ---------------------------------------------------------------------------------------------------------------------
// Prompt mel ↔ token alignment (spec §3.5)

/** Mel frames per speech token in CosyVoice 2 (50 Hz mel, 25 Hz tokens). */
export const TOKEN_MEL_RATIO = 2;

/** A typed array that can be cut without copying (any of Int32Array, BigInt64Array, Float32Array, …). */
export interface Sliceable<T> {
  readonly length: number;
  subarray(begin?: number, end?: number): T;
}

/**
 * Truncates a prompt mel and its speech tokens so that mel frames = 2 × tokens:
 * L = min(⌊T_mel / 2⌋, numTokens); keep the first 2L frames and the first L tokens (views, no copy).
 *
 * @param mel - prompt mel `[T][nMels]` from {@link promptMel}
 * @param nMels - bins per frame (80)
 * @param tokens - prompt speech tokens
 * @returns the aligned views and L
 * @throws {Error} `ERR_INVALID_INPUT` when `mel.length` is not a multiple of nMels
 * @see cosyvoice/cli/frontend.py frontend_zero_shot (resample_rate == 24000 branch)
 */
export function alignPromptMelToTokens<M extends Sliceable<M>, K extends Sliceable<K>>(
  mel: M,
  nMels: number,
  tokens: K,
): { readonly mel: M; readonly tokens: K; readonly numTokens: number } {
  if (!Number.isSafeInteger(nMels) || nMels < 1 || mel.length % nMels !== 0) {
    throw invalidInput(`prompt mel length ${mel.length} is not a multiple of nMels ${nMels}.`);
  }
  const melFrames = mel.length / nMels;
  const numTokens = Math.min(Math.floor(melFrames / TOKEN_MEL_RATIO), tokens.length);
  return {
    mel: mel.subarray(0, TOKEN_MEL_RATIO * numTokens * nMels),
    tokens: tokens.subarray(0, numTokens),
    numTokens,
  };
}
