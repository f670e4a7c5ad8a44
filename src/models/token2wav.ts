/**
 * Speech tokens → 24 kHz audio: the flow runner and the vocoder combined, offline (spec §1.3) and streaming
 * (spec §1.4, §5.7, §6.4) following a {@link ChunkPolicy}.
 *
 * - {@link tokensToWave}: full-attention flow over all tokens, optional speed change, one HiFT call → one chunk;
 * - {@link StreamingToken2Wav}: per request; tokens are pushed as the LM produces them and audio chunks come out as
 *   soon as the policy allows (non-final chunks: chunk attention + real look-ahead; final chunk: full attention).
 *
 * Both report wall time per stage (flow = encoder + Euler loop, vocoder = F0 + excitation + decoder + iSTFT).
 *
 * @module
 */

import { invalidInput, TTSError } from '../errors.ts';
import type { ChunkPolicyOptions, FlowChunkPlan } from './chunk-policy.ts';
import { ChunkPolicy } from './chunk-policy.ts';
import type { EulerStepCallback, FlowMatcher, FlowPrompt, Mel } from './flow/flow-matcher.ts';
import { checkFlowSteps } from './flow/flow-matcher.ts';
import type { FlowDecodeResult } from './flow/flow-matcher.ts';
import type { IncrementalFlow, SolvedPrefix } from './flow/incremental-flow.ts';
import { DEFAULT_FLOW_CACHE_BYTES } from './flow/incremental-flow.ts';
import { planIncrementalCall, promptCacheFrames } from './flow/incremental-plan.ts';
import { changeSpeed } from './flow/speed.ts';
import type { NormalSource, Vocoder } from './vocoder/vocoder.ts';
import { StreamingVocoder } from './vocoder/vocoder.ts';
import { now } from '../base/clock.ts';

/** Wall time of one chunk per stage (ms). */
export interface Token2WavTimings {
  /** `flow_encoder` + the Euler loop. */
  readonly flowMs: number;
  /** `hift_f0` + excitation + `hift_decoder` + iSTFT (+ cross-fade). */
  readonly vocoderMs: number;
}

/** One piece of audio. */
export interface WaveChunk {
  /** Chunk number, from 0. */
  readonly index: number;
  /** 24 kHz samples in [−audioLimit, audioLimit], ready to play. */
  readonly samples: Float32Array;
  /** Last chunk of the utterance. */
  readonly final: boolean;
  /** Tokens emitted before this chunk. */
  readonly tokenOffset: number;
  /** Tokens passed to the flow: `tokens[contextStart : tokensUsed]`. */
  readonly tokensUsed: number;
  /** First token passed to the flow (bounded context; 0 otherwise). */
  readonly contextStart: number;
  /** The new mel frames vocoded in this chunk (`[80][melFrames]`; for visualisation and diagnostics). */
  readonly mel: Mel;
  /** New mel frames vocoded in this chunk. */
  readonly melFrames: number;
  /** Frames the flow solved (prompt included): the per-chunk flow cost. */
  readonly solvedFrames: number;
  /** Per-stage wall time. */
  readonly timings: Token2WavTimings;
}

/** Options of {@link tokensToWave}. */
export interface TokensToWaveOptions {
  /** Excitation noise of this request (e.g. `new Xoshiro128(seed + 1)`). */
  readonly rng: NormalSource;
  /** Speed factor (> 1 faster), applied to the mel by linear resampling (offline only). @defaultValue 1 */
  readonly speed?: number;
  /** Euler steps of the flow solve. @defaultValue the package's `flow.nTimesteps` */
  readonly steps?: number;
  /** Checked before each graph run. */
  readonly signal?: AbortSignal;
  /** Observes the Euler states. */
  readonly onStep?: EulerStepCallback;
}

