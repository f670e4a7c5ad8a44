import { describe, expect, it } from 'vitest';
import { createFftPlan, createRfftPlan, fft, ifft, irfft, rfft } from '../../../src/dsp/index.ts';
import { lcg } from './golden.ts';

/** Direct O(n²) DFT in float64 (the definition numpy.fft uses). */
function naiveDft(x: Float64Array, n: number, inverse: boolean): Float64Array {
  const out = new Float64Array(2 * n);
  const sign = inverse ? 1 : -1;
  for (let k = 0; k < n; k++) {
    let re = 0;
    let im = 0;
    for (let j = 0; j < n; j++) {
      const angle = (sign * 2 * Math.PI * ((j * k) % n)) / n;
      const c = Math.cos(angle);
      const s = Math.sin(angle);
      const xr = x[2 * j] ?? 0;
      const xi = x[2 * j + 1] ?? 0;
      re += xr * c - xi * s;
      im += xr * s + xi * c;
    }
    out[2 * k] = inverse ? re / n : re;
    out[2 * k + 1] = inverse ? im / n : im;
  }
  return out;
}

function maxAbs(a: ArrayLike<number>, b: ArrayLike<number>, count = a.length): number {
  let m = 0;
  for (let i = 0; i < count; i++) m = Math.max(m, Math.abs((a[i] ?? 0) - (b[i] ?? 0)));
  return m;
}

// Sizes of the front-end (16, 400, 512, 1920), mixed radices, primes (generic radix and Bluestein).
const SIZES = [1, 2, 3, 5, 7, 8, 12, 15, 16, 30, 37, 64, 74, 97, 100, 128, 243, 400, 512, 1000, 1920];

describe('fft', () => {
  it.each(SIZES)('complex FFT/IFFT of length %i match the direct DFT', (n) => {
    const x = Float64Array.from(lcg(n, 2 * n));
    const plan = createFftPlan(n);
    const tolerance = 1e-13 * Math.max(1, Math.log2(n)) * Math.sqrt(n);
    expect(maxAbs(fft(x, plan), naiveDft(x, n, false))).toBeLessThan(tolerance);
    expect(maxAbs(ifft(x, plan), naiveDft(x, n, true))).toBeLessThan(tolerance);
    expect(maxAbs(ifft(fft(x, plan), plan), x)).toBeLessThan(1e-14 * Math.max(1, Math.log2(n)));
  });

  it.each(SIZES)('real FFT of length %i matches the complex DFT and irfft inverts it', (n) => {
    const x = Float64Array.from(lcg(n + 1, n));
    const plan = createRfftPlan(n);
    expect(plan.numBins).toBe(Math.floor(n / 2) + 1);
    const full = new Float64Array(2 * n);
    x.forEach((v, i) => (full[2 * i] = v));
    const spectrum = rfft(x, plan);
    const tolerance = 1e-13 * Math.max(1, Math.log2(n)) * Math.sqrt(n);
    expect(maxAbs(spectrum, naiveDft(full, n, false), 2 * plan.numBins)).toBeLessThan(tolerance);
    expect(maxAbs(irfft(spectrum, plan), x)).toBeLessThan(1e-14 * Math.max(1, Math.log2(n)));
  });

  it('irfft ignores the imaginary parts of the DC and Nyquist bins (numpy/torch c2r)', () => {
    for (const n of [16, 15]) {
      const plan = createRfftPlan(n);
      const spectrum = Float64Array.from(lcg(99, 2 * plan.numBins));
      const cleaned = spectrum.slice();
      cleaned[1] = 0;
      if (n % 2 === 0) cleaned[2 * (plan.numBins - 1) + 1] = 0;
      expect(irfft(spectrum, plan)).toEqual(irfft(cleaned, plan));
    }
  });

  it('writes into caller buffers and supports in-place complex transforms', () => {
    const plan = createFftPlan(400);
    const x = Float64Array.from(lcg(5, 800));
    const expected = fft(x, plan);
    const inPlace = x.slice();
    expect(fft(inPlace, plan, inPlace)).toBe(inPlace);
    expect(maxAbs(inPlace, expected)).toBe(0);
  });

  it('rejects invalid lengths and short buffers with ERR_INVALID_INPUT', () => {
    expect(() => createFftPlan(0)).toThrow(/^ERR_INVALID_INPUT: FFT length must be a positive integer/);
    expect(() => createRfftPlan(2.5)).toThrow(/ERR_INVALID_INPUT/);
    expect(() => rfft(new Float64Array(10), createRfftPlan(16))).toThrow(/at least 16 values/);
  });
});
