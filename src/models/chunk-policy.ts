/**
 * The streaming token → audio schedule of CosyVoice 2 (spec §1.4, §5.7) as a pure, per-request state machine.
 *
 * Upstream (`CosyVoice2Model.tts(stream=True)`): with P flow prompt tokens, `pad = ⌈P/25⌉·25 − P`. The first chunk
 * emits `25 + pad` tokens, later chunks `hop` tokens with hop 25 → 50 → 100 → 100 … (×2, capped). A chunk of `hop`
 * tokens runs once `hop + 3` tokens beyond the offset exist (3 = the encoder's look-ahead): the flow re-runs on
 * prompt ⊕ `tokens[: offset + hop + 3]` with chunk attention and real look-ahead, and the frames from `2·offset` on
 * are kept. When the LM has finished and fewer than `hop + 3` tokens remain, one last call runs on all tokens with
 * full attention and zero look-ahead (`finalize`). The hop is a per-request variable here (upstream mutates an
 * instance attribute and never resets it — bug, PR #1849).
 *
 * Why the boundaries sit on the chunk grid. The encoder uses 25-token chunks (50-frame chunks after up-sampling
 * and in the estimator), counted from the first *prompt* token, with unlimited left context; convolutions are
 * causal except the pre-lookahead layer, whose right context is exactly the 3 look-ahead tokens. The pad makes
 * P + offset a multiple of 25 at every chunk start, so the frames a call emits belong to complete chunks: no later
 * token can change them, and re-running the flow on a longer prefix reproduces them exactly (the noise is a fixed
 * prefix too). The emitted mel is therefore the same as if the whole utterance had been streamed in one call with
 * chunk masks.
 *
 * Options beyond upstream:
 *
 * - `firstHop` (lower time to first audio). The first chunk emits `firstHop` tokens and needs only `firstHop + 3`
 *   tokens from the LM instead of `25 + pad + 3` (up to 52). Later boundaries go back to upstream's grid: the next
 *   boundary is the first upstream boundary at least `minHop` tokens further, and the hops continue from there.
 *   If `P + firstHop` is a multiple of the chunk (e.g. `firstHop = pad` when pad ≥ minHop) nothing changes in the
 *   mel: the first call's frames are complete chunks (`firstHop: 'pad'` picks that hop). Otherwise the first call
 *   ends inside a chunk: the frames of that partial chunk attend (chunk mask = "everything up to the end of my
 *   chunk") only to the frames that exist in this call, so they differ from what a call with the complete chunk
 *   computes; those frames are emitted as they are and the next call recomputes the chunk with more frames, which
 *   shifts the frames right after the boundary as well (discontinuity hidden by the HiFT cross-fade). Only the first
 *   chunk is affected; every later chunk is again grid-aligned and equal to upstream's. The HiFT side always differs
 *   a little: other vocoder chunk lengths mean other cross-fade positions and other noise draws.
 * - `contextTokens` = K (bounded context). Upstream re-solves the whole prefix every chunk (O(n²) on long
 *   utterances). With K, a call passes only prompt ⊕ `tokens[s : …]` with s = the largest multiple of the chunk
 *   size ≤ offset − K (≥ K tokens of left context, and s on the chunk grid so chunk boundaries stay where they
 *   were). Per-chunk flow cost stays ≤ 2·(P + K + chunk + maxHop + 3) frames. Cost: the emitted frames no longer see
 *   tokens before s (attention is unbounded to the left upstream), so they differ from the full-prefix schedule.
 *
 * Measured on the tiny fixture model (test/unit/token2wav/token2wav.test.ts; P = 87, pad 13; random weights, so the
 * numbers show the mechanism, not the quality of the real model):
 *
 * | schedule | first audio after | flow mel vs upstream | wave vs upstream |
 * |---|---|---|---|
 * | offline (reference point) | all tokens | — | max 0.049, rms 0.0062 (peak 0.50) |
 * | `firstHop: 13` (= pad, on grid) | 16 tokens (upstream 41) | identical (0) | max 0.040 (HiFT chunks/noise) |
 * | `firstHop: 10` (off grid) | 13 tokens | max 0.019 in the first 20 frames, then identical | max 0.041 |
 *
 * Bounded context on 400 tokens (6 chunks; the first three have s = 0 and are identical):
 *
 * | K | solved frames per chunk | mel vs full prefix | wave vs full prefix |
 * |---|---|---|---|
 * | ∞ (upstream) | 250/350/550/750/950/974 | — | — |
 * | 100 | 250/350/550/600/600/424 | max 0.29, rms 0.031 (mel rms 1.10) | max 0.040, rms 0.0028 |
 * | 50 | 250/350/500/500/500/324 | max 0.44, rms 0.051 | max 0.038, rms 0.0034 |
 *
 * @module
 */

