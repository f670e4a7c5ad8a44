/**
 * Streaming HiFT cross-fade of CosyVoice 2 (spec §6.4): every non-final vocoder chunk withholds its last 3840 samples
 * (8 mel frames), and the next chunk's first 3840 samples — synthesised again from the same 8 cached mel frames,
 * now with right context — are blended with them through a symmetric Hamming(7680) window.
 *
 * @module
 */

import { invalidInput } from './errors.ts';
import { hammingWindow } from './window.ts';

/** Mel frames carried from one vocoder chunk to the next (`mel_cache_len`). */
export const HIFT_MEL_CACHE_LEN = 8;
/** Samples carried and cross-faded between vocoder chunks (`source_cache_len` = 8 · 480). */
export const HIFT_SOURCE_CACHE_LEN = 3840;

/** Options of {@link HiftCrossfade}. */
export interface HiftCrossfadeOptions {
  /**
   * Overlap in samples; the window is `hammingWindow(2 · overlap)` (symmetric, as `np.hamming`).
   * @defaultValue 3840
   */
  readonly overlap?: number;
}

/**
 * The state machine of `CosyVoice2Model.token2wav`'s audio cache. Feed each HiFT output chunk (synthesised from the
 * cached 8 mel frames ⊕ the new frames) to {@link HiftCrossfade.push}; it returns the samples to play.
 *
 * - Non-final chunk: if a previous tail exists, speech[:overlap] = speech[:overlap]·w[:overlap] +
 *   tail·w[overlap:]; the new tail is (faded) speech[−overlap:], and speech[:−overlap] is emitted.
 * - Final chunk: the same fade, then everything is emitted and the state resets.
 *
 * The fade is computed in float64 and rounded to float32 once, like upstream (float32 tensor × float64 numpy window).
 *
 * @example
 * ```ts
 * const fade = new HiftCrossfade();
 * for (const [speech, isLast] of vocoderChunks) player.write(fade.push(speech, isLast));
 * ```
 * @see cosyvoice/cli/model.py CosyVoice2Model.token2wav and cosyvoice/utils/common.py fade_in_out
 */
export class HiftCrossfade {
  /** Overlap length in samples. */
  readonly overlap: number;
  /** The symmetric Hamming window of 2·overlap samples. */
  readonly window: Float64Array;
  #tail: Float32Array | undefined;

  /**
   * @param options - overlap (default 3840)
   * @throws {Error} `ERR_INVALID_INPUT` when the overlap is not a positive integer
   */
  constructor(options: HiftCrossfadeOptions = {}) {
    const overlap = options.overlap ?? HIFT_SOURCE_CACHE_LEN;
    if (!Number.isSafeInteger(overlap) || overlap < 1) {
      throw invalidInput(`overlap must be a positive integer number of samples (got ${String(overlap)}).`);
    }
    this.overlap = overlap;
    this.window = hammingWindow(2 * overlap);
  }

  /** Whether a withheld tail is waiting to be faded into the next chunk. */
  get hasTail(): boolean {
    return this.#tail !== undefined;
  }

  /** Drops the withheld tail (start of a new utterance). */
  reset(): void {
    this.#tail = undefined;
  }

  /**
   * Cross-fades one vocoder chunk with the withheld tail and returns the samples that are final.
   *
   * @param speech - HiFT output for (cached mel ⊕ new mel); not modified
   * @param isFinal - last chunk of the utterance: emit everything and reset
   * @defaultValue isFinal = false
   * @returns samples to play: speech.length − overlap samples for a non-final chunk, speech.length for the final one
   * @throws {Error} `ERR_INVALID_INPUT` when a chunk that must be faded or withheld is shorter than the overlap
   */
  push(speech: Float32Array, isFinal = false): Float32Array {
    const n = this.overlap;
    const tail = this.#tail;
    if ((tail !== undefined || !isFinal) && speech.length < n) {
      throw invalidInput(
        `vocoder chunk of ${speech.length} samples is shorter than the ${n}-sample cross-fade overlap; ` +
          `every chunk that is faded or withheld must have at least ${n} samples.`,
      );
    }
    const faded = Float32Array.from(speech);
    if (tail !== undefined) {
      const w = this.window;
      for (let i = 0; i < n; i++) faded[i] = (speech[i] ?? 0) * (w[i] ?? 0) + (tail[i] ?? 0) * (w[n + i] ?? 0);
    }
    if (isFinal) {
      this.#tail = undefined;
      return faded;
    }
    this.#tail = faded.slice(faded.length - n);
    return faded.subarray(0, faded.length - n);
  }
}
