/**
 * Inverse STFT with torch.istft semantics (overlap-add, division by the window-square envelope, centre trimming),
 * one-shot and streaming.
 *
 * For HiFT (nFft 16, hop 4, periodic Hann, center): 120T+1 frames give 480T samples; the interior envelope Σw² is 1.5
 * and the first kept samples see 1.25, 1.4047, 1.4786, 1.4986 (spec §6.3).
 *
 * @module
 */

import { invalidInput } from './errors.ts';
import { irfft } from './fft.ts';
import type { StftPlan } from './stft.ts';

/** torch.istft rejects windows whose squared overlap-add falls below this ("NOLA" check). */
const NOLA_EPSILON = 1e-11;

function framesIn(spec: ArrayLike<number>, plan: StftPlan): number {
  const perFrame = 2 * plan.numBins;
  const numFrames = spec.length / perFrame;
  if (!Number.isInteger(numFrames)) {
    throw invalidInput(
      `spectrogram length ${spec.length} is not a multiple of 2·numBins = ${perFrame} (planar [2][numBins][numFrames]).`,
    );
  }
  return numFrames;
}

/**
 * Streaming inverse STFT: push spectrogram frames as they arrive, receive the samples that no later frame can change.
 * The concatenation of all `push` results and `flush()` equals {@link istft} of all frames, bit for bit.
 *
 * Not for the audio thread: `push` allocates its result.
 *
 * @example
 * ```ts
 * const plan = createStftPlan({ nFft: 16, hopLength: 4 });
 * const stream = new IstftStream(plan);
 * for (const chunk of chunks) play(stream.push(chunk)); // chunk: planar [2][9][framesInChunk]
 * play(stream.flush());
 * ```
 * @see torch.istft
 */
export class IstftStream {
  /** The plan this stream was created with. */
  readonly plan: StftPlan;
  readonly #trim: number;
  #ola = new Float64Array(0);
  #env = new Float64Array(0);
  /** Padded-signal index of `#ola[0]`. */
  #base = 0;
  /** Padded-signal index of the next sample to emit. */
  #emitted: number;
  #frames = 0;
  readonly #frame: Float64Array;
  readonly #spectrum: Float64Array;
  readonly #windowSquare: Float64Array;

  /**
   * @param plan - plan from `createStftPlan` (its window, hop, nFft and `center` flag are used)
   */
  constructor(plan: StftPlan) {
    this.plan = plan;
    this.#trim = plan.center ? Math.floor(plan.nFft / 2) : 0;
    this.#emitted = this.#trim;
    this.#frame = new Float64Array(plan.nFft);
    this.#spectrum = new Float64Array(2 * plan.numBins);
    this.#windowSquare = plan.window.map((w) => w * w);
  }

  /** Number of frames pushed since construction or the last `flush`/`reset`. */
  get framesPushed(): number {
    return this.#frames;
  }

  /** Forgets all pushed frames. */
  reset(): void {
    this.#ola = new Float64Array(0);
    this.#env = new Float64Array(0);
    this.#base = 0;
    this.#emitted = this.#trim;
    this.#frames = 0;
  }

