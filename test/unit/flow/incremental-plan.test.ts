/**
 * The incremental flow call plan against the schedules of `streamSchedule` (upstream's, an off-grid first hop,
 * bounded context) and the prompt-cache rule of tools/reference/flow/incremental_stream.py.
 */
import { describe, expect, it } from 'vitest';

import { streamSchedule, type ChunkPolicyOptions } from '../../../src/models/chunk-policy.ts';
import {
  encoderSkipTokens,
  flowCacheBytes,
  planIncrementalCall,
  promptCacheFrames,
  type IncrementalDecision,
  type IncrementalGeometry,
} from '../../../src/models/flow/incremental-plan.ts';

const UPSTREAM = { chunkTokens: 25, lookahead: 3, tokenMelRatio: 2 } as const;

function geometry(promptTokens: number): IncrementalGeometry {
  return { promptTokens, ...UPSTREAM };
}

/** Runs a whole schedule the way a stream would: start from the prompt cache, keep only whole-chunk caches. */
function run(totalTokens: number, options: ChunkPolicyOptions): IncrementalDecision[] {
  const g = geometry(options.promptTokens);
  let kept = promptCacheFrames(g);
  return streamSchedule(totalTokens, options).map((plan) => {
    const decision = planIncrementalCall(plan, kept, g);
    if (decision.kind === 'incremental' && decision.keep) kept = decision.to;
    return decision;
  });
}

describe('promptCacheFrames', () => {
  it('keeps the complete chunks whose look-ahead stays inside the prompt', () => {
    // P = 87 (3.5 s): chunks end at 25, 50, 75; 75 + 3 ≤ 87 → 3 chunks. P = 76: 75 + 3 > 76 → 2 chunks.
    expect(promptCacheFrames(geometry(87))).toBe(150);
    expect(promptCacheFrames(geometry(78))).toBe(150);
    expect(promptCacheFrames(geometry(77))).toBe(100);
    expect(promptCacheFrames(geometry(75))).toBe(100);
    expect(promptCacheFrames(geometry(27))).toBe(0);
    expect(promptCacheFrames(geometry(0))).toBe(0);
  });

  it('matches the Python test cases (tiny vectors: chunk 8, 16-frame chunks)', () => {
    const tiny = (promptTokens: number): number =>
      promptCacheFrames({ promptTokens, chunkTokens: 8, lookahead: 3, tokenMelRatio: 2 });
    expect([7, 18, 21, 24].map(tiny)).toEqual([0, 16, 32, 32]);
  });
});

describe('planIncrementalCall', () => {
  it("solves only each upstream chunk's new frames and re-solves the full-attention final call", () => {
    const decisions = run(400, { promptTokens: 87 });
    // First call: prompt ⊕ 38 tokens (25 + pad 13) → 250 frames, of which the prompt cache holds 150.
    expect(decisions).toEqual([
      { kind: 'incremental', from: 150, to: 250, keep: true },
      { kind: 'incremental', from: 250, to: 350, keep: true },
      { kind: 'incremental', from: 350, to: 550, keep: true },
      { kind: 'incremental', from: 550, to: 750, keep: true },
      { kind: 'incremental', from: 750, to: 950, keep: true },
      { kind: 're-solve', reason: 'full-attention' },
    ]);
  });

  it('does not keep the cache of an off-grid first hop; the next call solves from the prompt cache', () => {
    const decisions = run(120, { promptTokens: 87, firstHop: 10 });
    expect(decisions[0]).toEqual({ kind: 'incremental', from: 150, to: 194, keep: false });
    expect(decisions[1]).toMatchObject({ kind: 'incremental', from: 150, keep: true });
  });

  it('re-solves every streaming call whose bounded context starts after the first token', () => {
    const options = { promptTokens: 87, contextTokens: 50 };
    const decisions = run(400, options);
    const plans = streamSchedule(400, options);
    expect(plans.filter((plan) => plan.streaming && plan.contextStart > 0)).not.toHaveLength(0);
    plans.forEach((plan, i) => {
      const expected = !plan.streaming
        ? { kind: 're-solve', reason: 'full-attention' }
        : plan.contextStart > 0
          ? { kind: 're-solve', reason: 'bounded-context' }
          : { kind: 'incremental', keep: true };
      expect(decisions[i]).toMatchObject(expected);
    });
  });

  it('refuses a cache that does not hold whole chunks or holds more than the call', () => {
    const [first] = streamSchedule(100, { promptTokens: 87 });
    if (first === undefined) throw new Error('no plan');
    expect(() => planIncrementalCall(first, 194, geometry(87))).toThrow(/whole 50-frame chunks \(got 194 frames\)/);
    expect(() => planIncrementalCall(first, 300, geometry(87))).toThrow(/holds 300 frames but this call covers/);
  });
});

describe('encoderSkipTokens', () => {
  it('skips whole chunks of utterance tokens before the held tail, keeping the chunk grid', () => {
    // P = 87: utterance token t sits at prompt ⊕ tokens position 87 + t, frame 2·(87 + t)
    const g = geometry(87);
    expect(encoderSkipTokens(150, g)).toBe(0); // a tail inside the prompt's chunks: nothing skipped
    expect(encoderSkipTokens(250, g)).toBe(25); // tail token 125 − 87 = 38 → 25
    expect(encoderSkipTokens(300, g)).toBe(50); // 150 − 87 = 63 → 50
    expect(encoderSkipTokens(2 * (87 + 50), g)).toBe(50); // a tail starting exactly on the utterance's grid
    for (const tailStart of [200, 250, 300, 1000, 3150]) {
      const skip = encoderSkipTokens(tailStart, g);
      expect(skip % g.chunkTokens).toBe(0); // the encoder's chunks stay where they were
      expect(g.tokenMelRatio * (g.promptTokens + skip)).toBeLessThanOrEqual(tailStart); // the tail is encoded
      expect(g.tokenMelRatio * (g.promptTokens + skip + g.chunkTokens)).toBeGreaterThan(tailStart); // no more
    }
  });
});

describe('flowCacheBytes', () => {
  it('is 448 KiB per frame and Euler step at full size, plus the convolution states', () => {
    const shape = { blocks: 56, heads: 8, headDim: 64, convChannels: 8256 };
    const convBytesPerStep = 2 * 8256 * 2 * 4;
    expect(flowCacheBytes(1, 1, shape) - convBytesPerStep).toBe(448 * 1024);
    expect(flowCacheBytes(150, 10, shape)).toBe(10 * (150 * 448 * 1024 + convBytesPerStep));
  });
});
