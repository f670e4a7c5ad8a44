/**
 * FlowMatcher against the upstream test vectors (../shared/data/upstream-vectors, computed by the upstream CosyVoice
 * modules; weights exported to build/upstream-package by the global setup): encoder mu for the three modes, the
 * speaker projection, the noise prefix, every Euler step, the solver output and the whole `flow.inference`.
 * Tolerances are the vectors' recommended ones (README "Tolerances"). Every size and id comes from the set's
 * config.json and arrays (`COSYVOICE_VECTORS_DIR` may name another set in the same layout).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { Mel } from '../../../src/models/flow/flow-matcher.ts';
import { eulerSchedule, FlowMatcher } from '../../../src/models/flow/flow-matcher.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { floats, ints, maxAbsDiff, need, readNpz } from '../../helpers/npz.ts';

import { openPackageDir, UPSTREAM_PACKAGE, UPSTREAM_VECTORS } from '../../helpers/package.ts';

const encoderNpz = readNpz(join(UPSTREAM_VECTORS, 'flow_encoder.npz'));
const cfmNpz = readNpz(join(UPSTREAM_VECTORS, 'cfm.npz'));
const inferenceNpz = readNpz(join(UPSTREAM_VECTORS, 'flow_inference.npz'));
/** The set's flow hyper-parameters (config.json → model.flow, the cosyvoice2.yaml structure). */
const flowJson = (
  JSON.parse(readFileSync(join(UPSTREAM_VECTORS, 'config.json'), 'utf8')) as {
    model: {
      flow: {
        vocab_size: number;
        output_size: number;
        spk_embed_dim: number;
        pre_lookahead_len: number;
        token_mel_ratio: number;
      };
    };
  }
).model.flow;
const BINS = flowJson.output_size;

const f = (npz: Map<string, ReturnType<typeof need>>, name: string): Float32Array => floats(need(npz, name));
const i = (npz: Map<string, ReturnType<typeof need>>, name: string): number[] => ints(need(npz, name));
const mel = (data: Float32Array): Mel => ({ bins: BINS, frames: data.length / BINS, data });
/** Frames of the solved mel (prompt + target tokens × token_mel_ratio), from the stored `mu` [1, bins, T]. */
const FRAMES = need(encoderNpz, 'full.mu').shape[2] ?? NaN;
const N_TIMESTEPS = i(cfmNpz, 'n_timesteps')[0] ?? NaN;

let flow: FlowMatcher;

beforeAll(async () => {
  const pkg = await openPackageDir(UPSTREAM_PACKAGE);
  flow = await FlowMatcher.create(pkg, await loadOrt('wasm'), { device: 'wasm', dtype: 'fp32' });
});
afterAll(async () => {
  await flow.release();
});

