import { describe, expect, it } from 'vitest';
import {
  createStftPlan,
  hammingWindow,
  hannWindow,
  istft,
  IstftStream,
  padSignal,
  stft,
} from '../../../src/dsp/index.ts';
import { bitEqual, lcg, lcgInput, maxAbsDiff, readGolden, report } from './golden.ts';

describe('16-point STFT/iSTFT of HiFT (spec §6.3)', () => {
  const plan = createStftPlan({ nFft: 16, hopLength: 4, winLength: 16 });

  it('stft matches torch.stft(16, 4, hann, center, reflect) in planar [18][F] layout', () => {
    const input = readGolden('stft16.input').data;
    const ref = readGolden('stft16.output');
    expect(ref.shape).toEqual([18, 1 + input.length / 4]);
    const err = maxAbsDiff(ref.data, stft(input, plan));
    report('stft16 max abs vs torch.stft float64', err);
    expect(err).toBeLessThanOrEqual(1e-6);
  });

  it('istft matches torch.istft (random spectrum, nonzero DC/Nyquist imaginary parts ignored)', () => {
    const ref = readGolden('istft16.output');
    const spec = lcgInput('istft16.output'); // planar [18][F]
    const frames = ref.entry.inputShape?.[1] ?? 0;
    expect(spec.length).toBe(18 * frames);
    expect(ref.data.length).toBe(4 * (frames - 1));
    const err = maxAbsDiff(ref.data, istft(spec, plan));
    report('istft16 max abs vs torch.istft float64', err);
    expect(err).toBeLessThanOrEqual(1e-6);
  });

  it('120T + 1 frames give 480T samples and istft(stft(x)) = x', () => {
    const x = lcg(7, 480 * 5);
    const spec = stft(x, plan);
    expect(plan.numFrames(x.length)).toBe(120 * 5 + 1);
    expect(spec.length).toBe(18 * (120 * 5 + 1));
    const y = istft(spec, plan);
    expect(y.length).toBe(480 * 5);
    expect(maxAbsDiff(x, y)).toBeLessThan(1e-6);
  });

  it('window-square envelope: 1.25, 1.4047, 1.4786, 1.4986 at the first kept samples, then 1.5', () => {
    const w2 = hannWindow(16).map((v) => v * v);
    const envelope = (i: number): number => {
      const p = i + 8; // padded index of output sample i
      let sum = 0;
      for (let f = 0; 4 * f <= p; f++) if (p - 4 * f < 16) sum += w2[p - 4 * f] ?? 0;
      return sum;
    };
    const expected = [1.25, 1.4047, 1.4786, 1.4986, 1.5, 1.5, 1.5];
    expected.forEach((e, i) => {
      expect(envelope(i)).toBeCloseTo(e, 4);
    });
  });

  it('IstftStream: any frame chunking reproduces istft bit for bit', () => {
    const spec = lcgInput('istft16.output');
    const frames = spec.length / 18;
    const oneShot = istft(spec, plan);
    const stream = new IstftStream(plan);
    for (const sizes of [[1], [2, 5], [frames], [50, 1, 13]]) {
      const parts: number[] = [];
      let f = 0;
      let k = 0;
      while (f < frames) {
        const n = Math.min(sizes[k++ % sizes.length] ?? 1, frames - f);
        const chunk = new Float32Array(18 * n);
        for (let row = 0; row < 18; row++) {
          for (let j = 0; j < n; j++) chunk[row * n + j] = spec[row * frames + f + j] ?? 0;
        }
        parts.push(...stream.push(chunk));
        f += n;
      }
      expect(stream.framesPushed).toBe(frames);
      parts.push(...stream.flush());
      expect(bitEqual(Float32Array.from(parts), oneShot)).toBe(true);
    }
  });

  it('stft writes into a caller Float64Array', () => {
    const x = lcg(8, 100);
    const out = new Float64Array(18 * 26);
    expect(stft(x, plan, out)).toBe(out);
    expect(maxAbsDiff(out, stft(x, plan))).toBeLessThan(1e-6);
  });
});

describe('generic STFT (nFft 512, hop 128, winLength 400, constant padding)', () => {
  const plan = createStftPlan({ nFft: 512, hopLength: 128, winLength: 400, padMode: 'constant' });

  it('matches torch.stft and torch.istft', () => {
    const input = lcgInput('stft512.output');
    const ref = readGolden('stft512.output');
    expect(ref.shape).toEqual([514, 1 + Math.floor(input.length / 128)]);
    const spec = stft(input, plan);
    const err = maxAbsDiff(ref.data, spec);
    report('stft512 max abs vs torch.stft float64', err);
    expect(err).toBeLessThanOrEqual(1e-5);
    const ierr = maxAbsDiff(readGolden('istft512.output').data, istft(ref.data, plan));
    report('istft512 max abs vs torch.istft float64', ierr);
    expect(ierr).toBeLessThanOrEqual(1e-6);
  });
});

describe('windows and padding', () => {
  it('periodic/symmetric Hann and numpy-style Hamming', () => {
    [0, 0.5, 1, 0.5].forEach((v, i) => {
      expect(hannWindow(4)[i]).toBeCloseTo(v, 15);
    });
    [0, 0.75, 0.75, 0].forEach((v, i) => {
      expect(hannWindow(4, false)[i]).toBeCloseTo(v, 15);
    });
    const h = hammingWindow(7680);
    expect(h[0]).toBeCloseTo(0.08, 15);
    expect(h[7679]).toBeCloseTo(0.08, 15);
    expect(h[3839]).toBeGreaterThan(0.99999);
    expect(hannWindow(1)).toEqual(Float64Array.of(1));
  });

  it('reflect padding does not repeat the edge sample', () => {
    expect(Array.from(padSignal([1, 2, 3, 4], 2, 'reflect'))).toEqual([3, 2, 1, 2, 3, 4, 3, 2]);
    expect(Array.from(padSignal([1, 2], 1, 'constant'))).toEqual([0, 1, 2, 0]);
    expect(() => padSignal([1, 2], 2, 'reflect')).toThrow(/^ERR_INVALID_INPUT: reflect padding of 2 samples/);
  });

  it('rejects invalid plans and inputs', () => {
    expect(() => createStftPlan({ nFft: 16, winLength: 32 })).toThrow(/winLength must be ≤ nFft/);
    expect(() => createStftPlan({ nFft: 16, window: new Float64Array(10) })).toThrow(/window length must equal/);
    const plan = createStftPlan({ nFft: 16, hopLength: 4 });
    expect(() => stft(new Float32Array(8), plan)).toThrow(/ERR_INVALID_INPUT/);
    expect(() => istft(new Float32Array(17), plan)).toThrow(/not a multiple of 2·numBins = 18/);
    const zero = createStftPlan({ nFft: 16, hopLength: 4, window: new Float64Array(16) });
    expect(() => istft(new Float32Array(18 * 4), zero)).toThrow(/NOLA/);
  });
});
