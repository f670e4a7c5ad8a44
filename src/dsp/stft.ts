/**
 * Short-time Fourier transform with torch.stft semantics.
 *
 * @module
 */

import { invalidInput } from './errors.ts';
import { createRfftPlan, rfft, type RfftPlan } from './fft.ts';
import { hannWindow } from './window.ts';

const PAD_MODES = ['reflect', 'constant'] as const;

/** Padding applied to both ends of the signal when `center` is true. */
export type PadMode = (typeof PAD_MODES)[number];

/** Parameters of an STFT / iSTFT plan, named after `torch.stft`. */
export interface StftOptions {
  /** FFT size. */
  readonly nFft: number;
  /**
   * Distance between frame starts in samples.
   * @defaultValue ⌊nFft / 4⌋
   */
  readonly hopLength?: number;
  /**
   * Window length (≤ nFft); the window is zero-padded on both sides to nFft, centred as torch does.
   * @defaultValue nFft
   */
  readonly winLength?: number;
  /**
   * Window of length `winLength`.
   * @defaultValue periodic Hann(winLength) ({@link hannWindow})
   */
  readonly window?: ArrayLike<number>;
  /**
   * Pad ⌊nFft/2⌋ samples at both ends so that frame t is centred on sample t·hopLength.
   * @defaultValue true
   */
  readonly center?: boolean;
  /**
   * How `center` pads.
   * @defaultValue 'reflect'
   */
  readonly padMode?: PadMode;
}

/** Precomputed STFT state: window, FFT plan and frame arithmetic. Create with {@link createStftPlan}. */
export interface StftPlan {
  /** FFT size. */
  readonly nFft: number;
  /** Hop between frames in samples. */
  readonly hopLength: number;
  /** Length of the (unpadded) window. */
  readonly winLength: number;
  /** Whether the signal is padded by ⌊nFft/2⌋ at both ends. */
  readonly center: boolean;
  /** Padding mode used when `center` is true. */
  readonly padMode: PadMode;
  /** Number of one-sided frequency bins, ⌊nFft/2⌋ + 1. */
  readonly numBins: number;
  /** The analysis/synthesis window zero-padded to nFft (float64). */
  readonly window: Float64Array;
  /**
   * Number of STFT frames for a signal of `length` samples: 1 + ⌊(length + 2·pad − nFft) / hopLength⌋, where
   * pad = ⌊nFft/2⌋ if `center` else 0.
   *
   * @throws {Error} `ERR_INVALID_INPUT` when the (padded) signal is shorter than one frame
   */
  numFrames(length: number): number;
  /** @internal */
  readonly rfftPlan: RfftPlan;
  /** @internal scratch frame (nFft) */
  readonly frame: Float64Array;
  /** @internal scratch spectrum (2·numBins) */
  readonly spectrum: Float64Array;
}

function positiveInteger(value: number, name: string): number {
  if (!Number.isSafeInteger(value) || value < 1) {
    throw invalidInput(`${name} must be a positive integer (got ${String(value)}).`);
  }
  return value;
}

/**
 * Creates an STFT plan (also used by `istft` and `IstftStream`).
 *
 * @param options - nFft, hopLength, winLength, window, center, padMode
 * @returns the plan
 * @throws {Error} `ERR_INVALID_INPUT` for non-integer sizes, winLength > nFft or a window of the wrong length
 * @example
 * ```ts
 * // HiFT's source STFT (spec §6.3)
 * const plan = createStftPlan({ nFft: 16, hopLength: 4 });
 * const sStft = stft(source, plan); // [18, 120T+1] planar: real bins 0..8 then imaginary bins 0..8
 * ```
 * @see torch.stft
 */
export function createStftPlan(options: StftOptions): StftPlan {
  const nFft = positiveInteger(options.nFft, 'nFft');
  const hopLength = positiveInteger(options.hopLength ?? Math.floor(nFft / 4), 'hopLength');
  const winLength = positiveInteger(options.winLength ?? nFft, 'winLength');
  if (winLength > nFft) throw invalidInput(`winLength must be ≤ nFft (got winLength ${winLength}, nFft ${nFft}).`);
  const center = options.center ?? true;
  const padMode = options.padMode ?? 'reflect';
  if (!(PAD_MODES as readonly string[]).includes(padMode)) {
    throw invalidInput(`padMode must be 'reflect' or 'constant' (got ${JSON.stringify(padMode)}).`);
  }
  const win = options.window ?? hannWindow(winLength);
  if (win.length !== winLength) {
    throw invalidInput(`window length must equal winLength ${winLength} (got ${win.length}).`);
  }
  const window = new Float64Array(nFft);
  const left = Math.floor((nFft - winLength) / 2);
  for (let i = 0; i < winLength; i++) window[left + i] = win[i] ?? 0;
  const numBins = Math.floor(nFft / 2) + 1;
  const pad = center ? Math.floor(nFft / 2) : 0;
  return {
    nFft,
    hopLength,
    winLength,
    center,
    padMode,
    numBins,
    window,
    numFrames(length: number): number {
      const padded = length + 2 * pad;
      if (!Number.isSafeInteger(length) || length < 0 || padded < nFft) {
        throw invalidInput(
          `signal of ${String(length)} samples is too short for an STFT with nFft ${nFft}` +
            (center ? ' (center padding included)' : '') +
            `; need at least ${nFft - 2 * pad} samples.`,
        );
      }
      return 1 + Math.floor((padded - nFft) / hopLength);
    },
    rfftPlan: createRfftPlan(nFft),
    frame: new Float64Array(nFft),
    spectrum: new Float64Array(2 * numBins),
  };
}

