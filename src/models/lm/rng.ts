/**
 * Seedable pseudo-random numbers for sampling (LM) and noise (vocoder source).
 *
 * Why a hand-written xoshiro128** instead of `Math.random` or a package: it is ~40 lines, needs no dependency, can
 * be seeded (a seed reproduces an utterance), and uses only 32-bit integer operations (`Math.imul`, shifts, xor), so
 * its integer stream is bit-identical in every JS engine. `uniform()` combines two outputs with exact float
 * arithmetic, and `normal()` uses the Marsaglia polar method with a logarithm built from `+ − × ÷` and `Math.sqrt`
 * only (all correctly rounded by IEEE 754), so even the Gaussian stream is engine-independent; `Math.log`, whose last
 * bit may differ between engines, is never used.
 *
 * @see https://prng.di.unimi.it/xoshiro128starstar.c (Blackman & Vigna) for the generator,
 *   splitmix32 (hash-prospector constants) for seeding.
 */

import { invalidInput } from '../../errors.ts';

/** A source of uniform draws in [0, 1): all the LM sampler needs. */
export interface UniformSource {
  /** One draw in [0, 1). */
  uniform(): number;
}

/** A seedable generator of uniform and standard-normal draws. */
export interface Rng extends UniformSource {
  /** One standard-normal draw (mean 0, variance 1). */
  normal(): number;
  /** The next raw 32-bit output as an unsigned integer. */
  nextUint32(): number;
}

const TWO_POW_M26 = 2 ** -26;
const TWO_POW_M53 = 2 ** -53;

/**
 * xoshiro128** with splitmix32 seeding. Deterministic per seed across JS engines (see the module comment).
 *
 * @example
 * ```ts
 * const rng = new Xoshiro128(1234);
 * rng.uniform(); // same value on every run and engine
 * ```
 */
export class Xoshiro128 implements Rng {
  private s0 = 0;
  private s1 = 0;
  private s2 = 0;
  private s3 = 0;
  /** Second value of the last polar-method pair, or NaN when none is cached. */
  private spare = Number.NaN;

  /**
   * @param seed - any safe integer (negative values and values above 2^32 are fine: both 32-bit halves are mixed).
   * @throws {TTSError} ERR_INVALID_INPUT when the seed is not a safe integer.
   */
  constructor(seed: number) {
    if (!Number.isSafeInteger(seed)) throw invalidInput(`RNG seed must be a safe integer, got ${seed}.`, { seed });
    const lo = seed >>> 0;
    const hi = Math.floor(seed / 2 ** 32) >>> 0;
    // splitmix32 over a state derived from both halves; four outputs fill the xoshiro state.
    let x = (lo ^ Math.imul(hi, 0x9e3779b9) ^ 0x6a09e667) >>> 0;
    const next = (): number => {
      x = (x + 0x9e3779b9) >>> 0;
      let z = x;
      z = Math.imul(z ^ (z >>> 16), 0x21f0aaad);
      z = Math.imul(z ^ (z >>> 15), 0x735a2d97);
      return (z ^ (z >>> 15)) >>> 0;
    };
    this.setState([next(), next(), next(), next()]);
  }

  /**
   * Builds a generator from an explicit 128-bit state (four uint32 words, not all zero).
   *
   * @throws {TTSError} ERR_INVALID_INPUT when the state is all zero or not four uint32 words.
   */
  static fromState(state: readonly [number, number, number, number]): Xoshiro128 {
    const rng = new Xoshiro128(0);
    rng.setState(state);
    return rng;
  }

  /** The current 128-bit state (four uint32 words); with {@link Xoshiro128.fromState} it resumes the stream. */
  getState(): [number, number, number, number] {
    return [this.s0, this.s1, this.s2, this.s3];
  }

  private setState(state: readonly number[]): void {
    if (state.length !== 4 || state.some((w) => !Number.isInteger(w) || w < 0 || w > 0xffffffff)) {
      throw invalidInput('xoshiro128 state must be four uint32 words.', { state });
    }
    const [a = 0, b = 0, c = 0, d = 0] = state;
    if ((a | b | c | d) === 0) throw invalidInput('xoshiro128 state must not be all zero.');
    this.s0 = a;
    this.s1 = b;
    this.s2 = c;
    this.s3 = d;
    this.spare = Number.NaN;
  }

  /** {@inheritDoc Rng.nextUint32} */
  nextUint32(): number {
    const s1 = this.s1;
    const result = Math.imul(rotl(Math.imul(s1, 5), 7), 9) >>> 0;
    const t = s1 << 9;
    this.s2 ^= this.s0;
    this.s3 ^= s1;
    this.s1 ^= this.s2;
    this.s0 ^= this.s3;
    this.s2 ^= t;
    this.s3 = rotl(this.s3, 11);
    this.s0 >>>= 0;
    this.s1 >>>= 0;
    this.s2 >>>= 0;
    this.s3 >>>= 0;
    return result;
  }

  /** A uniform draw in [0, 1) with 53 random bits (two 32-bit outputs). */
  uniform(): number {
    const a = this.nextUint32() >>> 5; // 27 bits
    const b = this.nextUint32() >>> 6; // 26 bits
    return (a * 2 ** 26 + b) * TWO_POW_M53;
  }

  /** A standard-normal draw (Marsaglia polar method; the pair's second value is cached). */
  normal(): number {
    if (!Number.isNaN(this.spare)) {
      const value = this.spare;
      this.spare = Number.NaN;
      return value;
    }
    for (;;) {
      // Uniforms in (−1, 1) with 26-bit resolution per coordinate keep the arithmetic exact.
      const u = ((this.nextUint32() >>> 6) + 0.5) * TWO_POW_M26 * 2 - 1;
      const v = ((this.nextUint32() >>> 6) + 0.5) * TWO_POW_M26 * 2 - 1;
      const s = u * u + v * v;
      if (s >= 1 || s === 0) continue;
      const factor = Math.sqrt((-2 * deterministicLog(s)) / s);
      this.spare = v * factor;
      return u * factor;
    }
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

const LN2 = 0.6931471805599453;
const SQRT2 = 1.4142135623730951;

/**
 * Natural logarithm built from correctly-rounded operations only, so every JS engine returns the same bits
 * (`Math.log` is implementation-approximated). Accurate to a few ulps; used by {@link Xoshiro128.normal}.
 *
 * Method: x = m·2^k with m ∈ [√½, √2), ln m = 2·atanh(t), t = (m − 1)/(m + 1), |t| ≤ 0.172, odd series to t^27.
 *
 * @param x - a positive finite number (other inputs give meaningless results; the polar method never passes them).
 * @returns ln x.
 */
export function deterministicLog(x: number): number {
  let m = x;
  let k = 0;
  while (m < 1) {
    m *= 2;
    k -= 1;
  }
  while (m >= 2) {
    m /= 2;
    k += 1;
  }
  if (m > SQRT2) {
    m /= 2;
    k += 1;
  }
  const t = (m - 1) / (m + 1);
  const t2 = t * t;
  let series = 0;
  for (let n = 27; n >= 1; n -= 2) series = series * t2 + 1 / n;
  return k * LN2 + 2 * t * series;
}
