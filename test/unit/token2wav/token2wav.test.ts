/**
 * Offline and streaming token2wav on the tiny fixture package against the reference e2e golden
 * (test/fixtures/golden/e2e.npz: `token2wav_offline` / `token2wav_streaming` of tools/reference/pipeline.py with
 * vocoder noise from Xoshiro128(seed + 1)): waveform, chunk schedule (offset, tokens passed, samples per chunk),
 * LM pacing, abort; and measurements of offline vs streaming, a small first hop, bounded context and the
 * int8 / q4 variants (printed; asserted only loosely).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { FlowChunkPlan } from '../../../src/models/chunk-policy.ts';
import { streamSchedule } from '../../../src/models/chunk-policy.ts';
import type { FlowPrompt } from '../../../src/models/flow/flow-matcher.ts';
import { concatFrames, FlowMatcher } from '../../../src/models/flow/flow-matcher.ts';
import { Xoshiro128 } from '../../../src/models/lm/rng.ts';
import type { StreamingToken2WavOptions, WaveChunk } from '../../../src/models/token2wav.ts';
import { StreamingToken2Wav, tokensToWave } from '../../../src/models/token2wav.ts';
import { Vocoder } from '../../../src/models/vocoder/vocoder.ts';
import type { ModelPackage } from '../../../src/runtime/model-package.ts';
import type { OrtModule } from '../../../src/runtime/ort.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { floats, ints, maxAbsDiff, need, readNpz } from '../../helpers/npz.ts';
import { GOLDEN, openPackageDir, TINY_PACKAGE } from '../../helpers/package.ts';
import { joinSamples } from '../../helpers/audio.ts';

const e2e = readNpz(join(GOLDEN, 'e2e.npz'));
const voiceNpz = readNpz(join(GOLDEN, 'voice.npz'));
const tokens = ints(need(e2e, 'tokens'));
const seed = ints(need(e2e, 'seed'))[0] ?? 0;
const voice: FlowPrompt = {
  promptTokens: ints(need(voiceNpz, 'prompt_tokens')),
  promptFeat: floats(need(voiceNpz, 'prompt_feat')),
  embedding: floats(need(voiceNpz, 'embedding')),
};
const offlineGolden = floats(need(e2e, 'offline_wave'));
const streamGolden = floats(need(e2e, 'stream_wave'));

let pkg: ModelPackage;
let ort: OrtModule;
let flow: FlowMatcher;
let vocoder: Vocoder;

beforeAll(async () => {
  pkg = await openPackageDir(TINY_PACKAGE);
  ort = await loadOrt('wasm');
  flow = await FlowMatcher.create(pkg, ort, { device: 'wasm', dtype: 'fp32' });
  vocoder = await Vocoder.create(pkg, ort, { device: 'wasm', dtype: 'fp32' });
});
afterAll(async () => {
  await Promise.all([flow.release(), vocoder.release()]);
});

const melOfChunks = (chunks: readonly WaveChunk[]): Float32Array =>
  concatFrames(
    chunks.map((c) => c.mel),
    80,
  ).data;
const peak = (x: ArrayLike<number>): number => Array.from(x).reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const rms = (x: ArrayLike<number>): number => Math.sqrt(Array.from(x).reduce((s, v) => s + v * v, 0) / x.length);

async function stream(
  batches: Iterable<number[]>,
  options: Partial<StreamingToken2WavOptions> = {},
  f: FlowMatcher = flow,
  v: Vocoder = vocoder,
  utteranceSeed = seed,
): Promise<WaveChunk[]> {
  const s = new StreamingToken2Wav(f, v, voice, { rng: new Xoshiro128(utteranceSeed + 1), ...options });
  const chunks: WaveChunk[] = [];
  for await (const chunk of s.run(batches)) chunks.push(chunk);
  expect(s.done).toBe(true);
  return chunks;
}

describe('offline tokensToWave', () => {
  it('equals the reference offline waveform', async () => {
    const chunk = await tokensToWave(flow, vocoder, voice, tokens, { rng: new Xoshiro128(seed + 1) });
    const err = maxAbsDiff(chunk.samples, offlineGolden);
    console.log(
      `offline wave: max|Δ| ${err.toExponential(2)} (peak ${peak(offlineGolden).toFixed(3)}); flow ${chunk.timings.flowMs.toFixed(0)} ms, vocoder ${chunk.timings.vocoderMs.toFixed(0)} ms`,
    );
    expect(chunk.final).toBe(true);
    expect(chunk.samples.length).toBe(2 * tokens.length * 480);
    // measured 5e-6: flow mel ≤ 1.3e-6 and HiFT ≤ 5e-6 against torch (see the flow and vocoder tests)
    expect(err).toBeLessThanOrEqual(1e-4);
  });

  it('speed changes the length to 480·⌊2N / speed⌋ samples', async () => {
    const chunk = await tokensToWave(flow, vocoder, voice, tokens, { rng: new Xoshiro128(1), speed: 1.5 });
    expect(chunk.samples.length).toBe(Math.trunc((2 * tokens.length) / 1.5) * 480);
  });
});

describe('streaming StreamingToken2Wav', () => {
  it('chunk schedule and samples equal the reference; waveform within tolerance', async () => {
    const chunks = await stream([tokens]);
    expect(chunks.map((c) => c.tokenOffset)).toEqual(ints(need(e2e, 'stream_chunk_offset')));
    expect(chunks.map((c) => c.tokensUsed)).toEqual(ints(need(e2e, 'stream_chunk_tokens_used')));
    expect(chunks.map((c) => c.samples.length)).toEqual(ints(need(e2e, 'stream_chunk_samples')));
    expect(chunks.map((c) => c.final)).toEqual([false, true]);
    const wave = joinSamples(chunks);
    const err = maxAbsDiff(wave, streamGolden);
    const vsOffline = maxAbsDiff(wave, offlineGolden);
    const diff = wave.map((v, i) => v - (offlineGolden[i] ?? 0));
    console.log(
      `stream wave: max|Δ| vs reference ${err.toExponential(2)}; offline vs streaming max|Δ| ${vsOffline.toFixed(4)}, rms ${rms(diff).toFixed(4)} (peak ${peak(offlineGolden).toFixed(3)})`,
    );
    for (const c of chunks) {
      console.log(
        `  chunk ${c.index}: offset ${c.tokenOffset}, tokens ${c.tokensUsed}, mel ${c.melFrames}, solved ${c.solvedFrames}, samples ${c.samples.length}, flow ${c.timings.flowMs.toFixed(0)} ms, vocoder ${c.timings.vocoderMs.toFixed(0)} ms`,
      );
    }
    // same error budget as offline: the chunks are the same flow / HiFT computations on sub-ranges
    expect(err).toBeLessThanOrEqual(1e-4);
    // the golden README records 0.049 between offline and streaming
    expect(vsOffline).toBeGreaterThan(1e-3);
    expect(vsOffline).toBeLessThan(0.1);
  });

  it('LM pacing (one token at a time) does not change the audio', async () => {
    const paced = joinSamples(await stream(tokens.map((t) => [t])));
    const err = maxAbsDiff(paced, streamGolden);
    expect(err).toBeLessThanOrEqual(1e-4);
  });

  it('emits the first chunk as soon as first hop + look-ahead tokens exist', async () => {
    // the golden schedule: the first chunk uses first hop + look-ahead tokens, the second (final) one starts at the hop
    const used = ints(need(e2e, 'stream_chunk_tokens_used'));
    const offsets = ints(need(e2e, 'stream_chunk_offset'));
    expect(used.length).toBe(2);
    const firstNeeds = used[0] ?? 0;
    const s = new StreamingToken2Wav(flow, vocoder, voice, { rng: new Xoshiro128(seed + 1) });
    s.push(tokens.slice(0, firstNeeds - 1));
    expect(s.ready).toBe(false);
    expect(await s.next()).toBeUndefined();
    s.push(tokens.slice(firstNeeds - 1, firstNeeds));
    expect(s.ready).toBe(true);
    const first = await s.next();
    expect(first).toMatchObject({ index: 0, tokenOffset: 0, tokensUsed: firstNeeds, final: false });
    s.push(tokens.slice(firstNeeds));
    expect(await s.next()).toBeUndefined(); // the next hop + look-ahead are not there, and the LM has not finished
    s.end();
    expect(() => {
      s.push([1]);
    }).toThrow(/after end/);
    const last = await s.next();
    expect(last).toMatchObject({ index: 1, tokenOffset: offsets[1], tokensUsed: tokens.length, final: true });
    expect(await s.next()).toBeUndefined();
  });

  it('abort mid-stream rejects with the abort reason and stops running the graphs', async () => {
    const controller = new AbortController();
    let steps = 0;
    const s = new StreamingToken2Wav(flow, vocoder, voice, {
      rng: new Xoshiro128(seed + 1),
      onStep: () => {
        steps += 1;
      },
    });
    const got: WaveChunk[] = [];
    const run = async (): Promise<void> => {
      for await (const chunk of s.run([tokens], controller.signal)) {
        got.push(chunk);
        controller.abort();
      }
    };
    await expect(run()).rejects.toMatchObject({ name: 'AbortError' });
    expect(got).toHaveLength(1);
    expect(steps).toBe(10); // the second flow call never started
    expect(s.done).toBe(false);
    await expect(s.next()).rejects.toThrow(/failed or was aborted/);
  });

  it('a token outside the vocabulary fails the chunk with ERR_INVALID_INPUT', async () => {
    const s = new StreamingToken2Wav(flow, vocoder, voice, { rng: new Xoshiro128(1) });
    s.push([...tokens.slice(0, 40), 7000]);
    await expect(s.next()).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });
});

describe('schedule options (measured on the tiny model)', () => {
  it('firstHop: time to first audio vs accuracy', async () => {
    const base = await stream([tokens]);
    const baseWave = joinSamples(base);
    for (const firstHop of [13, 10]) {
      const chunks = await stream([tokens], { policy: { firstHop } });
      const wave = joinSamples(chunks);
      expect(wave.length).toBe(baseWave.length);
      const hop = chunks[0]?.tokenOffset === 0 ? firstHop : NaN;
      const diff = wave.map((v, i) => v - (baseWave[i] ?? 0));
      const melDiff = maxAbsDiff(melOfChunks(chunks), melOfChunks(base));
      // where the difference sits: inside the first hop (2·hop frames), or after it
      const head = diff.subarray(0, 2 * hop * 480);
      const after = diff.subarray(2 * hop * 480 + 3840);
      console.log(
        `firstHop ${firstHop}: first audio after ${firstHop + 3} tokens (upstream ${38 + 3}), chunks ${chunks.map((c) => c.samples.length).join('/')}; ` +
          `vs upstream schedule: mel max|Δ| ${melDiff.toFixed(4)}, wave max|Δ| ${peak(diff).toFixed(4)} (first hop ${peak(head).toFixed(4)}, after it ${peak(after).toFixed(4)}), rms ${rms(diff).toFixed(4)}`,
      );
      expect(chunks[0]?.tokensUsed).toBe(firstHop + 3);
      expect(peak(diff)).toBeLessThan(0.2);
      if (firstHop === 13) expect(melDiff).toBeLessThanOrEqual(1e-5); // grid-aligned: the same mel
    }
  });

  it('firstHop aligned with the chunk grid leaves the flow mel unchanged', async () => {
    // P = 87: P + 13 = 100 is a chunk boundary; the mel of the first hop equals the upstream schedule's
    const plans = streamSchedule(tokens.length, { promptTokens: 87, firstHop: 13 });
    const melOf = async (plan: FlowChunkPlan): Promise<Float32Array> =>
      (
        await flow.decode(voice, tokens.slice(0, plan.tokenEnd), {
          streaming: plan.streaming,
          finalize: plan.finalize,
          tokenOffset: plan.tokenOffset,
        })
      ).mel.data;
    const first = plans[0];
    if (first === undefined) throw new Error('no plan');
    const small = await melOf(first); // 26 frames
    const upstream = await melOf(streamSchedule(tokens.length, { promptTokens: 87 })[0] ?? first); // 76 frames
    let err = 0;
    for (let b = 0; b < 80; b++) {
      err = Math.max(err, maxAbsDiff(small.subarray(b * 26, (b + 1) * 26), upstream.subarray(b * 76, b * 76 + 26)));
    }
    // unaligned first hop 10: the partial chunk sees fewer frames
    const unaligned = await melOf({ ...first, tokenEnd: 13, emitEnd: 10 });
    let errUnaligned = 0;
    for (let b = 0; b < 80; b++) {
      errUnaligned = Math.max(
        errUnaligned,
        maxAbsDiff(unaligned.subarray(b * 20, (b + 1) * 20), upstream.subarray(b * 76, b * 76 + 20)),
      );
    }
    // …and the second call (tokens[:41]) is upstream's first call again: frames from the first boundary on agree
    const second = await melOf({ ...first, index: 1, tokenOffset: 10, tokenEnd: 41, emitEnd: 38 }); // 56 frames
    let errSecond = 0;
    for (let b = 0; b < 80; b++) {
      errSecond = Math.max(
        errSecond,
        maxAbsDiff(second.subarray(b * 56, (b + 1) * 56), upstream.subarray(b * 76 + 20, (b + 1) * 76)),
      );
    }
    expect(errSecond).toBe(0);
    console.log(
      `first-hop mel vs upstream: aligned (13) ${err.toExponential(2)}, unaligned (10) ${errUnaligned.toFixed(4)}`,
    );
    expect(err).toBeLessThanOrEqual(1e-5);
    expect(errUnaligned).toBeGreaterThan(1e-3);
  });

  it('flow steps: a coarser first chunk only changes the first chunk; fewer steps everywhere change every chunk', async () => {
    const base = await stream([tokens]);
    const firstCoarse = await stream([tokens], { steps: { firstChunk: 4 } });
    expect(firstCoarse.map((c) => c.melFrames)).toEqual(base.map((c) => c.melFrames));
    expect(base.length).toBeGreaterThan(1);
    // chunk 0: the 4-step solve of upstream's first flow call (plan of the default schedule)
    const plan = streamSchedule(tokens.length, { promptTokens: voice.promptTokens.length })[0];
    if (plan === undefined) throw new Error('no plan');
    const coarse = await flow.decode(voice, tokens.slice(0, plan.tokenEnd), {
      streaming: plan.streaming,
      finalize: plan.finalize,
      tokenOffset: plan.tokenOffset,
      steps: 4,
    });
    expect(maxAbsDiff(firstCoarse[0]?.mel.data ?? [], coarse.mel.data)).toBe(0);
    const firstChunkChange = maxAbsDiff(firstCoarse[0]?.mel.data ?? [], base[0]?.mel.data ?? []);
    expect(firstChunkChange).toBeGreaterThan(1e-2);
    // later chunks re-solve the whole prefix with the full step count: the same mel as upstream's schedule
    for (let i = 1; i < base.length; i++) {
      expect(maxAbsDiff(firstCoarse[i]?.mel.data ?? [], base[i]?.mel.data ?? [])).toBe(0);
    }
    const allCoarse = await stream([tokens], { steps: { every: 4 } });
    for (let i = 0; i < base.length; i++) {
      expect(maxAbsDiff(allCoarse[i]?.mel.data ?? [], base[i]?.mel.data ?? [])).toBeGreaterThan(1e-2);
    }
    const waveDiff = maxAbsDiff(joinSamples(firstCoarse), joinSamples(base));
    console.log(
      `flow steps (tiny, random weights): first chunk at 4 steps changes its mel by max ${firstChunkChange.toFixed(3)} ` +
        `(mel peak ${peak(melOfChunks(base)).toFixed(2)}), the waveform by max ${waveDiff.toFixed(4)}; ` +
        `flow ms first chunk ${firstCoarse[0]?.timings.flowMs.toFixed(0)} vs ${base[0]?.timings.flowMs.toFixed(0)}`,
    );
  });

  it('rejects a step count outside [1, 50] with the option name', () => {
    expect(() => new StreamingToken2Wav(flow, vocoder, voice, { rng: new Xoshiro128(1), steps: { every: 0 } })).toThrow(
      /steps\.every must be an integer in \[1, 50\], got 0/,
    );
    expect(
      () => new StreamingToken2Wav(flow, vocoder, voice, { rng: new Xoshiro128(1), steps: { firstChunk: 1.5 } }),
    ).toThrow(/steps\.firstChunk must be an integer/);
  });

  it('bounded context: flat per-chunk flow cost, accuracy cost vs the full prefix', async () => {
    // a long utterance: the e2e tokens repeated (the tiny noise buffer holds 1000 frames = 2·(87 + 413))
    const long = Array.from({ length: 400 }, (_, i) => tokens[i % tokens.length] ?? 0);
    const full = await stream([long], {}, flow, vocoder, 7);
    const fullWave = joinSamples(full);
    for (const contextTokens of [100, 50]) {
      const bounded = await stream([long], { policy: { contextTokens } }, flow, vocoder, 7);
      const wave = joinSamples(bounded);
      expect(wave.length).toBe(fullWave.length);
      const diff = wave.map((v, i) => v - (fullWave[i] ?? 0));
      const fullMel = melOfChunks(full);
      const melDiff = maxAbsDiff(melOfChunks(bounded), fullMel);
      const melRms = rms(melOfChunks(bounded).map((v, i) => v - (fullMel[i] ?? 0)));
      console.log(
        `bounded context K=${contextTokens}: solved frames per chunk ${bounded.map((c) => c.solvedFrames).join('/')} ` +
          `(full prefix ${full.map((c) => c.solvedFrames).join('/')}); vs full prefix: mel max|Δ| ${melDiff.toFixed(4)} rms ${melRms.toFixed(4)} (mel peak ${peak(fullMel).toFixed(2)}, rms ${rms(fullMel).toFixed(2)}), wave max|Δ| ${peak(diff).toFixed(4)}, rms ${rms(diff).toFixed(5)} (peak ${peak(fullWave).toFixed(3)}); ` +
          `flow ms ${bounded.map((c) => c.timings.flowMs.toFixed(0)).join('/')} vs ${full.map((c) => c.timings.flowMs.toFixed(0)).join('/')}`,
      );
      const maxSolved = Math.max(...bounded.map((c) => c.solvedFrames));
      expect(maxSolved).toBeLessThanOrEqual(2 * (87 + contextTokens + 25 + 100 + 3));
      expect(peak(diff)).toBeLessThan(0.5);
    }
  });
});

/**
 * Waveform error of the quantised flow (+ the fp32-only tiny HiFT) against the fp32 goldens, as a fraction of the
 * waveform's peak. Measured on the tiny package (2026-12-04, peak 0.493): int8 offline 0.0265 / stream 0.0178, q4
 * 0.0348 / 0.0341, i.e. ≤ 5.4 % / 7.1 %; the bounds are about twice that. Audio error is larger than the mel error
 * (tiny/flow: 0.65 % / 4 %) because HiFT's random weights amplify it.
 */