/**
 * Returns `input` padded with `pad` samples at both ends (reflect without repeating the edge, or zeros), as float64.
 *
 * @param input - the signal
 * @param pad - samples to add on each side
 * @param mode - 'reflect' (needs pad < input length) or 'constant' (zeros)
 * @returns a new Float64Array of length input.length + 2·pad
 * @throws {Error} `ERR_INVALID_INPUT` when reflect padding is not possible
 * @see torch.nn.functional.pad(mode='reflect')
 */
export function padSignal(input: ArrayLike<number>, pad: number, mode: PadMode): Float64Array {
  const n = input.length;
  if (mode === 'reflect' && pad >= n && pad > 0) {
    throw invalidInput(`reflect padding of ${pad} samples needs a signal longer than ${pad} samples (got ${n}).`);
  }
  const out = new Float64Array(n + 2 * pad);
  for (let i = 0; i < n; i++) out[pad + i] = input[i] ?? 0;
  if (mode === 'reflect') {
    for (let i = 1; i <= pad; i++) {
      out[pad - i] = input[i] ?? 0;
      out[pad + n - 1 + i] = input[n - 1 - i] ?? 0;
    }
  }
  return out;
}

/**
 * Calls `onFrame` with the one-sided spectrum of every STFT frame, in order. The spectrum array is reused between
 * calls (interleaved complex, 2·numBins values): copy what you keep.
 *
 * This is the building block of the mel features; prefer {@link stft} for a full complex spectrogram.
 *
 * @param input - the signal
 * @param plan - plan from {@link createStftPlan}
 * @param onFrame - receives (spectrum, frameIndex)
 * @returns the number of frames
 * @throws {Error} `ERR_INVALID_INPUT` when the signal is too short
 */
export function forEachStftFrame(
  input: ArrayLike<number>,
  plan: StftPlan,
  onFrame: (spectrum: Float64Array, frameIndex: number) => void,
): number {
  const numFrames = plan.numFrames(input.length);
  const signal = plan.center ? padSignal(input, Math.floor(plan.nFft / 2), plan.padMode) : input;
  const { nFft, hopLength, window, frame, spectrum, rfftPlan } = plan;
  for (let t = 0; t < numFrames; t++) {
    const start = t * hopLength;
    for (let i = 0; i < nFft; i++) frame[i] = (signal[start + i] ?? 0) * (window[i] ?? 0);
    rfft(frame, rfftPlan, spectrum);
    onFrame(spectrum, t);
  }
  return numFrames;
}

/**
 * Complex STFT in a **planar** layout `[2][numBins][numFrames]`: all real parts (bin-major), then all imaginary parts.
 * For HiFT's source (nFft 16) this is exactly `s_stft` [18, 120T+1] = concat(real, imag) of spec §6.2 step 5.
 * No normalisation; one-sided.
 *
 * @param input - the signal (any numeric array; computed in float64)
 * @param plan - plan from {@link createStftPlan}
 * @param out - optional destination of length 2·numBins·numFrames (`plan.numFrames(input.length)`)
 * @returns the planar spectrogram (a new Float32Array unless `out` is given)
 * @throws {Error} `ERR_INVALID_INPUT` when the signal is too short or `out` too small
 * @see torch.stft(…, return_complex=True) followed by torch.cat([spec.real, spec.imag], dim=0)
 */
export function stft(input: ArrayLike<number>, plan: StftPlan): Float32Array;
export function stft<T extends Float32Array | Float64Array>(input: ArrayLike<number>, plan: StftPlan, out: T): T;
export function stft(
  input: ArrayLike<number>,
  plan: StftPlan,
  out?: Float32Array | Float64Array,
): Float32Array | Float64Array {
  const numFrames = plan.numFrames(input.length);
  const numBins = plan.numBins;
  const size = 2 * numBins * numFrames;
  const result = out ?? new Float32Array(size);
  if (result.length < size) throw invalidInput(`stft output needs ${size} values (got ${result.length}).`);
  const imagOffset = numBins * numFrames;
  forEachStftFrame(input, plan, (spectrum, t) => {
    for (let b = 0; b < numBins; b++) {
      result[b * numFrames + t] = spectrum[2 * b] ?? 0;
      result[imagOffset + b * numFrames + t] = spectrum[2 * b + 1] ?? 0;
    }
  });
  return result;
}