import { invalidInput } from '../errors.ts';

/** Options of {@link ChunkPolicy}; defaults are upstream's CosyVoice 2 values. */
export interface ChunkPolicyOptions {
  /** Flow prompt tokens P (0 for SFT). */
  readonly promptTokens: number;
  /** Encoder chunk in tokens (`flow.chunkTokens`). @defaultValue 25 */
  readonly chunkTokens?: number;
  /** Look-ahead tokens (`flow.preLookahead`). @defaultValue 3 */
  readonly lookahead?: number;
  /** Hop of the first chunk before the prompt pad, and the base of later hops. @defaultValue 25 */
  readonly tokenHop?: number;
  /** Largest hop. @defaultValue 100 */
  readonly maxTokenHop?: number;
  /** Hop growth factor per chunk. @defaultValue 2 */
  readonly hopScale?: number;
  /**
   * Tokens emitted by the first chunk (see the module comment), or `'pad'`: the smallest first hop that ends on a
   * chunk boundary — the prompt pad, plus whole chunks while it is below `minHop` ({@link alignedFirstHop}). `'pad'`
   * keeps upstream's mel exactly and needs `pad + lookahead` tokens before the first flow call instead of
   * `tokenHop + pad + lookahead`. @defaultValue tokenHop + pad (upstream)
   */
  readonly firstHop?: number | 'pad';
  /** Bounded context: at least this many already-emitted tokens of left context (see the module comment). */
  readonly contextTokens?: number;
  /**
   * Smallest chunk: a first vocoder chunk must cover the HiFT mel cache (8 frames = 4 tokens).
   * @defaultValue 4
   */
  readonly minHop?: number;
}

/** One flow call of the schedule. */
export interface FlowChunkPlan {
  /** Chunk number, from 0. */
  readonly index: number;
  /** First token passed to the flow (0 = full prefix; > 0 only with bounded context). */
  readonly contextStart: number;
  /** Tokens already emitted before this chunk (`token_offset`). */
  readonly tokenOffset: number;
  /** Tokens passed: `tokens[contextStart : tokenEnd]` (upstream's `tokens[: offset + hop + 3]`, or all when final). */
  readonly tokenEnd: number;
  /** Tokens emitted once this chunk is done (`tokenEnd − lookahead`, or `tokenEnd` when final). */
  readonly emitEnd: number;
  /** Last call: zero look-ahead padding, every token produces frames. */
  readonly finalize: boolean;
  /** Chunk attention masks (every non-final call); the final call uses full attention, as upstream. */
  readonly streaming: boolean;
}

interface Resolved {
  readonly promptTokens: number;
  readonly chunkTokens: number;
  readonly lookahead: number;
  readonly tokenHop: number;
  readonly maxTokenHop: number;
  readonly hopScale: number;
  readonly firstHop: number | undefined;
  readonly contextTokens: number | undefined;
  readonly minHop: number;
}

function integer(name: string, value: number, min: number): number {
  if (!Number.isSafeInteger(value) || value < min) {
    throw invalidInput(`${name} must be an integer ≥ ${min} (got ${String(value)}).`, { [name]: value });
  }
  return value;
}

/**
 * The smallest first hop whose chunk ends on the encoder's chunk grid: the prompt pad `⌈P / chunk⌉·chunk − P`, plus
 * whole chunks while it is below `minHop` (a prompt of whole chunks gives one chunk, upstream's own first hop).
 *
 * @param promptTokens - flow prompt tokens P
 * @param chunkTokens - encoder chunk in tokens
 * @param minHop - smallest chunk
 */
