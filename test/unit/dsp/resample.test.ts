import { describe, expect, it } from 'vitest';
import { createResamplePlan, resample, resampleAudio, Resampler } from '../../../src/dsp/index.ts';
import { bitEqual, golden, lcg, readGolden, recording, report, snrDb } from './golden.ts';

/** The 0.25 s input clip of a rate, as tools/goldens/dsp.py cut or synthesised it. */
function clip(rate: number): Float32Array {
  const spec = golden.resampleClips[String(rate)];
  if (spec === undefined) throw new Error(`no clip at ${rate} Hz`);
  if (spec.kind === 'recording') {
    const start = spec.start ?? 0;
    return recording(spec.from ?? '').samples.slice(start, start + spec.length);
  }
  return readGolden(`resample.input.${rate}`).data;
}

describe('resample vs torchaudio.functional.resample (float32)', () => {
  it.each(golden.resamplePairs.map(([src, dst]) => [src, dst] as const))('%i Hz → %i Hz: SNR ≥ 90 dB', (src, dst) => {
    const ref = readGolden(`resample.${src}.${dst}`).data;
    const out = resampleAudio(clip(src), src, dst);
    expect(out.length).toBe(ref.length);
    const snr = snrDb(ref, out);
    report(`resample ${src}→${dst} SNR vs torchaudio float32`, snr, 'dB');
    expect(snr).toBeGreaterThanOrEqual(90);
  });
});

describe('resample is the exact torchaudio algorithm', () => {
  const exact = Object.keys(golden.files)
    .filter((k) => k.startsWith('resample64.'))
    .map((k) => k.split('.').slice(1).map(Number) as [number, number]);

  it.each(exact)('%i Hz → %i Hz equals float64 torchaudio to float32 rounding', (src, dst) => {
    const ref = readGolden(`resample64.${src}.${dst}`).data;
    const out = resampleAudio(clip(src), src, dst);
    const snr = snrDb(ref, out);
    report(`resample ${src}→${dst} SNR vs torchaudio float64`, snr, 'dB');
    expect(snr).toBeGreaterThanOrEqual(140);
  });

  it.each([
    [24000, 16000],
    [22050, 16000],
  ])('%i Hz → %i Hz stays ≥ 110 dB from transforms.Resample (upstream load_wav)', (src, dst) => {
    const snr = snrDb(readGolden(`resampleTransform.${src}.${dst}`).data, resampleAudio(clip(src), src, dst));
    report(`resample ${src}→${dst} SNR vs transforms.Resample`, snr, 'dB');
    expect(snr).toBeGreaterThanOrEqual(110);
  });
});

describe('resample plan arithmetic', () => {
  it('reduces the ratio by the gcd and uses torchaudio width ⌈6·o/(0.99·min(o,n))⌉', () => {
    const p = createResamplePlan(22050, 16000);
    expect([p.origStep, p.newStep, p.width]).toEqual([441, 320, Math.ceil((6 * 441) / (0.99 * 320))]);
    expect(createResamplePlan(24000, 16000).width).toBe(Math.ceil((6 * 3) / (0.99 * 2)));
  });

  it('output length is ⌈n·N/o⌉', () => {
    const p = createResamplePlan(44100, 16000);
    for (const n of [0, 1, 440, 441, 442, 44100, 12345]) {
      expect(p.outputLength(n)).toBe(Math.ceil((160 * n) / 441));
      expect(resample(new Float32Array(n), p).length).toBe(p.outputLength(n));
    }
  });

  it('equal rates copy the input', () => {
    const x = lcg(3, 100);
    const y = resampleAudio(x, 16000, 16000);
    expect(y).toEqual(x);
    expect(y).not.toBe(x);
  });

  it('a DC signal stays DC away from the edges (unity pass-band gain ≈ 1)', () => {
    const y = resampleAudio(new Float32Array(4410).fill(0.5), 44100, 16000);
    for (let i = 100; i < y.length - 100; i++) expect(Math.abs((y[i] ?? 0) - 0.5)).toBeLessThan(0.01);
  });

  it('rejects bad rates and options with the allowed values in the message', () => {
    expect(() => createResamplePlan(22050.5, 16000)).toThrow(
      /^ERR_INVALID_INPUT: origFreq must be a positive integer number of Hz, e\.g\. 16000/,
    );
    expect(() => createResamplePlan(16000, 0)).toThrow(/newFreq must be a positive integer/);
    expect(() => createResamplePlan(16000, 24000, { rolloff: 1.5 })).toThrow(/rolloff must be in \(0, 1\]/);
    expect(() => createResamplePlan(16000, 24000, { lowpassFilterWidth: 0 })).toThrow(/lowpassFilterWidth/);
    expect(() => resample(new Float32Array(10), createResamplePlan(16000, 24000), new Float32Array(3))).toThrow(
      /needs 15 values/,
    );
  });
});

describe('Resampler (streaming)', () => {
  const pairs: [number, number][] = [
    [22050, 16000],
    [24000, 16000],
    [16000, 24000],
    [44100, 24000],
    [48000, 16000],
    [8000, 24000],
    [16000, 16000],
  ];

  it.each(pairs)('%i → %i: any chunking gives exactly the one-shot output', (src, dst) => {
    const x = lcg(src + dst, 9000);
    const plan = createResamplePlan(src, dst);
    const oneShot = resample(x, plan);
    const rs = new Resampler(plan);
    for (const chunkSizes of [[1], [7, 300, 1], [441], [4096, 3]]) {
      const parts: Float32Array[] = [];
      let at = 0;
      let i = 0;
      while (at < x.length) {
        const size = chunkSizes[i++ % chunkSizes.length] ?? 1;
        const chunk = x.subarray(at, Math.min(at + size, x.length));
        expect(rs.pushOutputLength(chunk.length)).toBeGreaterThanOrEqual(0);
        const expectedCount = rs.pushOutputLength(chunk.length);
        const out = rs.push(chunk);
        expect(out.length).toBe(expectedCount);
        parts.push(out);
        at += chunk.length;
      }
      parts.push(rs.flush());
      const streamed = new Float32Array(parts.reduce((n, p) => n + p.length, 0));
      let o = 0;
      for (const p of parts) {
        streamed.set(p, o);
        o += p.length;
      }
      expect(bitEqual(streamed, oneShot)).toBe(true);
    }
  });

  it('writes into a caller buffer and resets after flush', () => {
    const rs = new Resampler([24000, 16000]);
    const x = lcg(11, 2400);
    const buffer = new Float32Array(4096);
    const head = rs.push(x, buffer).slice();
    const tail = rs.flush(buffer.subarray(head.length)).slice();
    const expected = resampleAudio(x, 24000, 16000);
    expect(Float32Array.from([...head, ...tail])).toEqual(expected);
    // A second signal after flush starts from scratch.
    const again = [...rs.push(x), ...rs.flush()];
    expect(Float32Array.from(again)).toEqual(expected);
    expect(() => rs.push(x, new Float32Array(1))).toThrow(/ERR_INVALID_INPUT: Resampler output needs/);
  });

  it('streams a real recording (22.05 kHz prompt → 16 kHz) identically to one-shot', () => {
    const x = recording('cross_lingual').samples;
    const plan = createResamplePlan(22050, 16000);
    const rs = new Resampler(plan);
    const out = new Float32Array(plan.outputLength(x.length));
    let o = 0;
    for (let at = 0; at < x.length; at += 4410) {
      const part = rs.push(x.subarray(at, at + 4410));
      out.set(part, o);
      o += part.length;
    }
    out.set(rs.flush(), o);
    expect(bitEqual(out, resample(x, plan))).toBe(true);
  });
});
