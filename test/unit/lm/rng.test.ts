/** Seedable PRNG: reference outputs, determinism, ranges and distribution sanity. */
import { describe, expect, it } from 'vitest';

import { TTSError } from '../../../src/errors.ts';
import { deterministicLog, Xoshiro128 } from '../../../src/models/lm/rng.ts';

describe('Xoshiro128', () => {
  it('matches the reference C implementation (xoshiro128starstar.c, state {1, 2, 3, 4})', () => {
    // Output of the authors' C code compiled with gcc for s = {1, 2, 3, 4}.
    const rng = Xoshiro128.fromState([1, 2, 3, 4]);
    const got = Array.from({ length: 8 }, () => rng.nextUint32());
    expect(got).toEqual([11520, 0, 5927040, 70819200, 2031721883, 1637235492, 1287239034, 3734860849]);
  });

  it('seeding and uniform() match a C re-implementation (splitmix32 seeding, 53-bit uniforms)', () => {
    // C: uint32 splitmix32 from 1234 ^ 0x6a09e667, xoshiro128**, ((a >> 5) << 26 | b >> 6) / 2^53.
    const a = new Xoshiro128(1234);
    expect([a.nextUint32(), a.nextUint32()]).toEqual([3350554081, 3294035528]);
    expect(a.getState()).toEqual([2015139300, 558629552, 2086813148, 1724593101]);
    const b = new Xoshiro128(1234);
    expect([b.uniform(), b.uniform(), b.uniform()]).toEqual([
      0.7801116687577397, 0.18061035836546635, 0.5250643089186176,
    ]);
  });

  it('normal() is pinned (engine-independent arithmetic only)', () => {
    const rng = new Xoshiro128(1234);
    rng.uniform();
    rng.uniform();
    rng.uniform();
    expect([rng.normal(), rng.normal(), rng.normal()]).toEqual([
      0.06751526498216733, -0.09714208064911936, -1.0714464599063842,
    ]);
  });

  it('is deterministic per seed, differs across seeds, and resumes from its state', () => {
    const draw = (r: Xoshiro128): number[] => Array.from({ length: 64 }, () => r.uniform());
    expect(draw(new Xoshiro128(7))).toEqual(draw(new Xoshiro128(7)));
    expect(draw(new Xoshiro128(7))).not.toEqual(draw(new Xoshiro128(8)));
    expect(draw(new Xoshiro128(2 ** 40))).not.toEqual(draw(new Xoshiro128(0)));
    expect(draw(new Xoshiro128(-1))).not.toEqual(draw(new Xoshiro128(2 ** 32 - 1)));
    const r = new Xoshiro128(99);
    draw(r);
    const resumed = Xoshiro128.fromState(r.getState());
    expect(draw(resumed)).toEqual(draw(r));
  });

  it('rejects bad seeds and states', () => {
    expect(() => new Xoshiro128(1.5)).toThrow(TTSError);
    expect(() => new Xoshiro128(Number.NaN)).toThrow(TTSError);
    expect(() => Xoshiro128.fromState([0, 0, 0, 0])).toThrow(/all zero/);
    expect(() => Xoshiro128.fromState([1, 2, 3, 2 ** 32])).toThrow(TTSError);
  });

  it('uniform() stays in [0, 1) with the right moments; normal() has mean 0, variance 1', () => {
    const rng = new Xoshiro128(2024);
    const n = 200_000;
    let sum = 0;
    let sumSq = 0;
    let min = 1;
    let max = 0;
    for (let i = 0; i < n; i++) {
      const u = rng.uniform();
      sum += u;
      sumSq += u * u;
      min = Math.min(min, u);
      max = Math.max(max, u);
    }
    expect(min).toBeGreaterThanOrEqual(0);
    expect(max).toBeLessThan(1);
    expect(Math.abs(sum / n - 0.5)).toBeLessThan(5 * Math.sqrt(1 / 12 / n));
    expect(Math.abs(sumSq / n - 1 / 3)).toBeLessThan(0.003);
    let s1 = 0;
    let s2 = 0;
    let inside = 0;
    for (let i = 0; i < n; i++) {
      const z = rng.normal();
      s1 += z;
      s2 += z * z;
      if (Math.abs(z) < 1.959964) inside++;
    }
    expect(Math.abs(s1 / n)).toBeLessThan(5 / Math.sqrt(n));
    expect(Math.abs(s2 / n - 1)).toBeLessThan(5 * Math.sqrt(2 / n));
    expect(Math.abs(inside / n - 0.95)).toBeLessThan(5 * Math.sqrt((0.95 * 0.05) / n));
  });

  it('deterministicLog agrees with Math.log to a few ulps', () => {
    const rng = new Xoshiro128(5);
    let worst = 0;
    for (let i = 0; i < 20_000; i++) {
      const x = rng.uniform() * 2 ** (rng.uniform() * 200 - 100) || 1e-300;
      const ref = Math.log(x);
      const err = Math.abs(deterministicLog(x) - ref) / Math.max(Math.abs(ref), 1e-3);
      worst = Math.max(worst, err);
    }
    for (const x of [1, 2, 0.5, Math.SQRT2, Math.SQRT1_2, 1e-300, 5e-324, 1 - 2 ** -53]) {
      expect(Math.abs(deterministicLog(x) - Math.log(x))).toBeLessThanOrEqual(
        4 * Number.EPSILON * Math.max(1, Math.abs(Math.log(x))),
      );
    }
    expect(worst).toBeLessThan(1e-15);
  });
});