/**
 * Offline token2wav (spec §1.3): `flow.inference(streaming=False, finalize=True)` on prompt ⊕ tokens, the mel after
 * the prompt, optional speed change, one vocoder call, clamp.
 *
 * @param flow - flow runner
 * @param vocoder - vocoder runner
 * @param prompt - the voice's flow prompt
 * @param tokens - all speech tokens of the segment
 * @param options - noise generator, speed, signal
 * @returns one final chunk of 480·⌊2N / speed⌋ samples
 * @throws {TTSError} ERR_INVALID_INPUT (tokens, prompt, speed, noise buffer too short); ERR_INFERENCE; abort reason
 * @see cosyvoice/cli/model.py CosyVoice2Model.tts (stream=False) / token2wav
 */
export async function tokensToWave(
  flow: FlowMatcher,
  vocoder: Vocoder,
  prompt: FlowPrompt,
  tokens: ArrayLike<number>,
  options: TokensToWaveOptions,
): Promise<WaveChunk> {
  options.signal?.throwIfAborted();
  const flowStart = now();
  const decoded = await flow.decode(prompt, tokens, {
    streaming: false,
    finalize: true,
    ...(options.steps === undefined ? {} : { steps: options.steps }),
    ...(options.signal ? { signal: options.signal } : {}),
    ...(options.onStep ? { onStep: options.onStep } : {}),
  });
  const mel = options.speed === undefined ? decoded.mel : changeSpeed(decoded.mel, options.speed);
  const flowMs = now() - flowStart;
  const vocoderStart = now();
  const { samples } = await vocoder.synthesize(mel, {
    rng: options.rng,
    ...(options.signal ? { signal: options.signal } : {}),
  });
  return {
    index: 0,
    samples,
    final: true,
    tokenOffset: 0,
    tokensUsed: tokens.length,
    contextStart: 0,
    mel,
    melFrames: mel.frames,
    solvedFrames: decoded.solvedFrames,
    timings: { flowMs, vocoderMs: now() - vocoderStart },
  };
}

/** Options of {@link StreamingToken2Wav}. */
export interface StreamingToken2WavOptions {
  /** Excitation noise of this request (e.g. `new Xoshiro128(seed + 1)`). */
  readonly rng: NormalSource;
  /**
   * Schedule settings (first hop, bounded context, hops). The prompt length comes from the prompt; chunk size and
   * look-ahead default to the model's.
   */
  readonly policy?: Omit<ChunkPolicyOptions, 'promptTokens'>;
  /** Euler steps of the flow per chunk. */
  readonly steps?: FlowSteps;
  /** Observes the Euler states of every flow call. */
  readonly onStep?: EulerStepCallback;
  /** Solve chunk-causal calls incrementally (see {@link FlowStreamOptions.incremental}). */
  readonly incremental?: IncrementalFlow;
}

/** Euler steps of the flow solves of a stream. */
export interface FlowSteps {
  /** Every chunk. @defaultValue the package's `flow.nTimesteps` (10) */
  readonly every?: number;
  /**
   * The first chunk only: fewer steps there shorten the time to first audio; later chunks re-solve the whole prefix
   * with `every` steps anyway (only their new frames are emitted), so only the first chunk's frames are coarser.
   * @defaultValue `every`
   */
  readonly firstChunk?: number;
}

/** One chunk of mel from {@link FlowStream}: the frames to vocode plus the plan that produced them. */
export interface MelChunk {
  /** Chunk number, from 0. */
  readonly index: number;
  /** Frames to vocode (prompt and already emitted frames removed). */
  readonly mel: Mel;
  /** Last chunk of the utterance. */
  readonly final: boolean;
  /** Tokens emitted before this chunk. */
  readonly tokenOffset: number;
  /** Tokens passed to the flow: `tokens[contextStart : tokensUsed]`. */
  readonly tokensUsed: number;
  /** First token passed to the flow (bounded context; 0 otherwise). */
  readonly contextStart: number;
  /** Frames the solver integrated for this chunk (prompt + context + new; only the new ones when incremental). */
  readonly solvedFrames: number;
  /** Tokens the flow encoder ran over for this chunk (prompt and look-ahead included). */
  readonly encodedTokens: number;
  /** Whether the chunk was solved incrementally (on kept caches) rather than by re-solving the prefix. */
  readonly incremental: boolean;
  /** `flow_encoder` + Euler loop wall time (ms). */
  readonly flowMs: number;
}

