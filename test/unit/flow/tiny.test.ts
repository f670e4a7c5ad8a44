/**
 * FlowMatcher on the tiny fixture package against the PyTorch reference goldens (test/fixtures/golden/flow.npz,
 * voice.npz): encoder (full attention; chunk masks with the last 3 tokens as look-ahead), speaker projection, the
 * Euler states fed to steps 2 and 10, the solver output (10 steps, and 4 steps on request). The int8 / q4 variants run too; their error is printed,
 * not asserted tight (quantisation, not the runner, sets it).
 */
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { FlowPrompt, Mel } from '../../../src/models/flow/flow-matcher.ts';
import { FlowMatcher, sliceFrames } from '../../../src/models/flow/flow-matcher.ts';
import type { ModelPackage } from '../../../src/runtime/model-package.ts';
import type { OrtModule } from '../../../src/runtime/ort.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { floats, ints, maxAbsDiff, need, readNpz } from '../../helpers/npz.ts';
import { GOLDEN, openPackageDir, TINY_PACKAGE } from '../../helpers/package.ts';

const flowNpz = readNpz(join(GOLDEN, 'flow.npz'));
const voiceNpz = readNpz(join(GOLDEN, 'voice.npz'));
const tokens = ints(need(flowNpz, 'tokens'));
const promptTokens = ints(need(voiceNpz, 'prompt_tokens'));
const prompt: FlowPrompt = {
  promptTokens,
  promptFeat: floats(need(voiceNpz, 'prompt_feat')),
  embedding: floats(need(voiceNpz, 'embedding')),
};
const P = promptTokens.length;
const all = [...promptTokens, ...tokens];
const golden = (name: string): Float32Array => floats(need(flowNpz, name));

let pkg: ModelPackage;
let ort: OrtModule;
let flow: FlowMatcher;

beforeAll(async () => {
  pkg = await openPackageDir(TINY_PACKAGE);
  ort = await loadOrt('wasm');
  flow = await FlowMatcher.create(pkg, ort, { device: 'wasm', dtype: 'fp32' });
});
afterAll(async () => {
  await flow.release();
});

