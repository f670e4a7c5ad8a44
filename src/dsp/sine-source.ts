/**
 * HiFT's neural-source-filter excitation: SineGen2 (spec §6.2 step 3) in float64, and the source module's
 * Linear(9→1) + tanh merge.
 *
 * The random parts of the upstream module are made explicit: the initial-phase noise has no effect (the down-sampling
 * never reads sample 0, see spec §6.2) and is omitted; the Gaussian noise is an input (pass zeros for a deterministic
 * excitation).
 *
 * @module
 */

import { invalidInput } from './errors.ts';

/** SineGen2 / SourceModuleHnNSF settings; defaults are CosyVoice 2's `hift:` yaml (spec §6.1). */
export interface SineGenOptions {
  /** Output sample rate. @defaultValue 24000 */
  readonly samplingRate?: number;
  /** Samples per F0 frame (8·5·3·4). @defaultValue 480 */
  readonly upsampleScale?: number;
  /** Harmonics above the fundamental; the output has harmonicNum + 1 channels. @defaultValue 8 */
  readonly harmonicNum?: number;
  /** Sine amplitude (`nsf_alpha`). @defaultValue 0.1 */
  readonly sineAmp?: number;
  /** Noise standard deviation in voiced samples (`nsf_sigma`). @defaultValue 0.003 */
  readonly noiseStd?: number;
  /** F0 above this (Hz) counts as voiced (`nsf_voiced_threshold`). @defaultValue 10 */
  readonly voicedThreshold?: number;
}

/** Python-style modulo by 1 (result in [0, 1) also for negative input), as torch's `%`. */
function mod1(x: number): number {
  const r = x % 1;
  return r < 0 ? r + 1 : r;
}

/**
 * SineGen2 excitation `[L][harmonicNum + 1]` (sample-major, L = T·upsampleScale), computed in float64:
 *
 * 1. f0 is repeated ×upsampleScale (nearest); harmonic h (1..9) has rad = (f0·h / samplingRate) mod 1;
 * 2. rad is linearly down-sampled to frame rate (which returns frame j's value), phase = 2π·cumsum over frames;
 * 3. phase·upsampleScale is linearly up-sampled back (align_corners = false, source (n + 0.5)/480 − 0.5 clamped at 0);
 * 4. sines = sineAmp·sin(phase); uv = f0 > voicedThreshold;
 *    excitation = sines·uv + noise·(uv·noiseStd + (1 − uv)·sineAmp/3).
 *
 * @param f0 - F0 in Hz per mel frame, length T (the f0 predictor's output)
 * @param noise - standard-normal noise `[L][harmonicNum + 1]` (upstream: `torch.randn_like`), or `undefined` for
 *   none (a deterministic excitation)
 * @param options - see {@link SineGenOptions}
 * @param out - optional destination of L·(harmonicNum + 1) values (Float32Array for the ONNX graph, Float64Array
 *   for full precision)
 * @returns the excitation (a new Float32Array unless `out` is given)
 * @throws {Error} `ERR_INVALID_INPUT` when `noise` or `out` have the wrong length, or T = 0
 * @see cosyvoice/hifigan/generator.py SineGen2.forward / SineGen2._f02sine
 */