describe('upstream flow_encoder.npz', () => {
  const tokens = i(encoderNpz, 'tokens');
  const context = i(encoderNpz, 'context_token');
  const embedding = f(encoderNpz, 'embedding');

  it.each([
    ['full', [] as number[], false],
    ['stream_final', [] as number[], true],
    ['stream_ctx', context, true],
  ] as const)('mu (%s) within 1e-5, spks within 1e-5', async (mode, ctx, streaming) => {
    const { mu, spks } = await flow.encode(tokens, ctx, streaming, embedding);
    expect(mu.frames).toBe(FRAMES);
    const err = maxAbsDiff(mu.data, f(encoderNpz, `${mode}.mu`));
    const spksErr = maxAbsDiff(spks, f(encoderNpz, 'spks'));
    console.log(`upstream flow_encoder ${mode}: mu max|Δ| ${err.toExponential(2)}, spks ${spksErr.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-5);
    expect(spksErr).toBeLessThanOrEqual(1e-5);
  });

  it("validates tokens against the flow's own vocabulary, the context length and the embedding size", async () => {
    const vocab = flowJson.vocab_size;
    expect(flow.config.vocabSize).toBe(vocab); // manifest config.flow.vocabSize, not the LM's speech vocabulary
    expect(flow.config.spkEmbedDim).toBe(flowJson.spk_embed_dim);
    expect((await flow.encode([0, vocab - 1], [], false, embedding)).mu.frames).toBe(2 * flowJson.token_mel_ratio);
    await expect(flow.encode([1, vocab], [], false, embedding)).rejects.toThrow(
      new RegExp(`expected an integer in \\[0, ${vocab}\\)`),
    );
    const look = flowJson.pre_lookahead_len;
    await expect(flow.encode([1, 2], [1], false, embedding)).rejects.toThrow(
      new RegExp(`0 or ${look} look-ahead tokens`),
    );
    await expect(flow.encode([1, 2], [], false, embedding.subarray(1))).rejects.toThrow(
      new RegExp(`${flowJson.spk_embed_dim} values`),
    );
  });
});

describe('upstream cfm.npz', () => {
  const mu = mel(f(cfmNpz, 'mu'));
  const spks = f(cfmNpz, 'spks');
  const cond = mel(f(cfmNpz, 'cond'));

  it('t schedule equals upstream bit for bit (float32 running sum)', () => {
    const { t, dt } = eulerSchedule(N_TIMESTEPS);
    expect(t).toEqual(Array.from(f(cfmNpz, 'full.t_steps')));
    expect(t).toEqual(Array.from(f(cfmNpz, 'stream.t_steps')));
    const span = Array.from(f(cfmNpz, 't_span'));
    expect(t).toEqual(span.slice(0, N_TIMESTEPS));
    expect(Math.fround((t.at(-1) ?? 0) + (dt.at(-1) ?? 0))).toBe(1);
  });

  it('initial noise is the seed-0 buffer prefix', () => {
    expect(Array.from(flow.initialNoise(FRAMES))).toEqual(Array.from(f(cfmNpz, 'z')));
    const buffered = flow.config.noiseFrames;
    expect(() => flow.initialNoise(buffered + 1)).toThrow(new RegExp(`noise buffer has ${buffered}`));
  });

  it('every Euler step and the mel (full attention) within 1e-4', async () => {
    const xs = f(cfmNpz, 'full.x_steps');
    const size = BINS * FRAMES;
    const stepErr: number[] = [];
    const ts: number[] = [];
    const out = await flow.solve(mu, spks, cond, false, {
      onStep: (k, t, x) => {
        ts.push(t);
        stepErr.push(maxAbsDiff(x, xs.subarray(k * size, (k + 1) * size)));
      },
    });
    const melErr = maxAbsDiff(out.data, f(cfmNpz, 'full.mel'));
    console.log(
      `upstream cfm full: x_steps max|Δ| ${Math.max(...stepErr).toExponential(2)}, mel ${melErr.toExponential(2)}`,
    );
    expect(ts).toEqual(Array.from(f(cfmNpz, 'full.t_steps')));
    expect(Math.max(...stepErr)).toBeLessThanOrEqual(1e-4);
    expect(melErr).toBeLessThanOrEqual(1e-4);
  });

  it('mel with chunk attention within 1e-4', async () => {
    const out = await flow.solve(mu, spks, cond, true);
    const err = maxAbsDiff(out.data, f(cfmNpz, 'stream.mel'));
    console.log(`upstream cfm stream: mel max|Δ| ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-4);
  });

  it('aborts between steps', async () => {
    const controller = new AbortController();
    let steps = 0;
    const run = flow.solve(mu, spks, cond, false, {
      signal: controller.signal,
      onStep: (k) => {
        steps = k + 1;
        if (k === 2) controller.abort();
      },
    });
    await expect(run).rejects.toMatchObject({ name: 'AbortError' });
    expect(steps).toBe(3);
  });
});

describe('upstream flow_inference.npz', () => {
  const prompt = {
    promptTokens: i(inferenceNpz, 'prompt_token'),
    promptFeat: f(inferenceNpz, 'prompt_feat'), // [1, 14, 80] time-major
    embedding: f(inferenceNpz, 'embedding'),
  };

  it.each([
    ['full', 'token', false, true],
    ['stream_final', 'token', true, true],
    ['stream_ctx', 'token_stream_ctx', true, false],
  ] as const)('mel (%s) within 1e-4', async (mode, tokens, streaming, finalize) => {
    const result = await flow.decode(prompt, i(inferenceNpz, tokens), { streaming, finalize });
    expect(result.mel.frames).toBe(need(inferenceNpz, `${mode}.mel`).shape[2]);
    expect(result.solvedFrames).toBe(FRAMES);
    const err = maxAbsDiff(result.mel.data, f(inferenceNpz, `${mode}.mel`));
    console.log(`upstream flow.inference ${mode}: mel max|Δ| ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-4);
  });

  it('tokenOffset drops token_mel_ratio·offset frames of the same solve', async () => {
    const all = await flow.decode(prompt, i(inferenceNpz, 'token_stream_ctx'), { streaming: true, finalize: false });
    const offset = Math.floor(i(inferenceNpz, 'token').length / 2);
    const tail = await flow.decode(prompt, i(inferenceNpz, 'token_stream_ctx'), {
      streaming: true,
      finalize: false,
      tokenOffset: offset,
    });
    const dropped = offset * flowJson.token_mel_ratio;
    const n = all.mel.frames;
    expect(tail.mel.frames).toBe(n - dropped);
    for (let b = 0; b < BINS; b++) {
      expect(Array.from(tail.mel.data.subarray(b * (n - dropped), (b + 1) * (n - dropped)))).toEqual(
        Array.from(all.mel.data.subarray(b * n + dropped, (b + 1) * n)),
      );
    }
    await expect(flow.decode(prompt, [1, 2], { streaming: true, finalize: false })).rejects.toThrow(/look-ahead/);
  });
});