export function alignedFirstHop(promptTokens: number, chunkTokens: number, minHop: number): number {
  let hop = promptTokenPad(promptTokens, chunkTokens);
  while (hop < minHop) hop += chunkTokens;
  return hop;
}

function firstHop(
  value: number | 'pad' | undefined,
  promptTokens: number,
  chunkTokens: number,
  minHop: number,
): number | undefined {
  if (value === undefined) return undefined;
  if (value === 'pad') return alignedFirstHop(promptTokens, chunkTokens, minHop);
  if (!Number.isSafeInteger(value) || value < minHop) {
    throw invalidInput(`firstHop must be an integer ≥ ${minHop} or 'pad' (got ${String(value)}).`, { firstHop: value });
  }
  return value;
}

function resolve(options: ChunkPolicyOptions): Resolved {
  const tokenHop = integer('tokenHop', options.tokenHop ?? 25, 1);
  const minHop = integer('minHop', options.minHop ?? 4, 1);
  const promptTokens = integer('promptTokens', options.promptTokens, 0);
  const chunkTokens = integer('chunkTokens', options.chunkTokens ?? 25, 1);
  return {
    promptTokens,
    chunkTokens,
    lookahead: integer('lookahead', options.lookahead ?? 3, 0),
    tokenHop,
    maxTokenHop: integer('maxTokenHop', options.maxTokenHop ?? 100, tokenHop),
    hopScale: integer('hopScale', options.hopScale ?? 2, 1),
    firstHop: firstHop(options.firstHop, promptTokens, chunkTokens, minHop),
    contextTokens: options.contextTokens === undefined ? undefined : integer('contextTokens', options.contextTokens, 0),
    minHop,
  };
}

/**
 * Upstream's prompt pad: tokens that bring P + first hop onto the chunk grid, ⌈P/chunk⌉·chunk − P.
 *
 * @see cosyvoice/cli/model.py CosyVoice2Model.tts (`prompt_token_pad`)
 */
export function promptTokenPad(promptTokens: number, chunkTokens = 25): number {
  return Math.ceil(promptTokens / chunkTokens) * chunkTokens - promptTokens;
}

/**
 * Per-request streaming schedule. Ask {@link ChunkPolicy.plan} whenever tokens arrive; run the returned flow call,
 * then {@link ChunkPolicy.commit} it. The state is per instance: create one per request.
 *
 * @example
 * ```ts
 * const policy = new ChunkPolicy({ promptTokens: voice.promptTokens.length });
 * for (;;) {
 *   const chunk = policy.plan(tokens.length, lmFinished);
 *   if (chunk === undefined) break; // wait for more tokens (or done)
 *   await runFlowAndVocoder(chunk);
 *   policy.commit(chunk);
 * }
 * ```
 */
export class ChunkPolicy {
  readonly #o: Resolved;
  /** Upstream boundaries: next upstream boundary and the hop that follows it. */
  #upstreamBoundary: number;
  #upstreamHop: number;
  #offset = 0;
  #index = 0;
  #done = false;

  /**
   * @param options - prompt length, chunk/hop settings, first hop, bounded context
   * @throws {TTSError} ERR_INVALID_INPUT for invalid settings
   */
  constructor(options: ChunkPolicyOptions) {
    this.#o = resolve(options);
    this.#upstreamBoundary = this.#o.tokenHop + promptTokenPad(this.#o.promptTokens, this.#o.chunkTokens);
    this.#upstreamHop = this.#nextHop(this.#o.tokenHop);
  }

  /** Resolved look-ahead. */
  get lookahead(): number {
    return this.#o.lookahead;
  }

  /** Tokens emitted so far (`token_offset`). */
  get tokenOffset(): number {
    return this.#offset;
  }

  /** Whether the final chunk has been committed. */
  get done(): boolean {
    return this.#done;
  }

  /** Chunks committed so far. */
  get chunks(): number {
    return this.#index;
  }

