/**
 * Window functions in float64.
 *
 * @module
 */

import { invalidInput } from './errors.ts';

function checkWindowLength(length: number): void {
  if (!Number.isSafeInteger(length) || length < 1) {
    throw invalidInput(`window length must be a positive integer (got ${String(length)}).`);
  }
}

/**
 * Generalised cosine window α − β·cos(2πn/N) with N = length (periodic) or length − 1 (symmetric).
 * A length-1 window is `[1]`, as in torch and numpy.
 */
function cosineWindow(length: number, periodic: boolean, alpha: number, beta: number): Float64Array {
  checkWindowLength(length);
  const w = new Float64Array(length);
  if (length === 1) {
    w[0] = 1;
    return w;
  }
  const denominator = periodic ? length : length - 1;
  for (let n = 0; n < length; n++) w[n] = alpha - beta * Math.cos((2 * Math.PI * n) / denominator);
  return w;
}

/**
 * Hann window, 0.5 − 0.5·cos(2πn/N).
 *
 * @param length - number of samples
 * @param periodic - `true` (the default, as for spectral analysis) uses N = length; `false` gives the symmetric window
 *   with N = length − 1
 * @defaultValue periodic = true
 * @returns the window
 * @throws {Error} `ERR_INVALID_INPUT` when `length` is not a positive integer
 * @see torch.hann_window / scipy.signal.get_window('hann', length, fftbins=periodic)
 */
export function hannWindow(length: number, periodic = true): Float64Array {
  return cosineWindow(length, periodic, 0.5, 0.5);
}

/**
 * Hamming window, 0.54 − 0.46·cos(2πn/N).
 *
 * @param length - number of samples
 * @param periodic - `false` (the default, as numpy's `np.hamming`) uses N = length − 1; `true` uses N = length
 * @defaultValue periodic = false
 * @returns the window
 * @throws {Error} `ERR_INVALID_INPUT` when `length` is not a positive integer
 * @see numpy.hamming / torch.hamming_window(periodic=…)
 */
export function hammingWindow(length: number, periodic = false): Float64Array {
  return cosineWindow(length, periodic, 0.54, 0.46);
}

/**
 * Kaldi's "povey" window: the symmetric Hann window raised to the power 0.85 (zero at both ends).
 *
 * @param length - number of samples
 * @returns the window
 * @throws {Error} `ERR_INVALID_INPUT` when `length` is not a positive integer
 * @see torchaudio.compliance.kaldi._feature_window_function(window_type='povey')
 */
export function poveyWindow(length: number): Float64Array {
  const w = cosineWindow(length, false, 0.5, 0.5);
  for (let n = 0; n < length; n++) w[n] = Math.pow(w[n] ?? 0, 0.85);
  return w;
}
