/**
 * Discrete Fourier transforms of any length in float64.
 *
 * Hand-written on purpose: the maintained npm FFTs are either power-of-two only (`fft.js`, radix-4), float32 only
 * (`kissfft-js`, `pffft`/`fftw-js` wasm builds) or carry dependencies. The front-end needs float64 transforms of
 * sizes 16, 400 (= 2⁴·5²), 512 and 1920 (= 2⁷·3·5) with exactly the numpy/torch conventions (forward unnormalised,
 * inverse scaled by 1/n, e^{−2πi·kn/N} kernel), so a small mixed-radix Stockham FFT (radices 4, 2, 3, 5 and a generic
 * odd radix) with a Bluestein fallback for lengths with a large prime factor is the simplest exact option.
 *
 * Complex data is **interleaved**: `[re0, im0, re1, im1, …]`, the memory layout of numpy's `complex128`.
 *
 * @see numpy.fft.fft / numpy.fft.rfft / numpy.fft.irfft (and torch.fft.* with `norm="backward"`)
 * @module
 */

import { invalidInput } from './errors.ts';

/** Largest prime factor handled by the direct mixed-radix path; lengths with a larger one use Bluestein. */
const MAX_DIRECT_RADIX = 31;

interface Stage {
  /** Radix of this stage. */
  readonly p: number;
  /** Length of the sub-transforms before this stage. */
  readonly l: number;
  /** Number of interleaved sub-sequences after this stage (n / (p·l)). */
  readonly m: number;
  /** Twiddles ω_{p·l}^{k·r} for k < l, r = 1..p−1, interleaved complex, forward sign. */
  readonly twiddles: Float64Array;
  /** ω_p^{j} for j < p, interleaved complex, forward sign (generic radix only). */
  readonly roots: Float64Array;
}

interface BluesteinState {
  /** Power-of-two convolution length ≥ 2n − 1. */
  readonly m: number;
  readonly inner: FftPlan;
  /** Chirp w_k = e^{−iπk²/n}, k < n (interleaved). */
  readonly chirp: Float64Array;
  /** FFT of the zero-padded conjugate chirp, length m (interleaved). */
  readonly chirpSpectrum: Float64Array;
  readonly work: Float64Array;
}

/**
 * Precomputed state for a complex FFT of one length: factorisation, twiddle tables and scratch buffers.
 *
 * A plan owns scratch memory, so one plan must not be used by two transforms at the same time (JavaScript is
 * single-threaded per realm, so this only matters for re-entrant callers).
 */
export interface FftPlan {
  /** Transform length n. */
  readonly size: number;
  /** @internal */
  readonly stages: readonly Stage[];
  /** @internal */
  readonly bluestein: BluesteinState | undefined;
  /** @internal scratch, 2n doubles each */
  readonly bufA: Float64Array;
  /** @internal */
  readonly bufB: Float64Array;
}

/**
 * Precomputed state for a real-input FFT of length n (`rfft`) and its inverse (`irfft`).
 *
 * Even lengths use one complex FFT of length n/2 plus a post-processing pass; odd lengths use a full complex FFT.
 */
export interface RfftPlan {
  /** Real signal length n. */
  readonly size: number;
  /** Number of non-negative frequency bins, ⌊n/2⌋ + 1. */
  readonly numBins: number;
  /** @internal complex plan of length n/2 (even n) or n (odd n) */
  readonly complex: FftPlan;
  /** @internal e^{−2πik/n} for k ≤ n/2 (even n only), interleaved */
  readonly post: Float64Array;
  /** @internal scratch */
  readonly work: Float64Array;
  /** @internal scratch */
  readonly work2: Float64Array;
}

function factorize(n: number): number[] | undefined {
  const factors: number[] = [];
  let rest = n;
  while (rest % 4 === 0) {
    factors.push(4);
    rest /= 4;
  }
  if (rest % 2 === 0) {
    factors.push(2);
    rest /= 2;
  }
  for (let p = 3; rest > 1; p += 2) {
    if (p > MAX_DIRECT_RADIX) return undefined;
    while (rest % p === 0) {
      factors.push(p);
      rest /= p;
    }
  }
  return factors;
}