/** Options of {@link FlowStream}. */
export interface FlowStreamOptions {
  /** Schedule settings (see {@link StreamingToken2WavOptions.policy}). */
  readonly policy?: Omit<ChunkPolicyOptions, 'promptTokens'>;
  /** Euler steps per chunk. */
  readonly steps?: FlowSteps;
  /** Observes the Euler states of every flow call (of the new frames only in incremental calls). */
  readonly onStep?: EulerStepCallback;
  /**
   * Solve chunk-causal calls incrementally (issue #11): the voice's prompt cache, then each call only its new frames
   * on the caches of the whole chunks before them. Exact: every chunk equals the re-solve (docs/architecture.md).
   * Calls it cannot serve exactly re-solve as without it: upstream's full-attention final call and bounded context.
   * @defaultValue none (every call re-solves the prefix)
   */
  readonly incremental?: IncrementalFlow;
  /**
   * Most bytes of caches the stream keeps (the voice's prompt chunks included). Exact while everything fits; past it
   * the stream keeps the prompt chunks and the last chunks that fit, dropping the keys/values of older ones (an
   * approximation: later frames no longer attend to them; {@link IncrementalFlow.windowPrefix}). A prompt cache alone
   * over the budget is not built (every call re-solves). @defaultValue {@link DEFAULT_FLOW_CACHE_BYTES}
   */
  readonly maxCacheBytes?: number;
  /**
   * Attention of the final call: `'full'` re-solves prompt ⊕ all tokens with full attention as upstream does (exact,
   * its cost grows with the utterance); `'chunk-causal'` solves it like the other chunks (incrementally when possible:
   * the cost of its own frames), a deviation from upstream measured in docs/architecture.md. @defaultValue 'full'
   */
  readonly finalChunkAttention?: FinalChunkAttention;
}

/** Attention of a stream's final flow call (see {@link FlowStreamOptions.finalChunkAttention}). */
export const FINAL_CHUNK_ATTENTIONS = ['full', 'chunk-causal'] as const;
export type FinalChunkAttention = (typeof FINAL_CHUNK_ATTENTIONS)[number];

/**
 * The flow half of streaming token2wav for one request: tokens in (as the LM produces them), mel chunks out as soon
 * as the {@link ChunkPolicy} allows. Kept separate from the vocoder so the two can live in different workers.
 *
 * Not re-entrant: one `next()` at a time; after a failure or abort the request is over.
 */
export class FlowStream {
  readonly #flow: FlowMatcher;
  readonly #prompt: FlowPrompt;
  readonly #policy: ChunkPolicy;
  readonly #onStep: EulerStepCallback | undefined;
  readonly #steps: FlowSteps;
  readonly #tokens: number[] = [];
  readonly #incremental: IncrementalFlow | undefined;
  readonly #maxCacheBytes: number;
  readonly #chunkCausalFinal: boolean;
  /** The cache of the whole chunks solved so far by this stream (beyond the prompt's). */
  #kept: SolvedPrefix | undefined;
  #ended = false;
  #busy = false;
  #failed: unknown = undefined;

