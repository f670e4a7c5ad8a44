/**
 * The incremental flow runner (issue #11): streaming flow calls that solve only their new frames on the
 * `flow_step_incremental` graph (docs/model-package.md), given the per-step caches of the frames already solved.
 * Mirrors tools/reference/flow/incremental_stream.py (`prompt_prefix`, `extend`), proven there equal to the re-solve.
 *
 * - {@link IncrementalFlow.promptPrefix}: the voice's complete prompt chunks solved once per voice and step count
 *   (kept in a {@link PromptCacheStore}), the start of every stream of that voice;
 * - {@link IncrementalFlow.decode}: one chunk-causal `flow.inference` call: the encoder over prompt ⊕ tokens as
 *   today (its look-ahead crosses chunk boundaries; once a window dropped frames, over prompt ⊕ the held tail's
 *   tokens only, so a long stream's chunks cost the same), then the Euler steps over the frames after the prefix.
 *
 * Which calls may run here and which prefix they start from is the caller's decision (`incremental-plan.ts`); this
 * runner checks only what would make its output wrong (a prefix of partial chunks, of another step count, or holding
 * frames the call must emit). It shares the encoder, noise and constants of its {@link FlowMatcher}.
 *
 * @module
 */

import { invalidInput, TTSError } from '../../errors.ts';
import { now } from '../../base/clock.ts';
import type { Device, Dtype } from '../../base/stages.ts';
import type { ModelPackage } from '../../runtime/model-package.ts';
import type { OrtModule } from '../../runtime/ort.ts';
import type { GraphSession } from '../../runtime/session.ts';
import { floatOutput } from '../../runtime/tensors.ts';
import { yieldAndCheck } from '../../runtime/yield.ts';
import type { EulerStepCallback, FlowDecodeResult, FlowMatcher, FlowPrompt, Mel } from './flow-matcher.ts';
import { checkFlowSteps, conditionTensors, eulerSchedule, promptCondition, sliceFrames } from './flow-matcher.ts';
import type { FlowCacheShape } from './incremental-plan.ts';
import { encoderSkipTokens, flowCacheBytes, promptCacheFrames } from './incremental-plan.ts';
import { PromptCacheStore } from './prompt-cache.ts';

/** One Euler step's cache: `past_kv` `[B, 2, 2, H, frames, D]` and `conv_state` `[2, C, K − 1]`, flattened. */
export interface StepCache {
  readonly kv: Float32Array;
  readonly conv: Float32Array;
}

/** Frames solved so far and their caches, one per Euler step. Never mutated: a prompt prefix serves many streams. */
export interface SolvedPrefix {
  /** Frames solved (whole chunks): the next call solves from this frame on. */
  readonly frames: number;
  /**
   * Frames whose keys/values the caches hold: `frames` unless {@link IncrementalFlow.windowPrefix} dropped some
   * (whole chunks between the voice's prompt chunks and the last ones kept; later frames then attend to fewer frames
   * than the re-solve's, an approximation).
   */
  readonly heldFrames: number;
  /**
   * First frame of the held tail once {@link IncrementalFlow.windowPrefix} dropped frames (those between the voice's
   * prompt chunks and it); `undefined` while nothing was dropped. Later calls encode only the tokens from about there
   * on (`encoderSkipTokens`).
   */
  readonly tailStart?: number;
  /** Euler steps of the solve that built it (a cache belongs to one step count). */
  readonly steps: number;
  /** One cache per step. */
  readonly caches: readonly StepCache[];
}

/** Options of {@link IncrementalFlow.create}. */
export interface IncrementalFlowCreateOptions {
  readonly device: Device;
  readonly dtype: Dtype;
  readonly signal?: AbortSignal;
  /**
   * Budget of the per-voice prompt caches kept between requests (least recently used dropped first; the newest is
   * always kept). @defaultValue {@link DEFAULT_FLOW_CACHE_BYTES}
   */
  readonly promptCacheBytes?: number;
}

/** Options of {@link IncrementalFlow.decode}. */
export interface IncrementalDecodeOptions {
  /** Last call of the utterance (zero look-ahead), solved chunk-causally on top of the prefix. */
  readonly finalize: boolean;
  /** Tokens (of those passed) already emitted: their frames are not returned. @defaultValue 0 */
  readonly tokenOffset?: number;
  /** The frames already solved; the call solves the rest. */
  readonly prefix: SolvedPrefix;
  /** Return the prefix grown by this call's frames (false saves its memory when it cannot be extended). */
  readonly keep: boolean;
  /** Checked before every graph run. */
  readonly signal?: AbortSignal;
  /** Observes the Euler states of the new frames. */
  readonly onStep?: EulerStepCallback;
}

