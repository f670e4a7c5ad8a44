import { describe, expect, it } from 'vitest';
import { HIFT_SOURCE_CACHE_LEN, HiftCrossfade } from '../../../src/dsp/index.ts';
import { bitEqual, lcg, readGolden, report, maxAbsDiff } from './golden.ts';

describe('HiFT streaming cross-fade (spec §6.4)', () => {
  it('matches a numpy token2wav + fade_in_out over 3 chunks', () => {
    const ref = readGolden('crossfade.output');
    const lengths = ref.entry.chunkLengths ?? [];
    const seeds = ref.entry.chunkSeeds ?? [];
    const fade = new HiftCrossfade();
    const parts: number[] = [];
    lengths.forEach((n, i) => {
      const chunk = lcg(seeds[i] ?? 0, n).map((v) => v * 0.5);
      const out = fade.push(chunk, i === lengths.length - 1);
      expect(out.length).toBe(i === lengths.length - 1 ? n : n - HIFT_SOURCE_CACHE_LEN);
      parts.push(...out);
    });
    const ours = Float32Array.from(parts);
    const err = maxAbsDiff(ref.data, ours);
    report('cross-fade max abs vs numpy', err);
    expect(bitEqual(ours, ref.data)).toBe(true);
    expect(fade.hasTail).toBe(false);
  });

  it('a single final chunk (non-streaming) passes through unchanged', () => {
    const x = lcg(5, 1000);
    const out = new HiftCrossfade().push(x, true);
    expect(bitEqual(out, x)).toBe(true);
    expect(out).not.toBe(x);
  });

  it('window is np.hamming(7680): 0.08 at both ends; a constant signal stays ≈ constant through the fade', () => {
    const fade = new HiftCrossfade();
    expect(fade.window.length).toBe(7680);
    expect(fade.window[0]).toBeCloseTo(0.08, 15);
    fade.push(new Float32Array(5000).fill(1));
    const out = fade.push(new Float32Array(5000).fill(1), true);
    // w[i] + w[i + 3840] = 1.08 − 0.46·(cos a + cos(a + π·3840/3839.5)) ≈ 1.08 at the seam, ≈ 1 in between
    for (const v of out.subarray(0, 3840)) expect(Math.abs(v - 1)).toBeLessThan(0.081);
  });

  it('rejects chunks shorter than the overlap and bad options', () => {
    const fade = new HiftCrossfade();
    expect(() => fade.push(new Float32Array(100))).toThrow(
      /^ERR_INVALID_INPUT: vocoder chunk of 100 samples is shorter than the 3840-sample cross-fade overlap/,
    );
    expect(() => new HiftCrossfade({ overlap: 0 })).toThrow(/overlap must be a positive integer/);
    fade.push(new Float32Array(4000));
    fade.reset();
    expect(fade.hasTail).toBe(false);
  });
});
