/**
 * The incremental flow (`flow_step_incremental` driven by `FlowStream`) against today's re-solving path on the tiny
 * fixture package: every non-final chunk within 1e-5 (mel), the final chunk identical (both re-solve it with full
 * attention), for upstream's schedule, small first hops (on and off the chunk grid), a coarse first chunk and a
 * stream of ≥ 6 chunks; the per-voice prompt cache; the calls that must re-solve.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { ChunkPolicyOptions } from '../../../src/models/chunk-policy.ts';
import type { FlowMatcher, FlowPrompt } from '../../../src/models/flow/flow-matcher.ts';
import { IncrementalFlow } from '../../../src/models/flow/incremental-flow.ts';
import { promptCacheFrames } from '../../../src/models/flow/incremental-plan.ts';
import type { FlowSteps, MelChunk } from '../../../src/models/token2wav.ts';
import { FlowStream } from '../../../src/models/token2wav.ts';
import { parseManifest, stageDtypes, stageGraphs } from '../../../src/loader/manifest.ts';
import { ModelPackage } from '../../../src/runtime/model-package.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { maxAbsDiff } from '../../helpers/npz.ts';
import { openPackageDir, TINY_PACKAGE } from '../../helpers/package.ts';
import { loadTinyFlow, longestTokens as longest, MEL_TOLERANCE, tokens, voice } from './incremental-setup.ts';

let flow: FlowMatcher;
let incremental: IncrementalFlow;

beforeAll(async () => {
  ({ flow, incremental } = await loadTinyFlow());
});
afterAll(async () => {
  await Promise.all([flow.release(), incremental.release()]);
});

/** The longest utterance the package's noise buffer allows after the voice's prompt. */
function longestTokens(): number[] {
  return longest(flow);
}

async function streamMel(
  utterance: readonly number[],
  options: { policy?: Omit<ChunkPolicyOptions, 'promptTokens'>; steps?: FlowSteps; incremental?: IncrementalFlow },
): Promise<MelChunk[]> {
  const stream = new FlowStream(flow, voice, options);
  stream.push(utterance);
  stream.end();
  const chunks: MelChunk[] = [];
  for (let chunk = await stream.next(); chunk !== undefined; chunk = await stream.next()) chunks.push(chunk);
  expect(stream.done).toBe(true);
  return chunks;
}

/** Streams with and without the incremental path and compares chunk by chunk. */
async function compare(
  utterance: readonly number[],
  policy: Omit<ChunkPolicyOptions, 'promptTokens'> = {},
  steps: FlowSteps = {},
): Promise<{ baseline: MelChunk[]; cached: MelChunk[] }> {
  const baseline = await streamMel(utterance, { policy, steps });
  const cached = await streamMel(utterance, { policy, steps, incremental });
  expect(cached.map((c) => [c.tokenOffset, c.tokensUsed, c.mel.frames, c.final])).toEqual(
    baseline.map((c) => [c.tokenOffset, c.tokensUsed, c.mel.frames, c.final]),
  );
  const errors = cached.map((c, i) => maxAbsDiff(c.mel.data, baseline[i]?.mel.data ?? []));
  console.log(
    `${JSON.stringify(policy)} ${JSON.stringify(steps)}: ${cached.length} chunks, mel max|Δ| ${errors.map((e) => e.toExponential(1)).join(' ')}; ` +
      `solved frames ${baseline.map((c) => c.solvedFrames).join('/')} → ${cached.map((c) => c.solvedFrames).join('/')}`,
  );
  for (const [i, chunk] of cached.entries()) {
    expect(baseline[i]?.incremental).toBe(false);
    if (chunk.final) {
      // upstream's final call re-solves with full attention on both paths: the same computation
      expect(chunk.incremental).toBe(false);
      expect(errors[i]).toBe(0);
    } else {
      expect(chunk.incremental).toBe(true);
      expect(errors[i]).toBeLessThanOrEqual(MEL_TOLERANCE);
    }
  }
  return { baseline, cached };
}