  /**
   * @param flow - flow runner (shared)
   * @param prompt - the voice's flow prompt
   * @param options - schedule settings, Euler steps
   * @throws {TTSError} ERR_INVALID_INPUT for invalid schedule settings or step counts
   */
  constructor(flow: FlowMatcher, prompt: FlowPrompt, options: FlowStreamOptions = {}) {
    const { every, firstChunk } = options.steps ?? {};
    if (every !== undefined) checkFlowSteps(every, 'steps.every');
    if (firstChunk !== undefined) checkFlowSteps(firstChunk, 'steps.firstChunk');
    this.#steps = options.steps ?? {};
    this.#flow = flow;
    this.#prompt = prompt;
    this.#policy = new ChunkPolicy({
      chunkTokens: flow.config.chunkTokens,
      lookahead: flow.config.preLookahead,
      ...options.policy,
      promptTokens: prompt.promptTokens.length,
    });
    this.#onStep = options.onStep;
    this.#incremental = options.incremental;
    this.#maxCacheBytes = options.maxCacheBytes ?? DEFAULT_FLOW_CACHE_BYTES;
    this.#chunkCausalFinal = options.finalChunkAttention === 'chunk-causal';
  }

  /** Tokens received so far. */
  get tokenCount(): number {
    return this.#tokens.length;
  }

  /** Whether the final chunk has been produced. */
  get done(): boolean {
    return this.#policy.done;
  }

  /** Whether {@link FlowStream.next} would produce a chunk now. */
  get ready(): boolean {
    return this.peek() !== undefined;
  }

  /** The call {@link FlowStream.next} would run now (before running it), or `undefined`. */
  peek(): FlowChunkPlan | undefined {
    return this.#failed === undefined ? this.#policy.plan(this.#tokens.length, this.#ended) : undefined;
  }

  /** Tokens the stream needs for its next non-final chunk (see {@link ChunkPolicy.tokensNeeded}). */
  get tokensNeeded(): number {
    return this.#policy.tokensNeeded;
  }

  /**
   * Appends speech tokens from the LM.
   *
   * @throws {TTSError} ERR_INVALID_INPUT after {@link FlowStream.end}
   */
  push(tokens: ArrayLike<number>): void {
    if (this.#ended) throw invalidInput('tokens were pushed after end().');
    for (let i = 0; i < tokens.length; i++) this.#tokens.push(tokens[i] ?? -1);
  }

  /** Marks the end of the LM output: the remaining tokens go into the final chunk. */
  end(): void {
    this.#ended = true;
  }

  /**
   * Runs the flow for the next chunk if the policy allows one now.
   *
   * @returns the chunk, or `undefined` when more tokens (or `end()`) are needed, or when done
   * @throws {TTSError} ERR_INVALID_INPUT on concurrent calls or after a failure; ERR_INFERENCE; the abort reason
   */
  async next(signal?: AbortSignal): Promise<MelChunk | undefined> {
    if (this.#busy) throw invalidInput('next() is already running; await it first.');
    if (this.#failed !== undefined) {
      throw new TTSError('ERR_INVALID_INPUT', 'This stream failed or was aborted; start a new one.', {
        cause: this.#failed,
      });
    }
    const plan = this.#policy.plan(this.#tokens.length, this.#ended);
    if (plan === undefined) return undefined;
    this.#busy = true;
    try {
      const chunk = await this.#run(this.#chunkCausalFinal ? { ...plan, streaming: true } : plan, signal);
      this.#policy.commit(plan);
      return chunk;
    } catch (error) {
      this.#failed = error;
      throw error;
    } finally {
      this.#busy = false;
    }
  }

  async #run(plan: FlowChunkPlan, signal: AbortSignal | undefined): Promise<MelChunk> {
    signal?.throwIfAborted();
    const flowStart = now();
    const steps = plan.index === 0 ? (this.#steps.firstChunk ?? this.#steps.every) : this.#steps.every;
    const decoded =
      (await this.#incrementalDecode(plan, steps ?? this.#flow.config.nTimesteps, signal)) ??
      (await this.#flow.decode(this.#prompt, this.#tokens.slice(plan.contextStart, plan.tokenEnd), {
        streaming: plan.streaming,
        finalize: plan.finalize,
        tokenOffset: plan.tokenOffset - plan.contextStart,
        contextStart: plan.contextStart,
        ...(steps === undefined ? {} : { steps }),
        ...(signal ? { signal } : {}),
        ...(this.#onStep ? { onStep: this.#onStep } : {}),
      }));
    return {
      index: plan.index,
      mel: decoded.mel,
      final: plan.finalize,
      tokenOffset: plan.tokenOffset,
      tokensUsed: plan.tokenEnd,
      contextStart: plan.contextStart,
      solvedFrames: decoded.solvedFrames,
      encodedTokens: decoded.encodedTokens,
      incremental: 'incremental' in decoded,
      flowMs: now() - flowStart,
    };
  }

  /**
   * Runs the call incrementally if it can be served exactly (see `incremental-plan.ts`): from this stream's kept
   * cache when it was solved with the same step count, else from the voice's prompt cache. A coarse first chunk
   * (`firstChunk` steps) thus costs one solve from the prompt cache at the next call, not a re-solve.
   *
   * @returns the decoded chunk, or `undefined` when the call must re-solve with the full graph
   */
  async #incrementalDecode(
    plan: FlowChunkPlan,
    steps: number,
    signal: AbortSignal | undefined,
  ): Promise<(FlowDecodeResult & { readonly incremental: true }) | undefined> {
    const incremental = this.#incremental;
    if (incremental === undefined) return undefined;
    const { chunkTokens, preLookahead, tokenMelRatio } = this.#flow.config;
    const geometry = {
      promptTokens: this.#prompt.promptTokens.length,
      chunkTokens,
      lookahead: preLookahead,
      tokenMelRatio,
    };
    if (planIncrementalCall(plan, 0, geometry).kind === 're-solve') return undefined;
    if (this.#kept?.steps !== steps) {
      // a prompt cache over the budget is not built at all
      if (incremental.cacheBytes(promptCacheFrames(geometry), steps) > this.#maxCacheBytes) return undefined;
    }
    const prefix =
      this.#kept?.steps === steps ? this.#kept : await incremental.promptPrefix(this.#prompt, steps, signal);
    const decision = planIncrementalCall(plan, prefix.frames, geometry);
    if (decision.kind === 're-solve') return undefined;
    const decoded = await incremental.decode(this.#prompt, this.#tokens.slice(0, plan.tokenEnd), {
      finalize: plan.finalize,
      tokenOffset: plan.tokenOffset,
      prefix,
      keep: decision.keep,
      ...(signal ? { signal } : {}),
      ...(this.#onStep ? { onStep: this.#onStep } : {}),
    });
    if (decoded.prefix !== undefined) this.#kept = this.#window(decoded.prefix, promptCacheFrames(geometry));
    return { ...decoded, incremental: true };
  }

  /** The kept cache cut to the budget: the prompt chunks plus the last whole chunks that fit. */
  #window(prefix: SolvedPrefix, promptFrames: number): SolvedPrefix {
    const incremental = this.#incremental;
    if (incremental === undefined || incremental.cacheBytes(prefix.heldFrames, prefix.steps) <= this.#maxCacheBytes) {
      return prefix;
    }
    const chunk = incremental.chunkFrames;
    const perChunk = incremental.cacheBytes(chunk, prefix.steps) - incremental.cacheBytes(0, prefix.steps);
    const spare = this.#maxCacheBytes - incremental.cacheBytes(promptFrames, prefix.steps);
    const window = Math.max(0, Math.floor(spare / perChunk)) * chunk;
    return incremental.windowPrefix(prefix, promptFrames, window);
  }
}