/** Output of {@link IncrementalFlow.decode}. */
export interface IncrementalDecodeResult extends FlowDecodeResult {
  /** The prefix grown by this call (when `keep`). */
  readonly prefix: SolvedPrefix | undefined;
}

/**
 * Default budget of caches the flow keeps (1 GiB): the prompt caches of a runner, and the cache of one stream (beyond
 * it a stream drops the keys/values of its oldest chunks after the prompt's: {@link IncrementalFlow.windowPrefix}).
 * Full size (448 KiB per frame and step) a 3.5 s voice's prompt cache at 10 steps alone is 656 MiB, and a stream grows
 * by ≈ 219 MiB per second.
 */
export const DEFAULT_FLOW_CACHE_BYTES = 2 ** 30;

/** Runner over `flow_step_incremental`; see the module comment. */
export class IncrementalFlow {
  readonly #prompts: PromptCacheStore<SolvedPrefix>;

  private constructor(
    /** The full-graph runner whose encoder, noise and constants this one uses. */
    readonly flow: FlowMatcher,
    private readonly step: GraphSession,
    /** The cache layout read from the graph's inputs. */
    readonly shape: FlowCacheShape,
    private readonly convDims: readonly number[],
    promptCacheBytes: number,
  ) {
    this.#prompts = new PromptCacheStore(promptCacheBytes, (p) => this.cacheBytes(p.heldFrames, p.steps));
  }

  /**
   * Loads `flow_step_incremental` in the flow's dtype.
   *
   * @returns the runner, or `undefined` when the package does not ship the graph in that dtype (older packages)
   * @throws {TTSError} ERR_MODEL_FORMAT when the graph's cache inputs are not the documented layout;
   *   ERR_SESSION_CREATE from the session layer
   */
  static async create(
    flow: FlowMatcher,
    pkg: ModelPackage,
    ort: OrtModule,
    options: IncrementalFlowCreateOptions,
  ): Promise<IncrementalFlow | undefined> {
    if (pkg.manifest.graphs.flow_step_incremental?.[options.dtype] === undefined) return undefined;
    const step = await pkg.session(ort, 'flow_step_incremental', {
      device: options.device,
      dtype: options.dtype,
      ...(options.signal ? { signal: options.signal } : {}),
    });
    const kv = step.inputShape('past_kv') ?? [];
    const conv = step.inputShape('conv_state') ?? [];
    const [blocks, pair, rows, heads, , headDim] = kv;
    const [convRows, convChannels, history] = conv;
    const fixed = [blocks, pair, rows, heads, headDim, convRows, convChannels, history];
    if (
      kv.length !== 6 ||
      conv.length !== 3 ||
      !fixed.every((d) => typeof d === 'number') ||
      pair !== 2 ||
      rows !== 2 ||
      convRows !== 2 ||
      history !== 2
    ) {
      await step.release();
      throw new TTSError(
        'ERR_MODEL_FORMAT',
        `Graph "flow_step_incremental" has cache inputs past_kv [${kv.join(', ')}] and conv_state [${conv.join(', ')}]; ` +
          'expected [blocks, 2, 2, heads, past_frames, headDim] and [2, channels, 2].',
      );
    }
    const shape: FlowCacheShape = {
      blocks: blocks as number,
      heads: heads as number,
      headDim: headDim as number,
      convChannels: convChannels as number,
    };
    return new IncrementalFlow(
      flow,
      step,
      shape,
      conv as number[],
      options.promptCacheBytes ?? DEFAULT_FLOW_CACHE_BYTES,
    );
  }

  /** Mel frames of one attention chunk: a kept prefix holds a multiple of it. */
  get chunkFrames(): number {
    return this.flow.config.chunkTokens * this.flow.config.tokenMelRatio;
  }

  /** Bytes of the caches of `frames` frames solved with `steps` Euler steps. */
  cacheBytes(frames: number, steps: number): number {
    return flowCacheBytes(frames, steps, this.shape);
  }

  /** Bytes held by the prompt caches. */
  get promptCacheBytes(): number {
    return this.#prompts.bytes;
  }

  /** The prefix of no frames for a step count. */
  emptyPrefix(steps: number): SolvedPrefix {
    const convLength = this.convDims.reduce((n, d) => n * d, 1);
    const caches = Array.from({ length: steps }, () => ({
      kv: new Float32Array(0),
      conv: new Float32Array(convLength),
    }));
    return { frames: 0, heldFrames: 0, steps, caches };
  }