/** e^{−2πi·num/den} with the numerator reduced first, so large products keep full accuracy. */
function unitRoot(num: number, den: number, out: Float64Array, at: number): void {
  const r = num % den;
  if (r === 0) {
    out[at] = 1;
    out[at + 1] = 0;
    return;
  }
  // Exact values at the quarter points avoid cos(π/2) = 6e-17 style residues.
  if (4 * r === den) {
    out[at] = 0;
    out[at + 1] = -1;
    return;
  }
  if (2 * r === den) {
    out[at] = -1;
    out[at + 1] = 0;
    return;
  }
  if (4 * r === 3 * den) {
    out[at] = 0;
    out[at + 1] = 1;
    return;
  }
  const angle = (-2 * Math.PI * r) / den;
  out[at] = Math.cos(angle);
  out[at + 1] = Math.sin(angle);
}

function checkLength(n: number, what: string): void {
  if (!Number.isSafeInteger(n) || n < 1) {
    throw invalidInput(`${what} length must be a positive integer (got ${String(n)}).`);
  }
}

/**
 * Creates a plan for complex FFTs of length `n` (any positive integer).
 *
 * @param n - transform length
 * @returns a reusable plan
 * @throws {Error} `ERR_INVALID_INPUT` when `n` is not a positive integer
 * @example
 * ```ts
 * const plan = createFftPlan(400);
 * const spectrum = fft(signalInterleaved, plan);
 * ```
 */
export function createFftPlan(n: number): FftPlan {
  checkLength(n, 'FFT');
  const factors = factorize(n);
  if (factors === undefined) {
    // Bluestein: X_k = w_k · Σ_j (x_j w_j) · conj(w_{k−j}), w_k = e^{−iπk²/n}, as a circular convolution of length m.
    let m = 1;
    while (m < 2 * n - 1) m *= 2;
    const inner = createFftPlan(m);
    const chirp = new Float64Array(2 * n);
    for (let k = 0; k < n; k++) {
      // k² mod 2n keeps the angle argument small and exact.
      unitRoot((k * k) % (2 * n), 2 * n, chirp, 2 * k);
    }
    const b = new Float64Array(2 * m);
    for (let k = 0; k < n; k++) {
      const re = chirp[2 * k] ?? 0;
      const im = -(chirp[2 * k + 1] ?? 0);
      b[2 * k] = re;
      b[2 * k + 1] = im;
      if (k > 0) {
        b[2 * (m - k)] = re;
        b[2 * (m - k) + 1] = im;
      }
    }
    const chirpSpectrum = new Float64Array(2 * m);
    transform(b, chirpSpectrum, inner, false);
    return {
      size: n,
      stages: [],
      bluestein: { m, inner, chirp, chirpSpectrum, work: new Float64Array(2 * m) },
      bufA: new Float64Array(2 * n),
      bufB: new Float64Array(2 * n),
    };
  }
  const stages: Stage[] = [];
  let l = 1;
  for (const p of factors) {
    const m = n / (p * l);
    const twiddles = new Float64Array(2 * l * (p - 1));
    for (let k = 0; k < l; k++) {
      for (let r = 1; r < p; r++) unitRoot(k * r, p * l, twiddles, 2 * (k * (p - 1) + r - 1));
    }
    const roots = new Float64Array(2 * p);
    for (let j = 0; j < p; j++) unitRoot(j, p, roots, 2 * j);
    stages.push({ p, l, m, twiddles, roots });
    l *= p;
  }
  return { size: n, stages, bluestein: undefined, bufA: new Float64Array(2 * n), bufB: new Float64Array(2 * n) };
}

/**
 * One Stockham pass: X holds l-point sub-DFTs of m·p interleaved sub-sequences (X[k·(m·p) + q]); Y receives the
 * p·l-point sub-DFTs of m sub-sequences (Y[k'·m + q']). Decimation in time, self-sorting.
 */