const WAVE_VARIANT_ERROR: Record<'int8' | 'q4', number> = { int8: 0.11, q4: 0.14 };

describe('variants: waveform error against the fp32 goldens', () => {
  it.each(['int8', 'q4'] as const)('%s offline and streaming', async (dtype) => {
    const f = await FlowMatcher.create(pkg, ort, { device: 'wasm', dtype });
    const v = await Vocoder.create(pkg, ort, { device: 'wasm', dtype });
    try {
      const offline = await tokensToWave(f, v, voice, tokens, { rng: new Xoshiro128(seed + 1) });
      const streamed = joinSamples(await stream([tokens], {}, f, v));
      const offErr = maxAbsDiff(offline.samples, offlineGolden);
      const streamErr = maxAbsDiff(streamed, streamGolden);
      console.log(
        `${dtype}: offline wave max|Δ| ${offErr.toFixed(4)}, rms ${rms(offline.samples.map((x, i) => x - (offlineGolden[i] ?? 0))).toFixed(4)}; stream wave max|Δ| ${streamErr.toFixed(4)} (peak ${peak(offlineGolden).toFixed(3)})`,
      );
      const scale = peak(offlineGolden);
      expect(offErr / scale).toBeLessThanOrEqual(WAVE_VARIANT_ERROR[dtype]);
      expect(streamErr / scale).toBeLessThanOrEqual(WAVE_VARIANT_ERROR[dtype]);
      expect(offErr).toBeGreaterThan(1e-3); // the quantised flow ran (fp32 would be ~1e-5)
    } finally {
      await Promise.all([f.release(), v.release()]);
    }
  });
});