  /**
   * Adds frames and returns the samples that are now final.
   *
   * @param spec - planar spectrogram of k frames, `[2][numBins][k]` (real parts, then imaginary parts)
   * @returns the newly completed output samples (possibly empty)
   * @throws {Error} `ERR_INVALID_INPUT` when `spec` is not a whole number of frames, or when the window envelope
   *   vanishes (window fails the NOLA condition)
   */
  push(spec: ArrayLike<number>): Float32Array {
    const count = framesIn(spec, this.plan);
    if (count === 0) return new Float32Array(0);
    const { nFft, hopLength, numBins, window, rfftPlan } = this.plan;
    const first = this.#frames;
    const end = hopLength * (first + count - 1) + nFft;
    this.#ensure(end);
    const frame = this.#frame;
    const spectrum = this.#spectrum;
    const imag = numBins * count;
    for (let f = 0; f < count; f++) {
      for (let b = 0; b < numBins; b++) {
        spectrum[2 * b] = spec[b * count + f] ?? 0;
        spectrum[2 * b + 1] = spec[imag + b * count + f] ?? 0;
      }
      irfft(spectrum, rfftPlan, frame);
      const offset = hopLength * (first + f) - this.#base;
      for (let i = 0; i < nFft; i++) {
        this.#ola[offset + i] = (this.#ola[offset + i] ?? 0) + (frame[i] ?? 0) * (window[i] ?? 0);
        this.#env[offset + i] = (this.#env[offset + i] ?? 0) + (this.#windowSquare[i] ?? 0);
      }
    }
    this.#frames += count;
    // Samples before hop·frames are final; never emit past the earliest possible end (if this were the last frame).
    const bound = Math.min(hopLength * this.#frames, hopLength * (this.#frames - 1) + nFft - this.#trim);
    return this.#emit(bound);
  }

  /**
   * Ends the signal: returns the remaining samples (including the trailing partial overlap, divided by its smaller
   * envelope) and resets the stream.
   *
   * @returns the last output samples (empty if no frame was pushed)
   */
  flush(): Float32Array {
    if (this.#frames === 0) {
      this.reset();
      return new Float32Array(0);
    }
    const { nFft, hopLength } = this.plan;
    const out = this.#emit(hopLength * (this.#frames - 1) + nFft - this.#trim);
    this.reset();
    return out;
  }

  #ensure(end: number): void {
    const need = end - this.#base;
    if (need <= this.#ola.length) return;
    const capacity = Math.max(need, 2 * this.#ola.length, 64);
    const ola = new Float64Array(capacity);
    const env = new Float64Array(capacity);
    ola.set(this.#ola);
    env.set(this.#env);
    this.#ola = ola;
    this.#env = env;
  }

  #emit(bound: number): Float32Array {
    const start = this.#emitted;
    if (bound <= start) return new Float32Array(0);
    const out = new Float32Array(bound - start);
    for (let i = start; i < bound; i++) {
      const j = i - this.#base;
      const env = this.#env[j] ?? 0;
      if (Math.abs(env) < NOLA_EPSILON) {
        throw invalidInput(
          `window overlap-add is ${env} at output sample ${i - this.#trim}; the window/hop pair must satisfy NOLA ` +
            `(Σ w²[n − t·hop] > ${NOLA_EPSILON} everywhere).`,
        );
      }
      out[i - start] = (this.#ola[j] ?? 0) / env;
    }
    this.#emitted = bound;
    // Drop what is no longer needed: everything before the next sample to emit.
    const drop = bound - this.#base;
    this.#ola.copyWithin(0, drop);
    this.#env.copyWithin(0, drop);
    this.#ola.fill(0, this.#ola.length - drop);
    this.#env.fill(0, this.#env.length - drop);
    this.#base = bound;
    return out;
  }
}

/**
 * Inverse STFT: per frame irfft (imaginary parts of DC/Nyquist ignored) × window, overlap-add at hopLength, divide by
 * the overlap-added squared window, drop ⌊nFft/2⌋ samples at both ends when `center`.
 * Output length: hopLength·(numFrames − 1) + nFft − 2·⌊nFft/2⌋ (center) or hopLength·(numFrames − 1) + nFft.
 *
 * @param spec - planar spectrogram `[2][numBins][numFrames]` (real parts, then imaginary parts), e.g. from {@link stft}
 * @param plan - plan from `createStftPlan`
 * @param out - optional destination of exactly the output length (or longer; the rest is untouched)
 * @returns the signal (a new Float32Array unless `out` is given)
 * @throws {Error} `ERR_INVALID_INPUT` for a malformed spectrogram, a too-small `out`, or a window failing NOLA
 * @see torch.istft(n_fft, hop_length, win_length, window, center=True, length=None)
 */
export function istft(spec: ArrayLike<number>, plan: StftPlan, out?: Float32Array): Float32Array {
  const numFrames = framesIn(spec, plan);
  if (numFrames === 0) throw invalidInput('istft needs at least one frame (got 0).');
  const trim = plan.center ? Math.floor(plan.nFft / 2) : 0;
  const length = plan.hopLength * (numFrames - 1) + plan.nFft - 2 * trim;
  if (length <= 0) {
    throw invalidInput(`${numFrames} frame(s) give no output samples after trimming ${trim} samples at each end.`);
  }
  if (out !== undefined && out.length < length) {
    throw invalidInput(`istft output needs ${length} values (got ${out.length}).`);
  }
  const stream = new IstftStream(plan);
  const head = stream.push(spec);
  const tail = stream.flush();
  const result = out ?? new Float32Array(length);
  result.set(head, 0);
  result.set(tail, head.length);
  return result;
}