function stockhamPass(x: Float64Array, y: Float64Array, stage: Stage, inverse: boolean): void {
  const { p, l, m, twiddles, roots } = stage;
  const mp = m * p;
  const sign = inverse ? -1 : 1;
  if (p === 2) {
    for (let k = 0; k < l; k++) {
      const wr = twiddles[2 * k] ?? 1;
      const wi = sign * (twiddles[2 * k + 1] ?? 0);
      const inBase = k * mp;
      const outBase = k * m;
      for (let q = 0; q < m; q++) {
        const i0 = 2 * (inBase + q);
        const i1 = 2 * (inBase + q + m);
        const ar = x[i0] ?? 0;
        const ai = x[i0 + 1] ?? 0;
        const xr = x[i1] ?? 0;
        const xi = x[i1 + 1] ?? 0;
        const br = xr * wr - xi * wi;
        const bi = xr * wi + xi * wr;
        const o0 = 2 * (outBase + q);
        const o1 = 2 * (outBase + q + l * m);
        y[o0] = ar + br;
        y[o0 + 1] = ai + bi;
        y[o1] = ar - br;
        y[o1 + 1] = ai - bi;
      }
    }
    return;
  }
  if (p === 4) {
    const lm = l * m;
    for (let k = 0; k < l; k++) {
      const t = 6 * k;
      const w1r = twiddles[t] ?? 1;
      const w1i = sign * (twiddles[t + 1] ?? 0);
      const w2r = twiddles[t + 2] ?? 1;
      const w2i = sign * (twiddles[t + 3] ?? 0);
      const w3r = twiddles[t + 4] ?? 1;
      const w3i = sign * (twiddles[t + 5] ?? 0);
      const inBase = k * mp;
      const outBase = k * m;
      for (let q = 0; q < m; q++) {
        const i0 = 2 * (inBase + q);
        const i1 = i0 + 2 * m;
        const i2 = i1 + 2 * m;
        const i3 = i2 + 2 * m;
        const a0r = x[i0] ?? 0;
        const a0i = x[i0 + 1] ?? 0;
        const x1r = x[i1] ?? 0;
        const x1i = x[i1 + 1] ?? 0;
        const x2r = x[i2] ?? 0;
        const x2i = x[i2 + 1] ?? 0;
        const x3r = x[i3] ?? 0;
        const x3i = x[i3 + 1] ?? 0;
        const a1r = x1r * w1r - x1i * w1i;
        const a1i = x1r * w1i + x1i * w1r;
        const a2r = x2r * w2r - x2i * w2i;
        const a2i = x2r * w2i + x2i * w2r;
        const a3r = x3r * w3r - x3i * w3i;
        const a3i = x3r * w3i + x3i * w3r;
        const s02r = a0r + a2r;
        const s02i = a0i + a2i;
        const d02r = a0r - a2r;
        const d02i = a0i - a2i;
        const s13r = a1r + a3r;
        const s13i = a1i + a3i;
        // forward: −i·(a1 − a3); inverse: +i·(a1 − a3)
        const d13r = sign * (a1i - a3i);
        const d13i = -sign * (a1r - a3r);
        const o0 = 2 * (outBase + q);
        const o1 = o0 + 2 * lm;
        const o2 = o1 + 2 * lm;
        const o3 = o2 + 2 * lm;
        y[o0] = s02r + s13r;
        y[o0 + 1] = s02i + s13i;
        y[o1] = d02r + d13r;
        y[o1 + 1] = d02i + d13i;
        y[o2] = s02r - s13r;
        y[o2 + 1] = s02i - s13i;
        y[o3] = d02r - d13r;
        y[o3 + 1] = d02i - d13i;
      }
    }
    return;
  }
  if (p === 3) {
    const lm = l * m;
    const s3 = sign * (Math.sqrt(3) / 2);
    for (let k = 0; k < l; k++) {
      const t = 4 * k;
      const w1r = twiddles[t] ?? 1;
      const w1i = sign * (twiddles[t + 1] ?? 0);
      const w2r = twiddles[t + 2] ?? 1;
      const w2i = sign * (twiddles[t + 3] ?? 0);
      const inBase = k * mp;
      const outBase = k * m;
      for (let q = 0; q < m; q++) {
        const i0 = 2 * (inBase + q);
        const i1 = i0 + 2 * m;
        const i2 = i1 + 2 * m;
        const a0r = x[i0] ?? 0;
        const a0i = x[i0 + 1] ?? 0;
        const x1r = x[i1] ?? 0;
        const x1i = x[i1 + 1] ?? 0;
        const x2r = x[i2] ?? 0;
        const x2i = x[i2 + 1] ?? 0;
        const a1r = x1r * w1r - x1i * w1i;
        const a1i = x1r * w1i + x1i * w1r;
        const a2r = x2r * w2r - x2i * w2i;
        const a2i = x2r * w2i + x2i * w2r;
        const sr = a1r + a2r;
        const si = a1i + a2i;
        const tr = a0r - 0.5 * sr;
        const ti = a0i - 0.5 * si;
        // forward: u = −i·(√3/2)·(a1 − a2)
        const ur = s3 * (a1i - a2i);
        const ui = -s3 * (a1r - a2r);
        const o0 = 2 * (outBase + q);
        const o1 = o0 + 2 * lm;
        const o2 = o1 + 2 * lm;
        y[o0] = a0r + sr;
        y[o0 + 1] = a0i + si;
        y[o1] = tr + ur;
        y[o1 + 1] = ti + ui;
        y[o2] = tr - ur;
        y[o2 + 1] = ti - ui;
      }
    }
    return;
  }
  // Generic odd radix: direct p-point DFT per butterfly.
  const lm = l * m;
  const ar = new Float64Array(p);
  const ai = new Float64Array(p);
  for (let k = 0; k < l; k++) {
    const inBase = k * mp;
    const outBase = k * m;
    for (let q = 0; q < m; q++) {
      const i0 = 2 * (inBase + q);
      ar[0] = x[i0] ?? 0;
      ai[0] = x[i0 + 1] ?? 0;
      for (let r = 1; r < p; r++) {
        const ir = i0 + 2 * r * m;
        const xr = x[ir] ?? 0;
        const xi = x[ir + 1] ?? 0;
        const t = 2 * (k * (p - 1) + r - 1);
        const wr = twiddles[t] ?? 1;
        const wi = sign * (twiddles[t + 1] ?? 0);
        ar[r] = xr * wr - xi * wi;
        ai[r] = xr * wi + xi * wr;
      }
      for (let s = 0; s < p; s++) {
        let sumR = 0;
        let sumI = 0;
        for (let r = 0; r < p; r++) {
          const j = 2 * ((s * r) % p);
          const wr = roots[j] ?? 1;
          const wi = sign * (roots[j + 1] ?? 0);
          const vr = ar[r] ?? 0;
          const vi = ai[r] ?? 0;
          sumR += vr * wr - vi * wi;
          sumI += vr * wi + vi * wr;
        }
        const o = 2 * (outBase + q + s * lm);
        y[o] = sumR;
        y[o + 1] = sumI;
      }
    }
  }
}