export function sineGen2(f0: ArrayLike<number>, noise?: ArrayLike<number>, options?: SineGenOptions): Float32Array;
export function sineGen2<T extends Float32Array | Float64Array>(
  f0: ArrayLike<number>,
  noise: ArrayLike<number> | undefined,
  options: SineGenOptions | undefined,
  out: T,
): T;
export function sineGen2(
  f0: ArrayLike<number>,
  noise?: ArrayLike<number>,
  options: SineGenOptions = {},
  out?: Float32Array | Float64Array,
): Float32Array | Float64Array {
  const samplingRate = options.samplingRate ?? 24000;
  const scale = options.upsampleScale ?? 480;
  const dim = (options.harmonicNum ?? 8) + 1;
  const sineAmp = options.sineAmp ?? 0.1;
  const noiseStd = options.noiseStd ?? 0.003;
  const threshold = options.voicedThreshold ?? 10;
  const numFrames = f0.length;
  if (numFrames === 0) throw invalidInput('sineGen2 needs at least one F0 frame (got 0).');
  if (!Number.isSafeInteger(scale) || scale < 1 || !Number.isSafeInteger(dim) || dim < 1) {
    throw invalidInput(`upsampleScale and harmonicNum must be positive integers (got ${scale}, ${dim - 1}).`);
  }
  const length = numFrames * scale;
  const size = length * dim;
  if (noise !== undefined && noise.length !== size) {
    throw invalidInput(
      `noise must hold T·${scale}·${dim} = ${size} values ([${length}][${dim}], sample-major); got ${noise.length}.`,
    );
  }
  if (out !== undefined && out.length < size)
    throw invalidInput(`sineGen2 output needs ${size} values (got ${out.length}).`);
  const result = out ?? new Float32Array(size);

  // Frame-rate phase: ((cumsum(rad)·2)·π)·scale, in torch's operation order.
  const phase = new Float64Array(numFrames * dim);
  const cumsum = new Float64Array(dim);
  for (let j = 0; j < numFrames; j++) {
    const f = f0[j] ?? 0;
    for (let h = 0; h < dim; h++) {
      cumsum[h] = (cumsum[h] ?? 0) + mod1((f * (h + 1)) / samplingRate);
      phase[j * dim + h] = (cumsum[h] ?? 0) * 2 * Math.PI * scale;
    }
  }

  // Linear up-sampling ×scale, align_corners = false: src = max((n + 0.5)/scale − 0.5, 0).
  const ratio = 1 / scale;
  for (let n = 0; n < length; n++) {
    const src = Math.max(ratio * (n + 0.5) - 0.5, 0);
    const i0 = Math.floor(src);
    const i1 = i0 < numFrames - 1 ? i0 + 1 : i0;
    const lambda1 = src - i0;
    const lambda0 = 1 - lambda1;
    const voiced = (f0[Math.floor(n / scale)] ?? 0) > threshold;
    const noiseAmp = voiced ? noiseStd : sineAmp / 3;
    const row = n * dim;
    for (let h = 0; h < dim; h++) {
      const p = lambda0 * (phase[i0 * dim + h] ?? 0) + lambda1 * (phase[i1 * dim + h] ?? 0);
      const sine = voiced ? Math.sin(p) * sineAmp : 0;
      result[row + h] = noise === undefined ? sine : sine + noiseAmp * (noise[row + h] ?? 0);
    }
  }
  return result;
}

/**
 * The source module's merge: s[n] = tanh(Σ_h weight[h]·excitation[n][h] + bias) (`l_linear` + `l_tanh`).
 *
 * @param excitation - `[L][dim]` from {@link sineGen2}
 * @param weight - `l_linear.weight` flattened (dim values)
 * @param bias - `l_linear.bias[0]`
 * @param out - optional destination of L values
 * @returns the source signal s `[L]` (HiFT's `s` [1, 1, L])
 * @throws {Error} `ERR_INVALID_INPUT` when the excitation length is not a multiple of `weight.length`
 * @see cosyvoice/hifigan/generator.py SourceModuleHnNSF.forward
 */
export function mergeSource(
  excitation: ArrayLike<number>,
  weight: ArrayLike<number>,
  bias: number,
  out?: Float32Array,
): Float32Array {
  const dim = weight.length;
  if (dim === 0 || excitation.length % dim !== 0) {
    throw invalidInput(`excitation length ${excitation.length} is not a multiple of weight length ${dim}.`);
  }
  const length = excitation.length / dim;
  if (out !== undefined && out.length < length) {
    throw invalidInput(`mergeSource output needs ${length} values (got ${out.length}).`);
  }
  const result = out ?? new Float32Array(length);
  for (let n = 0; n < length; n++) {
    let acc = bias;
    for (let h = 0; h < dim; h++) acc += (weight[h] ?? 0) * (excitation[n * dim + h] ?? 0);
    result[n] = Math.tanh(acc);
  }
  return result;
}