/**
 * Streaming token2wav for one request: push tokens as the LM produces them, call {@link StreamingToken2Wav.next}
 * (or iterate {@link StreamingToken2Wav.run}) to get audio as soon as the chunk policy allows. A {@link FlowStream}
 * feeding a {@link StreamingVocoder} in the same realm.
 *
 * Not re-entrant: one `next()` at a time. After an abort the request is over (the vocoder noise stream has moved
 * on); create a new instance to start again.
 *
 * @example
 * ```ts
 * const stream = new StreamingToken2Wav(flow, vocoder, voice, { rng: new Xoshiro128(seed + 1) });
 * for await (const chunk of stream.run(lmTokenBatches, signal)) player.write(chunk.samples);
 * ```
 */
export class StreamingToken2Wav {
  readonly #flow: FlowStream;
  readonly #vocoder: StreamingVocoder;

  /**
   * @param flow - flow runner (shared)
   * @param vocoder - vocoder runner (shared)
   * @param prompt - the voice's flow prompt
   * @param options - noise generator, schedule settings
   * @throws {TTSError} ERR_INVALID_INPUT for invalid schedule settings
   */
  constructor(flow: FlowMatcher, vocoder: Vocoder, prompt: FlowPrompt, options: StreamingToken2WavOptions) {
    this.#flow = new FlowStream(flow, prompt, {
      ...(options.policy === undefined ? {} : { policy: options.policy }),
      ...(options.steps === undefined ? {} : { steps: options.steps }),
      ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
      ...(options.incremental === undefined ? {} : { incremental: options.incremental }),
    });
    this.#vocoder = new StreamingVocoder(vocoder, options.rng);
  }

  /** Tokens received so far. */
  get tokenCount(): number {
    return this.#flow.tokenCount;
  }

  /** Whether the final chunk has been produced. */
  get done(): boolean {
    return this.#flow.done;
  }

  /** Whether {@link StreamingToken2Wav.next} would produce a chunk now. */
  get ready(): boolean {
    return this.#flow.ready;
  }

  /**
   * Appends speech tokens from the LM.
   *
   * @throws {TTSError} ERR_INVALID_INPUT after {@link StreamingToken2Wav.end}
   */
  push(tokens: ArrayLike<number>): void {
    this.#flow.push(tokens);
  }

  /** Marks the end of the LM output: the remaining tokens go into the final chunk. */
  end(): void {
    this.#flow.end();
  }

  /**
   * Runs the next chunk (flow then vocoder) if the policy allows one now.
   *
   * @param signal - aborts the flow / vocoder runs
   * @returns the chunk, or `undefined` when more tokens (or `end()`) are needed, or when done
   * @throws {TTSError} ERR_INVALID_INPUT on concurrent calls or after a failure; ERR_INFERENCE; the abort reason
   */
  async next(signal?: AbortSignal): Promise<WaveChunk | undefined> {
    const melChunk = await this.#flow.next(signal);
    if (melChunk === undefined) return undefined;
    const vocoderStart = now();
    const samples = await this.#vocoder.push(melChunk.mel, {
      finalize: melChunk.final,
      ...(signal ? { signal } : {}),
    });
    return {
      index: melChunk.index,
      samples,
      final: melChunk.final,
      tokenOffset: melChunk.tokenOffset,
      tokensUsed: melChunk.tokensUsed,
      contextStart: melChunk.contextStart,
      mel: melChunk.mel,
      melFrames: melChunk.mel.frames,
      solvedFrames: melChunk.solvedFrames,
      timings: { flowMs: melChunk.flowMs, vocoderMs: now() - vocoderStart },
    };
  }

  /**
   * Consumes token batches (e.g. from the LM's `onTokens`), yields audio chunks as soon as they can be made, and
   * finishes the utterance when the batches end.
   *
   * @param batches - speech-token batches in order
   * @param signal - aborts the run (the iteration rejects with the abort reason)
   */
  async *run(
    batches: AsyncIterable<ArrayLike<number>> | Iterable<ArrayLike<number>>,
    signal?: AbortSignal,
  ): AsyncGenerator<WaveChunk, void, undefined> {
    for await (const batch of batches) {
      signal?.throwIfAborted();
      this.push(batch);
      for (let chunk = await this.next(signal); chunk !== undefined; chunk = await this.next(signal)) yield chunk;
    }
    this.end();
    for (let chunk = await this.next(signal); chunk !== undefined; chunk = await this.next(signal)) yield chunk;
  }
}