/** Unnormalised transform of interleaved `input` (2n values) into `output` (may alias `input`). */
function transform(input: ArrayLike<number>, output: Float64Array, plan: FftPlan, inverse: boolean): void {
  const n = plan.size;
  const bs = plan.bluestein;
  if (bs !== undefined) {
    const { m, inner, chirp, chirpSpectrum, work } = bs;
    const sign = inverse ? -1 : 1;
    work.fill(0);
    for (let k = 0; k < n; k++) {
      const xr = input[2 * k] ?? 0;
      const xi = sign * (input[2 * k + 1] ?? 0);
      const wr = chirp[2 * k] ?? 1;
      const wi = chirp[2 * k + 1] ?? 0;
      work[2 * k] = xr * wr - xi * wi;
      work[2 * k + 1] = xr * wi + xi * wr;
    }
    transform(work, work, inner, false);
    for (let k = 0; k < m; k++) {
      const ar = work[2 * k] ?? 0;
      const ai = work[2 * k + 1] ?? 0;
      const br = chirpSpectrum[2 * k] ?? 0;
      const bi = chirpSpectrum[2 * k + 1] ?? 0;
      work[2 * k] = ar * br - ai * bi;
      work[2 * k + 1] = ar * bi + ai * br;
    }
    transform(work, work, inner, true);
    const scale = 1 / m;
    for (let k = 0; k < n; k++) {
      const cr = (work[2 * k] ?? 0) * scale;
      const ci = (work[2 * k + 1] ?? 0) * scale;
      const wr = chirp[2 * k] ?? 1;
      const wi = chirp[2 * k + 1] ?? 0;
      output[2 * k] = cr * wr - ci * wi;
      // conj trick for the inverse: ifft(x) = conj(fft(conj(x)))
      output[2 * k + 1] = sign * (cr * wi + ci * wr);
    }
    return;
  }
  const stages = plan.stages;
  if (stages.length === 0) {
    // n = 1
    output[0] = input[0] ?? 0;
    output[1] = input[1] ?? 0;
    return;
  }
  let src = plan.bufA;
  let dst = plan.bufB;
  for (let i = 0; i < 2 * n; i++) src[i] = input[i] ?? 0;
  for (const stage of stages) {
    stockhamPass(src, dst, stage, inverse);
    const t = src;
    src = dst;
    dst = t;
  }
  output.set(src.subarray(0, 2 * n));
}

