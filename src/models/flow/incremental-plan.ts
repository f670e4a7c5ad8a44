/**
 * Which frames an incremental flow call solves, and when it must fall back to today's re-solve (issue #11). Pure.
 *
 * The incremental estimator graph (`flow_step_incremental`, docs/model-package.md) keeps, per Euler step, the
 * attention keys/values and causal-convolution states of the frames already solved, so a streaming call solves only
 * its new frames. Python model and proof: tools/reference/flow/incremental_stream.py,
 * tools/tests/test_flow_incremental.py (emitted mel equal to the re-solve). It is exact only where the chunk-causal
 * re-solve of a longer prefix reproduces the kept frames:
 *
 * - a cache may only hold whole chunks (`chunkTokens · tokenMelRatio` frames): a call ending inside a chunk (an
 *   off-grid `firstHop`, the final call) is solved on top of the cache, but its own cache is not kept — the stream
 *   keeps the last whole-chunk cache and the next call solves from there;
 * - the per-voice prompt cache holds the prompt's complete chunks whose last token's look-ahead stays in the prompt
 *   (a chunk ending within `lookahead` tokens of the prompt's end changes with the utterance's first tokens);
 * - bounded context (`contextStart > 0`) changes every frame's left context, and upstream's final call uses full
 *   attention: both re-solve with the full graph.
 *
 * @module
 */

import { invalidInput } from '../../errors.ts';
import type { FlowChunkPlan } from '../chunk-policy.ts';

/** The constants that place chunks and frames. */
export interface IncrementalGeometry {
  /** Flow prompt tokens P. */
  readonly promptTokens: number;
  /** Encoder chunk in tokens (`flow.chunkTokens`, 25). */
  readonly chunkTokens: number;
  /** Look-ahead tokens (`flow.preLookahead`, 3). */
  readonly lookahead: number;
  /** Mel frames per token (2). */
  readonly tokenMelRatio: number;
}

/** What one flow call of a stream does. */
export type IncrementalDecision =
  | {
      readonly kind: 'incremental';
      /** First frame to solve: the frames the kept cache holds (prompt frames count). */
      readonly from: number;
      /** End of the call's frames, prompt included (what today's re-solve integrates). */
      readonly to: number;
      /** Whether the cache grown by this call ends on a chunk boundary and may be kept for the next call. */
      readonly keep: boolean;
    }
  | { readonly kind: 're-solve'; readonly reason: 'full-attention' | 'bounded-context' };

/**
 * Frames of the per-voice prompt cache: the prompt's complete chunks no utterance token can change.
 *
 * @param g - prompt length and chunk geometry
 * @returns `⌊(P − lookahead) / chunkTokens⌋ · chunkTokens · tokenMelRatio` (0 when the prompt is shorter)
 */
export function promptCacheFrames(g: IncrementalGeometry): number {
  const chunks = Math.floor(Math.max(g.promptTokens - g.lookahead, 0) / g.chunkTokens);
  return chunks * g.chunkTokens * g.tokenMelRatio;
}

/**
 * Utterance tokens the encoder of a windowed stream skips (issue #11 item 3). Once
 * `IncrementalFlow.windowPrefix` has dropped the keys/values of the frames before `tailStart`, the encoder runs
 * over the prompt ⊕ the tokens from the returned index on, instead of prompt ⊕ every token: its cost (quadratic in
 * attention, 9 s at 60 s of audio on the full-size model, 2 cores) then stays bounded like the estimator's. The skip
 * is the largest multiple of the chunk that keeps the tokens of the held tail, so the encoder's chunk grid stays where
 * it was (as bounded context's, `chunk-policy.ts`). An approximation, like the window itself: the kept tokens no
 * longer see the skipped ones, and the relative positions of the prompt's shrink.
 *
 * @param tailStart - first frame (prompt frames count) of the held tail
 * @param g - prompt length and chunk geometry
 * @returns tokens to skip after the prompt (0 while the tail starts in the prompt's chunks)
 */
export function encoderSkipTokens(tailStart: number, g: IncrementalGeometry): number {
  const tailToken = Math.floor(tailStart / g.tokenMelRatio) - g.promptTokens;
  return Math.max(0, Math.floor(tailToken / g.chunkTokens) * g.chunkTokens);
}

/**
 * Decides how a planned flow call runs given the frames held by the kept cache.
 *
 * @param plan - the call (from the stream's chunk policy)
 * @param cachedFrames - frames the kept cache holds (0 = none; the prompt cache at the first call)
 * @param g - prompt length and chunk geometry
 * @returns the frames to solve incrementally, or why the call must re-solve with the full graph
 * @throws {TTSError} ERR_INVALID_INPUT when the cache does not hold whole chunks or holds more than the call covers
 */
export function planIncrementalCall(
  plan: FlowChunkPlan,
  cachedFrames: number,
  g: IncrementalGeometry,
): IncrementalDecision {
  const chunkFrames = g.chunkTokens * g.tokenMelRatio;
  if (!plan.streaming) return { kind: 're-solve', reason: 'full-attention' };
  if (plan.contextStart > 0) return { kind: 're-solve', reason: 'bounded-context' };
  const to = g.tokenMelRatio * (g.promptTokens + plan.emitEnd);
  if (!Number.isSafeInteger(cachedFrames) || cachedFrames < 0 || cachedFrames % chunkFrames !== 0) {
    throw invalidInput(
      `an incremental flow cache must hold whole ${chunkFrames}-frame chunks (got ${String(cachedFrames)} frames).`,
      { cachedFrames },
    );
  }
  if (cachedFrames > to) {
    throw invalidInput(`the flow cache holds ${cachedFrames} frames but this call covers only ${to}.`, {
      cachedFrames,
      to,
    });
  }
  return { kind: 'incremental', from: cachedFrames, to, keep: !plan.finalize && to % chunkFrames === 0 };
}

/** Shapes of the estimator's cache (`flow_step_incremental`'s `past_kv` and `conv_state`). */
export interface FlowCacheShape {
  /** Transformer blocks (56 full size). */
  readonly blocks: number;
  readonly heads: number;
  readonly headDim: number;
  /** Σ input channels of the causal convolutions (8 256 full size). */
  readonly convChannels: number;
}

/**
 * Bytes of a solve's cache in fp32: per Euler step, keys and values of every block for both CFG rows, plus the
 * convolution states.
 *
 * @param frames - frames held
 * @param steps - Euler steps (one cache each)
 * @param shape - cache shapes
 */
export function flowCacheBytes(frames: number, steps: number, shape: FlowCacheShape): number {
  const cfgRows = 2;
  const kernelHistory = 2;
  const perStep =
    shape.blocks * 2 * cfgRows * shape.heads * shape.headDim * frames + cfgRows * shape.convChannels * kernelHistory;
  return steps * perStep * Float32Array.BYTES_PER_ELEMENT;
}