  /**
   * Tokens the LM must have produced for the next non-final chunk to run: its boundary plus the look-ahead (the
   * final chunk runs on whatever there is once the LM has finished). What a producer must be allowed to reach.
   */
  get tokensNeeded(): number {
    return this.#nextBoundary() + this.#o.lookahead;
  }

  #nextHop(hop: number): number {
    return Math.min(this.#o.maxTokenHop, hop * this.#o.hopScale);
  }

  /** The token position where the next non-final chunk ends. */
  #nextBoundary(): number {
    const o = this.#o;
    if (this.#index === 0 && o.firstHop !== undefined) return o.firstHop;
    let boundary = this.#upstreamBoundary;
    let hop = this.#upstreamHop;
    while (boundary < this.#offset + o.minHop) {
      boundary += hop;
      hop = this.#nextHop(hop);
    }
    return boundary;
  }

  #contextStart(): number {
    const k = this.#o.contextTokens;
    if (k === undefined) return 0;
    const c = this.#o.chunkTokens;
    return Math.max(0, Math.floor((this.#offset - k) / c) * c);
  }

  /**
   * The next flow call, if one can run now.
   *
   * @param available - tokens the LM has produced so far
   * @param finished - whether the LM has finished (no more tokens will come)
   * @returns the call to run, or `undefined` when more tokens are needed or the schedule is done
   * @throws {TTSError} ERR_INVALID_INPUT when `available` is below the tokens already consumed
   */
  plan(available: number, finished: boolean): FlowChunkPlan | undefined {
    if (this.#done) return undefined;
    if (!Number.isSafeInteger(available) || available < this.#offset) {
      throw invalidInput(
        `available tokens (${String(available)}) cannot be fewer than those emitted (${this.#offset}).`,
      );
    }
    const boundary = this.#nextBoundary();
    const base = { index: this.#index, contextStart: this.#contextStart(), tokenOffset: this.#offset };
    if (available >= boundary + this.#o.lookahead) {
      const tokenEnd = boundary + this.#o.lookahead;
      return { ...base, tokenEnd, emitEnd: boundary, finalize: false, streaming: true };
    }
    if (finished) return { ...base, tokenEnd: available, emitEnd: available, finalize: true, streaming: false };
    return undefined;
  }

  /**
   * Records that `chunk` (the last result of {@link ChunkPolicy.plan}) has run.
   *
   * @throws {TTSError} ERR_INVALID_INPUT when `chunk` is not the pending chunk
   */
  commit(chunk: FlowChunkPlan): void {
    if (this.#done || chunk.index !== this.#index || chunk.tokenOffset !== this.#offset) {
      throw invalidInput(`chunk ${chunk.index} at offset ${chunk.tokenOffset} is not the pending chunk.`);
    }
    this.#index += 1;
    if (chunk.finalize) {
      this.#done = true;
      return;
    }
    this.#offset = chunk.emitEnd;
    // advance the upstream grid past the new offset
    while (this.#upstreamBoundary <= this.#offset) {
      this.#upstreamBoundary += this.#upstreamHop;
      this.#upstreamHop = this.#nextHop(this.#upstreamHop);
    }
  }

  /** {@link ChunkPolicy.plan} then {@link ChunkPolicy.commit} (when a chunk can run). */
  next(available: number, finished: boolean): FlowChunkPlan | undefined {
    const chunk = this.plan(available, finished);
    if (chunk !== undefined) this.commit(chunk);
    return chunk;
  }
}

/**
 * The whole schedule for an utterance of `totalTokens` tokens once the LM has finished (what `stream_schedule` of
 * `tools/reference/pipeline.py` returns). LM pacing does not change it: every non-final chunk consumes exactly its
 * hop, whenever its tokens arrive.
 *
 * @throws {TTSError} ERR_INVALID_INPUT for invalid settings
 */
export function streamSchedule(totalTokens: number, options: ChunkPolicyOptions): FlowChunkPlan[] {
  const policy = new ChunkPolicy(options);
  const plans: FlowChunkPlan[] = [];
  for (;;) {
    const chunk = policy.next(totalTokens, true);
    if (chunk === undefined) return plans;
    plans.push(chunk);
  }
}