function checkBuffer(buf: ArrayLike<number>, need: number, what: string): void {
  if (buf.length < need) {
    throw invalidInput(`${what} must hold at least ${need} values (got ${buf.length}).`);
  }
}

/**
 * Forward complex DFT, X_k = Σ_j x_j·e^{−2πi·jk/n}, unnormalised.
 *
 * @param input - interleaved complex signal, 2n values
 * @param plan - plan from {@link createFftPlan}
 * @param out - optional destination (2n values); may be the same array as `input`
 * @returns the interleaved spectrum
 * @see numpy.fft.fft
 */
export function fft(input: ArrayLike<number>, plan: FftPlan, out?: Float64Array): Float64Array {
  checkBuffer(input, 2 * plan.size, 'FFT input');
  const result = out ?? new Float64Array(2 * plan.size);
  checkBuffer(result, 2 * plan.size, 'FFT output');
  transform(input, result, plan, false);
  return result;
}

/**
 * Inverse complex DFT, x_j = (1/n)·Σ_k X_k·e^{+2πi·jk/n}.
 *
 * @param input - interleaved spectrum, 2n values
 * @param plan - plan from {@link createFftPlan}
 * @param out - optional destination (2n values); may be the same array as `input`
 * @returns the interleaved signal
 * @see numpy.fft.ifft
 */
export function ifft(input: ArrayLike<number>, plan: FftPlan, out?: Float64Array): Float64Array {
  checkBuffer(input, 2 * plan.size, 'IFFT input');
  const result = out ?? new Float64Array(2 * plan.size);
  checkBuffer(result, 2 * plan.size, 'IFFT output');
  transform(input, result, plan, true);
  const scale = 1 / plan.size;
  for (let i = 0; i < 2 * plan.size; i++) result[i] = (result[i] ?? 0) * scale;
  return result;
}

/**
 * Creates a plan for real-input FFTs of length `n`.
 *
 * @param n - real signal length (any positive integer)
 * @returns a reusable plan
 * @throws {Error} `ERR_INVALID_INPUT` when `n` is not a positive integer
 */
export function createRfftPlan(n: number): RfftPlan {
  checkLength(n, 'RFFT');
  const numBins = Math.floor(n / 2) + 1;
  if (n % 2 === 0) {
    const half = n / 2;
    const post = new Float64Array(2 * (half + 1));
    for (let k = 0; k <= half; k++) unitRoot(k, n, post, 2 * k);
    return {
      size: n,
      numBins,
      complex: createFftPlan(half),
      post,
      work: new Float64Array(2 * half),
      work2: new Float64Array(2 * half),
    };
  }
  return {
    size: n,
    numBins,
    complex: createFftPlan(n),
    post: new Float64Array(0),
    work: new Float64Array(2 * n),
    work2: new Float64Array(2 * n),
  };
}

/**
 * Forward DFT of a real signal, non-negative frequencies only (⌊n/2⌋ + 1 bins), unnormalised.
 *
 * @param input - real signal of length n (extra values are ignored)
 * @param plan - plan from {@link createRfftPlan}
 * @param out - optional destination, 2·(⌊n/2⌋ + 1) values, interleaved complex
 * @returns the interleaved half spectrum
 * @see numpy.fft.rfft / torch.fft.rfft
 */