  /**
   * The prefix keeping only the keys/values of its first `headFrames` frames (the voice's prompt chunks) and of its
   * last `windowFrames` frames; the convolution states (the last two frames) are kept whole. Exact while nothing is
   * dropped (the prefix itself is returned); beyond, later frames no longer attend to the dropped chunks (the
   * estimator has no positional encoding and its chunk mask lets new frames see every kept frame, so the graph runs
   * unchanged on the shorter cache); later calls also encode only the prompt and the held tail's tokens
   * (`encoderSkipTokens`). Bounded-memory streaming (issue #11 item 3; docs/architecture.md).
   *
   * @throws {TTSError} ERR_INVALID_INPUT when the counts are not whole chunks or the head exceeds the frames held
   */
  windowPrefix(prefix: SolvedPrefix, headFrames: number, windowFrames: number): SolvedPrefix {
    const chunk = this.chunkFrames;
    const held = prefix.heldFrames;
    if (
      ![headFrames, windowFrames].every((n) => Number.isSafeInteger(n) && n >= 0 && n % chunk === 0) ||
      headFrames > held
    ) {
      throw invalidInput(
        `a flow cache window keeps whole ${chunk}-frame chunks: head ${String(headFrames)} (at most the ${held} ` +
          `frames held) and window ${String(windowFrames)}.`,
        { headFrames, windowFrames, heldFrames: held },
      );
    }
    if (headFrames + windowFrames >= held) return prefix;
    const { blocks, heads, headDim } = this.shape;
    const rows = blocks * 4 * heads; // [blocks, 2 (k, v), 2 (CFG rows), heads] before [frames, headDim]
    const kept = headFrames + windowFrames;
    const tailStart = held - windowFrames;
    const caches = prefix.caches.map(({ kv, conv }) => {
      const out = new Float32Array(rows * kept * headDim);
      for (let r = 0; r < rows; r++) {
        const src = r * held * headDim;
        const dst = r * kept * headDim;
        out.set(kv.subarray(src, src + headFrames * headDim), dst);
        out.set(kv.subarray(src + tailStart * headDim, src + held * headDim), dst + headFrames * headDim);
      }
      return { kv: out, conv };
    });
    return {
      frames: prefix.frames,
      heldFrames: kept,
      tailStart: prefix.frames - windowFrames,
      steps: prefix.steps,
      caches,
    };
  }