describe('tiny flow goldens (fp32)', () => {
  it('encoder: mu (full), mu (chunk masks + look-ahead), spks within 1e-5', async () => {
    const full = await flow.encode(all, [], false, prompt.embedding);
    const stream = await flow.encode(all.slice(0, -3), all.slice(-3), true, prompt.embedding);
    const errs = {
      muFull: maxAbsDiff(full.mu.data, golden('mu_full')),
      muStream: maxAbsDiff(stream.mu.data, golden('mu_stream_lookahead')),
      spks: maxAbsDiff(full.spks, golden('spks')),
    };
    console.log('tiny flow encoder max|Δ|', errs);
    expect(full.mu.frames).toBe(2 * all.length);
    expect(stream.mu.frames).toBe(2 * (all.length - 3));
    expect(Math.max(...Object.values(errs))).toBeLessThanOrEqual(1e-5);
  });

  it('Euler states at steps 2 and 10 and the mel within 1e-4', async () => {
    const frames = 2 * all.length;
    const mu: Mel = { bins: 80, frames, data: golden('mu_full') };
    const cond = new Float32Array(80 * frames);
    for (let j = 0; j < 2 * P; j++)
      for (let b = 0; b < 80; b++) cond[b * frames + j] = prompt.promptFeat[j * 80 + b] ?? 0;
    const stepIndex = ints(need(flowNpz, 'x_step_index'));
    const xs = golden('x_steps');
    const stepErr: number[] = [];
    const mel = await flow.solve(mu, golden('spks'), { bins: 80, frames, data: cond }, false, {
      onStep: (k, _t, x) => {
        const at = stepIndex.indexOf(k);
        if (at >= 0) stepErr.push(maxAbsDiff(x, xs.subarray(at * 80 * frames, (at + 1) * 80 * frames)));
      },
    });
    const melErr = maxAbsDiff(mel.data, golden('mel_full'));
    console.log(
      `tiny flow solve: x_steps max|Δ| ${Math.max(...stepErr).toExponential(2)}, mel ${melErr.toExponential(2)}`,
    );
    expect(stepErr).toHaveLength(2);
    expect(Math.max(...stepErr)).toBeLessThanOrEqual(1e-4);
    expect(melErr).toBeLessThanOrEqual(1e-4);
  });

  it('fewer Euler steps: a 4-step solve equals the reference 4-step solve within 1e-4', async () => {
    const frames = 2 * all.length;
    const cond = new Float32Array(80 * frames);
    for (let j = 0; j < 2 * P; j++)
      for (let b = 0; b < 80; b++) cond[b * frames + j] = prompt.promptFeat[j * 80 + b] ?? 0;
    let calls = 0;
    const mel = await flow.solve(
      { bins: 80, frames, data: golden('mu_full') },
      golden('spks'),
      { bins: 80, frames, data: cond },
      false,
      { steps: 4, onStep: () => calls++ },
    );
    expect(calls).toBe(4);
    expect(maxAbsDiff(mel.data, golden('mel_full_4_steps'))).toBeLessThanOrEqual(1e-4);
    // and the step count really changes the result (else this test could not tell 4 from 10)
    expect(maxAbsDiff(golden('mel_full_4_steps'), golden('mel_full'))).toBeGreaterThan(1e-2);
    const decoded = await flow.decode(prompt, tokens, { streaming: false, finalize: true, steps: 4 });
    const reference = sliceFrames({ bins: 80, frames, data: golden('mel_full_4_steps') }, 2 * P);
    expect(maxAbsDiff(decoded.mel.data, reference.data)).toBeLessThanOrEqual(1e-4);
  });

  it.each([0, 51, 2.5, NaN])('rejects %s Euler steps with a clear error', async (steps) => {
    await expect(flow.decode(prompt, tokens, { streaming: false, finalize: true, steps })).rejects.toThrow(
      /steps must be an integer in \[1, 50\]/,
    );
  });

  it('decode (offline) returns the generated frames of the reference mel', async () => {
    const { mel, solvedFrames } = await flow.decode(prompt, tokens, { streaming: false, finalize: true });
    expect(solvedFrames).toBe(2 * all.length);
    const reference = sliceFrames({ bins: 80, frames: 2 * all.length, data: golden('mel_full') }, 2 * P);
    expect(mel.frames).toBe(2 * tokens.length);
    expect(maxAbsDiff(mel.data, reference.data)).toBeLessThanOrEqual(1e-4);
  });

  it('a noise gap gives frames after the gap the columns they have without it', () => {
    const gapped = flow.initialNoise(30, { at: 10, skip: 50 });
    const plain = flow.initialNoise(80);
    for (let b = 0; b < 80; b++) {
      expect(Array.from(gapped.subarray(b * 30, b * 30 + 10))).toEqual(Array.from(plain.subarray(b * 80, b * 80 + 10)));
      expect(Array.from(gapped.subarray(b * 30 + 10, (b + 1) * 30))).toEqual(
        Array.from(plain.subarray(b * 80 + 60, (b + 1) * 80)),
      );
    }
  });

  it('reports a noise buffer that is too short for the request', async () => {
    const long = new Array<number>(500 - P).fill(1); // 2·(87 + 413) = 1000 frames fit, 1002 do not
    await expect(flow.decode(prompt, [...long, 1], { streaming: false, finalize: true })).rejects.toThrow(
      /needs 1002 frames of CFM noise but the model package's noise buffer has 1000/,
    );
  });
});

/**
 * Error of the quantised flow against the fp32 reference mel, as a fraction of the mel's peak. Measured on the tiny
 * package (2026-12-04): int8 2.66e-2 / q4 1.63e-1 at a peak of 4.09, i.e. 0.65 % / 4.0 %; the bounds are twice that,
 * so a broken quantiser (wrong scale, wrong zero point, a block layout mismatch) fails while kernel-rounding noise
 * does not. A lower bound > 0 proves the quantised graph ran (a silent fp32 fallback would give ~1e-5).
 */
const FLOW_VARIANT_MEL_ERROR: Record<'int8' | 'q4', number> = { int8: 0.013, q4: 0.08 };

describe('tiny flow variants: error against the fp32 reference', () => {
  it.each(['int8', 'q4'] as const)('%s', async (dtype) => {
    const variant = await FlowMatcher.create(pkg, ort, { device: 'wasm', dtype });
    try {
      const encoded = await variant.encode(all, [], false, prompt.embedding);
      const { mel } = await variant.decode(prompt, tokens, { streaming: false, finalize: true });
      const reference = sliceFrames({ bins: 80, frames: 2 * all.length, data: golden('mel_full') }, 2 * P);
      const muErr = maxAbsDiff(encoded.mu.data, golden('mu_full'));
      const melErr = maxAbsDiff(mel.data, reference.data);
      const peak = reference.data.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      console.log(
        `tiny flow ${dtype}: mu max|Δ| ${muErr.toExponential(2)}, mel max|Δ| ${melErr.toExponential(2)} (mel peak ${peak.toFixed(2)})`,
      );
      expect(melErr / peak).toBeLessThanOrEqual(FLOW_VARIANT_MEL_ERROR[dtype]);
      expect(melErr).toBeGreaterThan(1e-3);
    } finally {
      await variant.release();
    }
  });
});