export function rfft(input: ArrayLike<number>, plan: RfftPlan, out?: Float64Array): Float64Array {
  const n = plan.size;
  checkBuffer(input, n, 'RFFT input');
  const result = out ?? new Float64Array(2 * plan.numBins);
  checkBuffer(result, 2 * plan.numBins, 'RFFT output');
  const work = plan.work;
  if (n % 2 === 1) {
    for (let i = 0; i < n; i++) {
      work[2 * i] = input[i] ?? 0;
      work[2 * i + 1] = 0;
    }
    transform(work, work, plan.complex, false);
    result.set(work.subarray(0, 2 * plan.numBins));
    return result;
  }
  const half = n / 2;
  // z_j = x_{2j} + i·x_{2j+1}; Z = FFT_{n/2}(z); X_k = E_k + ω^k·O_k with E_k = (Z_k + Z*_{h−k})/2, O_k = (Z_k − Z*_{h−k})/(2i).
  for (let j = 0; j < half; j++) {
    work[2 * j] = input[2 * j] ?? 0;
    work[2 * j + 1] = input[2 * j + 1] ?? 0;
  }
  transform(work, work, plan.complex, false);
  const post = plan.post;
  for (let k = 0; k <= half; k++) {
    const a = k === half ? 0 : k;
    const b = k === 0 ? 0 : half - k;
    const zr = work[2 * a] ?? 0;
    const zi = work[2 * a + 1] ?? 0;
    const cr = work[2 * b] ?? 0;
    const ci = -(work[2 * b + 1] ?? 0);
    const er = 0.5 * (zr + cr);
    const ei = 0.5 * (zi + ci);
    // (Z − conj Z')/(2i) = (dI − i·dR)/2 with d = Z − conj Z'
    const or = 0.5 * (zi - ci);
    const oi = -0.5 * (zr - cr);
    const wr = post[2 * k] ?? 1;
    const wi = post[2 * k + 1] ?? 0;
    result[2 * k] = er + (or * wr - oi * wi);
    result[2 * k + 1] = ei + (or * wi + oi * wr);
  }
  return result;
}

/**
 * Inverse of {@link rfft}: real signal of length n from ⌊n/2⌋ + 1 bins, scaled by 1/n. The imaginary parts of the
 * DC bin (and of the Nyquist bin for even n) are ignored, as numpy and torch (pocketfft c2r) do.
 *
 * @param spectrum - interleaved half spectrum, 2·(⌊n/2⌋ + 1) values
 * @param plan - plan from {@link createRfftPlan}
 * @param out - optional destination of length n
 * @returns the real signal
 * @see numpy.fft.irfft / torch.fft.irfft
 */
export function irfft(spectrum: ArrayLike<number>, plan: RfftPlan, out?: Float64Array): Float64Array {
  const n = plan.size;
  checkBuffer(spectrum, 2 * plan.numBins, 'IRFFT input');
  const result = out ?? new Float64Array(n);
  checkBuffer(result, n, 'IRFFT output');
  const work = plan.work;
  if (n % 2 === 1) {
    // Hermitian extension, then one complex inverse.
    for (let k = 0; k < plan.numBins; k++) {
      work[2 * k] = spectrum[2 * k] ?? 0;
      work[2 * k + 1] = k === 0 ? 0 : (spectrum[2 * k + 1] ?? 0);
    }
    for (let k = plan.numBins; k < n; k++) {
      work[2 * k] = spectrum[2 * (n - k)] ?? 0;
      work[2 * k + 1] = -(spectrum[2 * (n - k) + 1] ?? 0);
    }
    transform(work, work, plan.complex, true);
    for (let i = 0; i < n; i++) result[i] = (work[2 * i] ?? 0) / n;
    return result;
  }
  const half = n / 2;
  const post = plan.post;
  // E_k = (X_k + X*_{h−k})/2, O_k = (X_k − X*_{h−k})·ω^{−k}/2, Z_k = E_k + i·O_k, z = IFFT_{h}(Z) = x_even + i·x_odd.
  for (let k = 0; k < half; k++) {
    const xr = spectrum[2 * k] ?? 0;
    const xi = k === 0 ? 0 : (spectrum[2 * k + 1] ?? 0);
    const j = half - k;
    const yr = spectrum[2 * j] ?? 0;
    const yi = j === half ? 0 : -(spectrum[2 * j + 1] ?? 0);
    const er = 0.5 * (xr + yr);
    const ei = 0.5 * (xi + yi);
    const dr = 0.5 * (xr - yr);
    const di = 0.5 * (xi - yi);
    const wr = post[2 * k] ?? 1;
    const wi = -(post[2 * k + 1] ?? 0);
    const or = dr * wr - di * wi;
    const oi = dr * wi + di * wr;
    work[2 * k] = er - oi;
    work[2 * k + 1] = ei + or;
  }
  transform(work, work, plan.complex, true);
  const scale = 1 / half;
  for (let j = 0; j < half; j++) {
    result[2 * j] = (work[2 * j] ?? 0) * scale;
    result[2 * j + 1] = (work[2 * j + 1] ?? 0) * scale;
  }
  return result;
}