  /**
   * The voice's prompt chunks that no utterance token can change, solved with `steps` Euler steps: built on the first
   * call for a voice and step count, then served from memory (also the explicit "prepare this voice" call).
   *
   * @throws {TTSError} ERR_INVALID_INPUT for a bad step count or voice; ERR_INFERENCE; the abort reason
   */
  async promptPrefix(prompt: FlowPrompt, steps: number, signal?: AbortSignal): Promise<SolvedPrefix> {
    checkFlowSteps(steps, 'steps');
    const kept = this.#prompts.get(prompt, steps);
    if (kept !== undefined) return kept;
    const { chunkTokens, preLookahead, tokenMelRatio, melBins } = this.flow.config;
    const promptTokens = Array.from(prompt.promptTokens);
    const frames = promptCacheFrames({
      promptTokens: promptTokens.length,
      chunkTokens,
      lookahead: preLookahead,
      tokenMelRatio,
    });
    let prefix = this.emptyPrefix(steps);
    if (frames > 0) {
      const split = promptTokens.length - preLookahead;
      await yieldAndCheck(signal);
      const { mu, spks } = await this.flow.encode(
        promptTokens.slice(0, split),
        promptTokens.slice(split),
        true,
        prompt.embedding,
        signal,
      );
      const noise = this.flow.initialNoise(frames);
      const solved = await this.#solve(
        sliceFrames(mu, 0, frames),
        spks,
        promptCondition(prompt.promptFeat, melBins, frames),
        noise,
        prefix,
        true,
        signal,
      );
      if (solved.prefix !== undefined) prefix = solved.prefix;
    }
    this.#prompts.set(prompt, steps, prefix);
    return prefix;
  }

  /** Forgets the prompt caches of every voice. */
  releasePrompts(): void {
    this.#prompts.clear();
  }

  /**
   * One chunk-causal `flow.inference` call on prompt ⊕ `tokens` that solves only the frames after `options.prefix`.
   *
   * @returns the new frames (prompt and the `2·tokenOffset` emitted frames dropped), the frames solved, the wall
   *   times, and the grown prefix when `keep`
   * @throws {TTSError} ERR_INVALID_INPUT for inconsistent inputs, a prefix of partial chunks, of another step count
   *   or holding frames to be emitted; ERR_INFERENCE; the abort reason
   */
  async decode(
    prompt: FlowPrompt,
    tokens: ArrayLike<number>,
    options: IncrementalDecodeOptions,
  ): Promise<IncrementalDecodeResult> {
    const { melBins, tokenMelRatio, chunkTokens, preLookahead } = this.flow.config;
    const { prefix, signal } = options;
    const { all, split, frames, dropped } = this.flow.callFrames(prompt, tokens, options);
    const promptTokens = prompt.promptTokens.length;
    if (prefix.frames > dropped) {
      throw invalidInput(
        `the flow cache holds ${prefix.frames} frames but this call emits from frame ${dropped}: a cache may only ` +
          'hold frames already emitted or prompt frames.',
        { cachedFrames: prefix.frames, dropped },
      );
    }
    await yieldAndCheck(signal);
    const start = now();
    // a windowed prefix no longer holds the frames the skipped tokens encode: the encoder leaves them out as well
    const skip =
      prefix.tailStart === undefined
        ? 0
        : encoderSkipTokens(prefix.tailStart, { promptTokens, chunkTokens, lookahead: preLookahead, tokenMelRatio });
    const encoded =
      skip === 0 ? all.slice(0, split) : [...all.slice(0, promptTokens), ...all.slice(promptTokens + skip, split)];
    const { mu, spks } = await this.flow.encode(encoded, all.slice(split), true, prompt.embedding, signal);
    const encoderMs = now() - start;
    const from = prefix.frames;
    const cond = sliceFrames(promptCondition(prompt.promptFeat, melBins, frames), from);
    const noise = sliceFrames({ bins: melBins, frames, data: this.flow.initialNoise(frames) }, from).data;
    const solveStart = now();
    const solved = await this.#solve(
      sliceFrames(mu, from - tokenMelRatio * skip),
      spks,
      cond,
      noise,
      prefix,
      options.keep,
      signal,
      options.onStep,
    );
    const solverMs = now() - solveStart;
    return {
      mel: sliceFrames(solved.mel, dropped - from),
      solvedFrames: frames - from,
      encodedTokens: encoded.length + all.length - split,
      encoderMs,
      solverMs,
      prefix: solved.prefix,
    };
  }

  /** Releases the graph and the prompt caches. */
  async release(): Promise<void> {
    this.#prompts.clear();
    await this.step.release();
  }

  /** The CFM solve (spec §5.4) of the new frames `mu`/`cond`/`noise` `[80, N]` on top of `prefix`. */
  async #solve(
    mu: Mel,
    spks: Float32Array,
    cond: Mel,
    noise: Float32Array,
    prefix: SolvedPrefix,
    keep: boolean,
    signal?: AbortSignal,
    onStep?: EulerStepCallback,
  ): Promise<{ readonly mel: Mel; readonly prefix: SolvedPrefix | undefined }> {
    const { melBins } = this.flow.config;
    const { blocks, heads, headDim } = this.shape;
    const steps = prefix.steps;
    const held = prefix.heldFrames;
    if (
      prefix.frames % this.chunkFrames !== 0 ||
      held % this.chunkFrames !== 0 ||
      held > prefix.frames ||
      prefix.caches.length !== steps
    ) {
      throw invalidInput(
        `an incremental flow cache must hold whole ${this.chunkFrames}-frame chunks and one cache per Euler step ` +
          `(got ${prefix.frames} frames solved, ${held} held, ${prefix.caches.length} caches for ${steps} steps).`,
      );
    }
    const frames = mu.frames;
    const s = this.step;
    const dims = [1, melBins, frames];
    const fixed = conditionTensors(s, mu, spks, cond);
    const kvDims = (n: number): number[] => [blocks, 2, 2, heads, n, headDim];
    const kvLength = (n: number): number => blocks * 4 * heads * n * headDim;
    const { t, dt } = eulerSchedule(steps);
    const grown: StepCache[] = [];
    let x = noise;
    for (let k = 0; k < steps; k++) {
      const tk = t[k] ?? 0;
      const cache = prefix.caches[k];
      if (cache === undefined || cache.kv.length !== kvLength(held)) {
        throw invalidInput(`the flow cache of Euler step ${k} does not hold ${held} frames.`);
      }
      onStep?.(k, tk, x);
      await yieldAndCheck(signal); // an abort lands within one Euler step
      const outputs = await s.run(
        {
          ...fixed,
          x: s.tensor('float32', x, dims),
          t: s.tensor('float32', Float32Array.of(tk), [1]),
          dt: s.tensor('float32', Float32Array.of(dt[k] ?? 0), [1]),
          past_kv: s.tensor('float32', cache.kv, kvDims(held)),
          conv_state: s.tensor('float32', cache.conv, this.convDims),
        },
        signal,
      );
      x = floatOutput(outputs, 'x_next', s.name, melBins * frames);
      if (keep) {
        grown.push({
          kv: floatOutput(outputs, 'present_kv', s.name, kvLength(held + frames)),
          conv: floatOutput(outputs, 'next_conv_state', s.name, cache.conv.length),
        });
      }
    }
    return {
      mel: { bins: melBins, frames, data: x },
      prefix: keep
        ? {
            frames: prefix.frames + frames,
            heldFrames: held + frames,
            ...(prefix.tailStart === undefined ? {} : { tailStart: prefix.tailStart }),
            steps,
            caches: grown,
          }
        : undefined,
    };
  }
}
