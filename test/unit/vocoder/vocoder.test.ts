/**
 * Vocoder against the upstream HiFT vectors (../shared/data/upstream-vectors/hift.npz, the README's suggested
 * procedure: F0; source from the stored noise; decoder + iSTFT fed the stored s; end to end) and the tiny fixture
 * golden (test/fixtures/golden/hift.npz, noise from `Xoshiro128(noise_seed)`), plus the streaming cache mechanics.
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { Xoshiro128 } from '../../../src/models/lm/rng.ts';
import type { Mel } from '../../../src/models/flow/flow-matcher.ts';
import { drawNormals, StreamingVocoder, Vocoder } from '../../../src/models/vocoder/vocoder.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import type { OrtModule } from '../../../src/runtime/ort.ts';
import type { ModelPackage } from '../../../src/runtime/model-package.ts';
import { floats, ints, maxAbsDiff, need, readNpz } from '../../helpers/npz.ts';
import { GOLDEN, openPackageDir, TINY_PACKAGE, UPSTREAM_PACKAGE, UPSTREAM_VECTORS } from '../../helpers/package.ts';

const upstream = readNpz(join(UPSTREAM_VECTORS, 'hift.npz'));
const tinyNpz = readNpz(join(GOLDEN, 'hift.npz'));
const u = (name: string): Float32Array => floats(need(upstream, name));
const t = (name: string): Float32Array => floats(need(tinyNpz, name));
const asMel = (data: Float32Array): Mel => ({ bins: 80, frames: data.length / 80, data });

let ort: OrtModule;
let upstreamVocoder: Vocoder;
let tinyPackage: ModelPackage;
let tiny: Vocoder;

beforeAll(async () => {
  ort = await loadOrt('wasm');
  upstreamVocoder = await Vocoder.create(await openPackageDir(UPSTREAM_PACKAGE), ort, {
    device: 'wasm',
    dtype: 'fp32',
  });
  tinyPackage = await openPackageDir(TINY_PACKAGE);
  tiny = await Vocoder.create(tinyPackage, ort, { device: 'wasm', dtype: 'fp32' });
});
afterAll(async () => {
  await Promise.all([upstreamVocoder.release(), tiny.release()]);
});

describe('upstream hift.npz', () => {
  const mel = asMel(u('mel'));
  const noise = u('source_noise');

  it('F0 within 5e-4 Hz', async () => {
    const err = maxAbsDiff(await upstreamVocoder.predictF0(mel), u('f0'));
    console.log(`upstream hift f0 max|Δ| ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(5e-4);
  });

  it('excitation head (SineGen2 from the stored noise) within 1e-3', async () => {
    const f0 = await upstreamVocoder.predictF0(mel);
    const head = u('dbg.sine_waves_head'); // [1, 2400, 9]
    const err = maxAbsDiff(upstreamVocoder.excitation(f0, noise).subarray(0, head.length), head);
    console.log(`upstream hift sine_waves_head max|Δ| ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-3);
  });

  it('end to end: source within 1e-3, waveform within 1e-3', async () => {
    const out = await upstreamVocoder.synthesize(mel, { noise });
    const sErr = maxAbsDiff(out.source, u('s'));
    const wErr = maxAbsDiff(out.samples, u('wave'));
    console.log(`upstream hift end to end: s max|Δ| ${sErr.toExponential(2)}, wave ${wErr.toExponential(2)}`);
    expect(out.samples.length).toBe(24 * 480);
    expect(sErr).toBeLessThanOrEqual(1e-3);
    expect(wErr).toBeLessThanOrEqual(1e-3);
  });

  it('decoder + iSTFT fed the stored s (through cache_source) within 1e-5', async () => {
    const s = u('s');
    const out = await upstreamVocoder.synthesize(mel, { noise, cacheSource: s });
    expect(Array.from(out.source)).toEqual(Array.from(s)); // the cache overwrote the whole source
    const err = maxAbsDiff(out.samples, u('wave'));
    console.log(`upstream hift decoder+iSTFT on stored s: wave max|Δ| ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-5);
  });

  it('validates noise length and cache length', async () => {
    await expect(upstreamVocoder.synthesize(mel, { noise: noise.subarray(1) })).rejects.toThrow(/noise must hold/);
    await expect(
      upstreamVocoder.synthesize(mel, { noise, cacheSource: new Float32Array(24 * 480 + 1) }),
    ).rejects.toThrow(/more than the 11520/);
    await expect(
      upstreamVocoder.synthesize({ bins: 79, frames: 1, data: new Float32Array(79) }, { noise }),
    ).rejects.toThrow(/80-bin mel/);
  });
});

describe('tiny hift.npz', () => {
  const mel = asMel(t('mel'));
  const seed = ints(need(tinyNpz, 'noise_seed'))[0] ?? 0;

  it('F0, source and waveform with noise from Xoshiro128(noise_seed)', async () => {
    const out = await tiny.synthesize(mel, { rng: new Xoshiro128(seed) });
    const errs = {
      f0: maxAbsDiff(out.f0, t('f0')),
      source: maxAbsDiff(out.source, t('source')),
      wave: maxAbsDiff(out.samples, t('wave')),
    };
    console.log('tiny hift max|Δ|', errs);
    // explicit noise = the same stream
    const again = await tiny.synthesize(mel, { noise: drawNormals(new Xoshiro128(seed), 40 * 480 * 9) });
    expect(Array.from(again.samples)).toEqual(Array.from(out.samples));
    expect(errs.f0).toBeLessThanOrEqual(5e-4);
    expect(errs.source).toBeLessThanOrEqual(1e-4);
    expect(errs.wave).toBeLessThanOrEqual(1e-4);
  });

  it('an empty mel gives no samples', async () => {
    const out = await tiny.synthesize({ bins: 80, frames: 0, data: new Float32Array(0) }, { rng: new Xoshiro128(1) });
    expect(out.samples.length).toBe(0);
  });
});

describe('StreamingVocoder', () => {
  const mel = asMel(t('mel')); // 40 frames

  it('chunk lengths follow the 8-frame / 3840-sample cache; the final chunk emits everything', async () => {
    const stream = new StreamingVocoder(tiny, new Xoshiro128(5));
    const part = (from: number, to: number): Mel => {
      const frames = to - from;
      const data = new Float32Array(80 * frames);
      for (let b = 0; b < 80; b++) data.set(mel.data.subarray(b * 40 + from, b * 40 + to), b * frames);
      return { bins: 80, frames, data };
    };
    const a = await stream.push(part(0, 20), { finalize: false });
    const b = await stream.push(part(20, 30), { finalize: false });
    const c = await stream.push(part(30, 40), { finalize: true });
    expect([a.length, b.length, c.length]).toEqual([20 * 480 - 3840, 10 * 480, 10 * 480 + 3840]);
    expect(a.length + b.length + c.length).toBe(40 * 480);
    // the whole mel in one final push is the offline synthesis with the same noise stream
    const whole = await new StreamingVocoder(tiny, new Xoshiro128(5)).push(mel, { finalize: true });
    const offline = await tiny.synthesize(mel, { rng: new Xoshiro128(5) });
    expect(Array.from(whole)).toEqual(Array.from(offline.samples));
    // a first non-final chunk shorter than the mel cache cannot withhold its tail
    await expect(new StreamingVocoder(tiny, new Xoshiro128(5)).push(part(0, 7), { finalize: false })).rejects.toThrow(
      /at least 8 mel frames/,
    );
  });
});

describe('tiny vocoder variants: the same samples as fp32', () => {
  it.each(['int8', 'q4'] as const)('%s', async (dtype) => {
    // the exporter ships hift graphs in fp32 only (quantising them costs audio quality for little size); the int8 /
    // q4 entries resolve to the fp32 files, so the samples must be the fp32 ones exactly
    for (const graph of ['hift_f0', 'hift_decoder'] as const) {
      const entries = tinyPackage.manifest.graphs[graph];
      expect(entries?.[dtype]?.file).toBe(entries?.fp32?.file);
    }
    const variant = await Vocoder.create(tinyPackage, ort, { device: 'wasm', dtype });
    try {
      const out = await variant.synthesize(asMel(t('mel')), { rng: new Xoshiro128(99) });
      const fp32 = await tiny.synthesize(asMel(t('mel')), { rng: new Xoshiro128(99) });
      expect(Array.from(out.samples)).toEqual(Array.from(fp32.samples));
    } finally {
      await variant.release();
    }
  });
});