describe('IncrementalFlow', () => {
  it('reads the cache layout from the graph and sizes the prompt cache from it', async () => {
    const { chunkTokens, preLookahead, tokenMelRatio, nTimesteps } = flow.config;
    const prefix = await incremental.promptPrefix(voice, nTimesteps);
    const frames = promptCacheFrames({
      promptTokens: voice.promptTokens.length,
      chunkTokens,
      lookahead: preLookahead,
      tokenMelRatio,
    });
    expect(prefix.frames).toBe(frames);
    expect(frames).toBeGreaterThan(0);
    expect(prefix.steps).toBe(nTimesteps);
    expect(prefix.caches.length).toBe(nTimesteps);
    const held = prefix.caches.reduce((n, c) => n + c.kv.byteLength + c.conv.byteLength, 0);
    expect(incremental.cacheBytes(frames, nTimesteps)).toBe(held);
    console.log(
      `prompt cache of a ${voice.promptTokens.length}-token voice: ${frames} frames × ${nTimesteps} steps = ` +
        `${(held / 1024).toFixed(1)} KiB (layout ${JSON.stringify(incremental.shape)})`,
    );
  });

  it('builds the prompt cache once per voice and step count, recognising a copied voice by content', async () => {
    const first = await incremental.promptPrefix(voice, 4);
    const embedding = Float32Array.from(voice.embedding);
    const copy: FlowPrompt = {
      promptTokens: Int32Array.from(voice.promptTokens),
      promptFeat: voice.promptFeat.slice(),
      embedding,
    };
    expect(await incremental.promptPrefix(copy, 4)).toBe(first);
    expect(await incremental.promptPrefix(voice, 5)).not.toBe(first);
    const other: FlowPrompt = { ...copy, embedding: embedding.map((v, i) => (i === 0 ? v + 1 : v)) };
    expect(await incremental.promptPrefix(other, 4)).not.toBe(first);
  });

  it('refuses a prefix that holds frames the call must emit', async () => {
    const prefix = await incremental.promptPrefix(voice, flow.config.nTimesteps);
    await expect(
      incremental.decode({ ...voice, promptTokens: [], promptFeat: new Float32Array(0) }, tokens, {
        finalize: true,
        prefix,
        keep: false,
      }),
    ).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
  });
});

describe('the optional graph in the manifest', () => {
  it('an older package without it loads and streams by re-solving; a partial one never narrows the flow dtypes', async () => {
    const pkg = await openPackageDir(TINY_PACKAGE);
    const { flow_step_incremental: shipped, ...older } = pkg.manifest.graphs;
    expect(shipped).toBeDefined();
    const without = new ModelPackage(parseManifest({ ...pkg.manifest, graphs: older }), {
      read: () => Promise.reject(new Error('not read')),
    });
    const ort = await loadOrt('wasm');
    expect(await IncrementalFlow.create(flow, without, ort, { device: 'wasm', dtype: 'fp32' })).toBeUndefined();
    expect(stageDtypes(without.manifest, 'flow')).toEqual(stageDtypes(pkg.manifest, 'flow'));
    expect(stageGraphs(without.manifest, 'flow', 'fp32')).toEqual(['flow_encoder', 'flow_step']);
    const fp32Only = parseManifest({
      ...pkg.manifest,
      graphs: { ...older, flow_step_incremental: { fp32: shipped?.fp32 } },
    });
    expect(stageDtypes(fp32Only, 'flow')).toEqual(stageDtypes(pkg.manifest, 'flow'));
    expect(stageGraphs(fp32Only, 'flow', 'fp32')).toEqual(['flow_encoder', 'flow_step', 'flow_step_incremental']);
    expect(stageGraphs(fp32Only, 'flow', 'int8')).toEqual(['flow_encoder', 'flow_step']);
  });
});

describe('FlowStream with the incremental flow equals the re-solving stream', () => {
  it("upstream's schedule", async () => {
    const { cached } = await compare(tokens);
    expect(cached.length).toBeGreaterThanOrEqual(2);
  });

  it('a small first hop on the chunk grid (= the prompt pad) and one off it', async () => {
    const { chunkTokens } = flow.config;
    const pad = Math.ceil(voice.promptTokens.length / chunkTokens) * chunkTokens - voice.promptTokens.length;
    await compare(tokens, { firstHop: pad });
    await compare(tokens, { firstHop: pad - 3 });
  });

  it('a stream of at least 6 chunks', async () => {
    const long = longestTokens();
    const { cached } = await compare(long);
    expect(cached.length).toBeGreaterThanOrEqual(6);
    // the non-final chunks together solve each frame once: from the prompt cache to the final chunk's start
    const { chunkTokens, preLookahead, tokenMelRatio } = flow.config;
    const promptTokens = voice.promptTokens.length;
    const finalStart = tokenMelRatio * (promptTokens + (cached.at(-1)?.tokenOffset ?? 0));
    const cachedFrames = promptCacheFrames({ promptTokens, chunkTokens, lookahead: preLookahead, tokenMelRatio });
    const solved = cached.filter((c) => !c.final).reduce((n, c) => n + c.solvedFrames, 0);
    expect(solved).toBe(finalStart - cachedFrames);
  });

  it('a coarse first chunk: later chunks start again from the prompt cache of their own step count', async () => {
    await compare(longestTokens(), {}, { firstChunk: 4 });
  });

  it('bounded context re-solves every call, as without the incremental flow', async () => {
    const long = longestTokens();
    const baseline = await streamMel(long, { policy: { contextTokens: 50 } });
    const cached = await streamMel(long, { policy: { contextTokens: 50 }, incremental });
    expect(cached.map((c) => c.incremental)).toEqual(cached.map((c) => c.contextStart === 0 && !c.final));
    for (const [i, chunk] of cached.entries()) {
      expect(maxAbsDiff(chunk.mel.data, baseline[i]?.mel.data ?? [])).toBeLessThanOrEqual(MEL_TOLERANCE);
    }
  });
});
