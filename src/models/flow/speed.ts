/**
 * Offline speed change of a mel spectrogram (spec §1.3): linear resampling along time to ⌊T / speed⌋ frames, exactly
 * as upstream's `F.interpolate(mel, size=int(T / speed), mode='linear')` (align_corners = false). Pure; runs before
 * the vocoder, never in streaming mode (upstream asserts `speed == 1` once a HiFT cache exists).
 *
 * @module
 */

import { invalidInput } from '../../errors.ts';
import type { Mel } from './flow-matcher.ts';

/**
 * Number of frames after a speed change: `int(T / speed)` (Python truncation of the float64 quotient).
 *
 * @param frames - input frames T
 * @param speed - speed factor (> 1 is faster, i.e. fewer frames)
 * @returns ⌊T / speed⌋
 * @throws {TTSError} ERR_INVALID_INPUT when `speed` is not a positive finite number
 */
export function speedFrames(frames: number, speed: number): number {
  if (!Number.isFinite(speed) || speed <= 0) {
    throw invalidInput(`speed must be a positive finite number (got ${String(speed)}).`, { speed });
  }
  return Math.trunc(frames / speed);
}

/**
 * Resamples a mel spectrogram in time for a speed change.
 *
 * Follows torch's CPU `upsample_linear1d` for float32 in float32 arithmetic: scale = T_in / T_out,
 * source index = max(fma(scale, j + 0.5, −0.5), 0), left neighbour ⌊src⌋, right neighbour clamped to the last frame,
 * out = fma(x[i0], 1 − λ, x[i1]·λ) (bit-equal to torch on the test data). `speed === 1` returns the input unchanged.
 *
 * @param mel - channel-major `[bins][frames]` mel
 * @param speed - speed factor; the output has {@link speedFrames}(T, speed) frames
 * @returns the resampled mel (a new array unless speed is 1)
 * @throws {TTSError} ERR_INVALID_INPUT for a non-positive speed, or when the result would have no frame
 * @see torch.nn.functional.interpolate(mode='linear', align_corners=False) and cosyvoice/cli/model.py token2wav
 */
export function changeSpeed(mel: Mel, speed: number): Mel {
  const outFrames = speedFrames(mel.frames, speed);
  if (speed === 1) return mel;
  if (outFrames < 1) {
    throw invalidInput(`speed ${speed} leaves no mel frame out of ${mel.frames}; use a smaller speed.`, {
      speed,
      frames: mel.frames,
    });
  }
  const f = Math.fround;
  const inFrames = mel.frames;
  const scale = f(inFrames / outFrames);
  const index0 = new Int32Array(outFrames);
  const index1 = new Int32Array(outFrames);
  const lambda0 = new Float32Array(outFrames);
  const lambda1 = new Float32Array(outFrames);
  for (let j = 0; j < outFrames; j++) {
    // fused multiply-add as torch's compiled kernel: scale·(j + 0.5) is exact in float64, one rounding after − 0.5
    const src = Math.max(f(scale * (j + 0.5) - 0.5), 0);
    const i0 = Math.floor(src);
    const l1 = Math.min(Math.max(f(src - i0), 0), 1);
    index0[j] = i0;
    index1[j] = i0 < inFrames - 1 ? i0 + 1 : i0;
    lambda1[j] = l1;
    lambda0[j] = f(1 - l1);
  }
  const data = new Float32Array(mel.bins * outFrames);
  for (let b = 0; b < mel.bins; b++) {
    const row = b * inFrames;
    for (let j = 0; j < outFrames; j++) {
      const a = mel.data[row + (index0[j] ?? 0)] ?? 0;
      const c = mel.data[row + (index1[j] ?? 0)] ?? 0;
      // torch's kernel evaluates fma(x0, λ0, x1·λ1); a float32 product is exact in float64, so this is one rounding
      data[b * outFrames + j] = f(a * (lambda0[j] ?? 0) + f(c * (lambda1[j] ?? 0)));
    }
  }
  return { bins: mel.bins, frames: outFrames, data };
}
