/**
 * The flow runner: speech tokens + prompt + speaker embedding → mel, on the `flow_encoder` and `flow_step` graphs
 * (docs/model-package.md) and the package's fixed CFM noise buffer.
 *
 * - {@link FlowMatcher.encode}: `flow_encoder` (token embedding, conformer encoder with chunk or full attention,
 *   projection) → `mu` `[80, 2L]`, and the speaker condition `spks` `[80]`;
 * - {@link FlowMatcher.solve}: 10 Euler steps over the cosine schedule from the noise prefix (spec §5.4); each step
 *   is one `flow_step` call that evaluates the estimator on the conditional and the unconditional row and applies
 *   classifier-free guidance inside the graph;
 * - {@link FlowMatcher.decode}: upstream `CausalMaskedDiffWithXvec.inference` (spec §5.1) plus the streaming frame
 *   bookkeeping (drop the prompt frames and the `2·tokenOffset` frames already emitted).
 *
 * The runner knows graph names and shapes only; chunking decisions come from `../chunk-policy.ts`.
 *
 * @module
 */

import { invalidInput, TTSError } from '../../errors.ts';
import type { Device, Dtype } from '../../base/stages.ts';
import type { ModelPackage } from '../../runtime/model-package.ts';
import type { OrtModule, OrtTensor } from '../../runtime/ort.ts';
import type { GraphSession } from '../../runtime/session.ts';
import { floatOutput } from '../../runtime/tensors.ts';
import { now } from '../../base/clock.ts';
import { yieldAndCheck } from '../../runtime/yield.ts';

/** A mel spectrogram, channel-major `[bins][frames]` (the `[1, 80, T]` layout of the graphs without the batch). */
export interface Mel {
  /** Mel bins (80). */
  readonly bins: number;
  /** Frames (50 Hz). */
  readonly frames: number;
  /** `bins · frames` values; `data[b · frames + t]`. */
  readonly data: Float32Array;
}

/** The flow-side part of a voice: what `flow.inference` takes besides the new tokens (spec §3.6). */
export interface FlowPrompt {
  /** Flow prompt speech tokens (P; empty for SFT). */
  readonly promptTokens: ArrayLike<number>;
  /** Prompt mel, **time-major** `[2P][80]` (`prompt_feat` as upstream passes it and `dsp.promptMel` returns it). */
  readonly promptFeat: Float32Array;
  /** Speaker x-vector (192 values; L2-normalised inside the graph). */
  readonly embedding: ArrayLike<number>;
}

/** Constants the runner uses (from the package manifest). */
export interface FlowMatcherConfig {
  /** Mel bins (80). */
  readonly melBins: number;
  /** Mel frames per speech token (2). */
  readonly tokenMelRatio: number;
  /** The flow's speech-token vocabulary V (manifest `flow.vocabSize`; tokens must be in [0, V)). */
  readonly vocabSize: number;
  /** Look-ahead tokens of the encoder's pre-lookahead layer (3). */
  readonly preLookahead: number;
  /** Encoder chunk in tokens for streaming attention (25). */
  readonly chunkTokens: number;
  /** Euler steps (10). */
  readonly nTimesteps: number;
  /** Scale of the initial noise (1.0). */
  readonly temperature: number;
  /** Frames F of the noise buffer `[80, F]`: the longest mel (prompt included) the flow can produce. */
  readonly noiseFrames: number;
  /** Speaker embedding size (192). */
  readonly spkEmbedDim: number;
}

/** Options of {@link FlowMatcher.create}. */
export interface FlowMatcherCreateOptions {
  /** Device of both graphs. */
  readonly device: Device;
  /** Weight variant of both graphs. */
  readonly dtype: Dtype;
  /** Aborts loading. */
  readonly signal?: AbortSignal;
}

/** Output of {@link FlowMatcher.encode}. */
export interface FlowEncoding {
  /** `mu` `[80, 2L]`. */
  readonly mu: Mel;
  /** Speaker condition `[80]`. */
  readonly spks: Float32Array;
}

/** Called with the state fed to each Euler step (before the step). */
export type EulerStepCallback = (step: number, t: number, x: Float32Array) => void;

/** Options of {@link FlowMatcher.solve}. */
export interface SolveOptions {
  /** Checked before every graph run. */
  readonly signal?: AbortSignal;
  /** Observes the state fed to each step (step 0 sees the noise). */
  readonly onStep?: EulerStepCallback;
  /**
   * Noise columns skipped after the first `noiseGap.at` frames: frame j ≥ at starts from noise column j + skip.
   * Used by bounded-context streaming so a frame's initial noise does not depend on the context window.
   * @defaultValue no gap (frame j starts from column j, as upstream)
   */
  readonly noiseGap?: { readonly at: number; readonly skip: number };
  /**
   * Euler steps (the cosine schedule is spread over them). Flow time is proportional to it; fewer steps trade
   * quality for speed. @defaultValue the package's `flow.nTimesteps` (10)
   */
  readonly steps?: number;
}

/** Most Euler steps a request may ask for (upstream uses 10; more only costs time). */
export const MAX_FLOW_STEPS = 50;

/**
 * Checks a number of Euler steps.
 *
 * @throws {TTSError} ERR_INVALID_INPUT unless an integer in [1, {@link MAX_FLOW_STEPS}]
 */
export function checkFlowSteps(steps: unknown, name = 'flowSteps'): number {
  if (typeof steps !== 'number' || !Number.isInteger(steps) || steps < 1 || steps > MAX_FLOW_STEPS) {
    throw invalidInput(`${name} must be an integer in [1, ${MAX_FLOW_STEPS}], got ${String(steps)}.`, {
      [name]: steps,
    });
  }
  return steps;
}

/** Options of {@link FlowMatcher.decode}. */
export interface FlowDecodeOptions {
  /** Chunk (streaming) attention masks instead of full attention. */
  readonly streaming: boolean;
  /**
   * Last call of an utterance: the look-ahead is zero padding and every token produces frames. When false the last
   * `preLookahead` tokens are look-ahead context only.
   */
  readonly finalize: boolean;
  /** Tokens (of those passed) already emitted: their `2·tokenOffset` frames are dropped. @defaultValue 0 */
  readonly tokenOffset?: number;
  /**
   * Index, in the whole utterance, of the first token passed (bounded-context streaming passes a window): the noise
   * of every frame is then taken as if the full prefix had been passed. @defaultValue 0
   */
  readonly contextStart?: number;
  /** Euler steps (see {@link SolveOptions.steps}). @defaultValue the package's `flow.nTimesteps` */
  readonly steps?: number;
  /** Checked before every graph run. */
  readonly signal?: AbortSignal;
  /** Observes the Euler states. */
  readonly onStep?: EulerStepCallback;
}

/** Output of {@link FlowMatcher.decode}. */
export interface FlowDecodeResult {
  /** The new mel frames (prompt and already emitted frames dropped). */
  readonly mel: Mel;
  /** Frames the solver ran on (prompt included): the cost driver. */
  readonly solvedFrames: number;
  /** Tokens the encoder ran over (prompt and look-ahead included): its cost driver, quadratic in attention. */
  readonly encodedTokens: number;
  /** Wall time of the encoder graph (ms). */
  readonly encoderMs: number;
  /** Wall time of the Euler loop (ms). */
  readonly solverMs: number;
}

/** Output of {@link FlowMatcher.callFrames}. */
export interface FlowCallFrames {
  /** Prompt tokens ⊕ the tokens passed. */
  readonly all: readonly number[];
  /** Tokens of `all` that produce frames (the rest is look-ahead context). */
  readonly split: number;
  /** Frames of the call, prompt included: `tokenMelRatio · split`. */
  readonly frames: number;
  /** Frames of the prompt mel. */
  readonly promptFrames: number;
  /** Frames before the new ones: the prompt's and those already emitted. */
  readonly dropped: number;
}

/** Flow time `t` and step `dt` of each Euler step (float32 values). */
export interface EulerSchedule {
  /** Flow time fed to step k. */
  readonly t: readonly number[];
  /** Step size of step k. */
  readonly dt: readonly number[];
}

/**
 * The Euler steps of upstream's `solve_euler` over the cosine schedule t_k = 1 − cos(π/2 · k/n), in float32 exactly
 * as torch computes them: `t_span = 1 − cos(linspace(0, 1, n+1) · 0.5 · π)`, then t is a float32 running sum
 * (`t = t + dt; dt = t_span[k+1] − t`), not `t_span[k]` itself.
 *
 * @param steps - number of Euler steps (10)
 * @returns `t` and `dt` per step (each `steps` long)
 * @throws {TTSError} ERR_INVALID_INPUT when `steps` is not a positive integer
 * @see cosyvoice/flow/flow_matching.py CausalConditionalCFM.forward / solve_euler
 */
export function eulerSchedule(steps: number): EulerSchedule {
  if (!Number.isSafeInteger(steps) || steps < 1) throw invalidInput(`steps must be a positive integer (got ${steps}).`);
  const f = Math.fround;
  // torch.linspace(0, 1, n+1) in float32: start + step·i for the first half, end − step·(n − i) for the second.
  const step = f(1 / steps);
  const span: number[] = [];
  for (let i = 0; i <= steps; i++) {
    const u = i < (steps + 1) / 2 ? f(step * i) : f(1 - f(step * (steps - i)));
    span.push(f(1 - f(Math.cos(f(f(u * 0.5) * f(Math.PI))))));
  }
  const t: number[] = [];
  const dt: number[] = [];
  let time = span[0] ?? 0;
  let delta = f((span[1] ?? 0) - time);
  for (let k = 1; k <= steps; k++) {
    t.push(time);
    dt.push(delta);
    time = f(time + delta);
    if (k < steps) delta = f((span[k + 1] ?? 0) - time);
  }
  return { t, dt };
}

/** Integer token ids in [0, vocab) → int64. */
function tokenIds(tokens: ArrayLike<number>, vocab: number, what: string): BigInt64Array {
  const ids = new BigInt64Array(tokens.length);
  for (let i = 0; i < tokens.length; i++) {
    const t = tokens[i] ?? -1;
    if (!Number.isInteger(t) || t < 0 || t >= vocab) {
      throw invalidInput(`${what}[${i}] = ${String(t)} is not a speech token; expected an integer in [0, ${vocab}).`, {
        index: i,
        value: t,
      });
    }
    ids[i] = BigInt(t);
  }
  return ids;
}

/**
 * Flow-matching runner over the `flow_encoder` / `flow_step` graphs. One instance serves any number of requests
 * (it holds no per-request state); runs are serialised per realm by the session layer.
 *
 * @example
 * ```ts
 * const flow = await FlowMatcher.create(pkg, ort, { device: 'wasm', dtype: 'fp32' });
 * const { mel } = await flow.decode(voice, tokens, { streaming: false, finalize: true });
 * ```
 */
export class FlowMatcher {
  private constructor(
    /** Constants from the manifest. */
    readonly config: FlowMatcherConfig,
    private readonly encoder: GraphSession,
    private readonly step: GraphSession,
    private readonly noise: Float32Array,
  ) {}

  /**
   * Loads both graphs of the flow stage and the noise buffer.
   *
   * @throws {TTSError} ERR_MODEL_FORMAT / ERR_SESSION_CREATE from the package and session layers
   */
  static async create(pkg: ModelPackage, ort: OrtModule, options: FlowMatcherCreateOptions): Promise<FlowMatcher> {
    const { melBins, tokenMelRatio, flow } = pkg.manifest.config;
    const config: FlowMatcherConfig = {
      melBins,
      tokenMelRatio,
      vocabSize: flow.vocabSize,
      preLookahead: flow.preLookahead,
      chunkTokens: flow.chunkTokens,
      nTimesteps: flow.nTimesteps,
      temperature: flow.temperature,
      noiseFrames: flow.noiseFrames,
      spkEmbedDim: flow.spkEmbedDim,
    };
    const session = {
      device: options.device,
      dtype: options.dtype,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const encoder = await pkg.session(ort, 'flow_encoder', session);
    try {
      const step = await pkg.session(ort, 'flow_step', session);
      const noise = await pkg.noise(options.signal);
      return new FlowMatcher(config, encoder, step, noise);
    } catch (error) {
      await encoder.release();
      throw error;
    }
  }

  /**
   * Runs `flow_encoder`.
   *
   * @param tokens - prompt ⊕ speech tokens whose frames are wanted (L)
   * @param context - 0 tokens (zero look-ahead padding) or `preLookahead` real look-ahead tokens
   * @param streaming - chunk masks (true) or full attention (false)
   * @param embedding - speaker x-vector (192)
   * @param signal - aborts before the run
   * @returns `mu` `[80, 2L]` and `spks` `[80]`
   * @throws {TTSError} ERR_INVALID_INPUT for bad tokens / context / embedding; ERR_INFERENCE
   */
  async encode(
    tokens: ArrayLike<number>,
    context: ArrayLike<number>,
    streaming: boolean,
    embedding: ArrayLike<number>,
    signal?: AbortSignal,
  ): Promise<FlowEncoding> {
    const { vocabSize, preLookahead, spkEmbedDim, melBins, tokenMelRatio } = this.config;
    if (tokens.length === 0) throw invalidInput('flow_encoder needs at least one token.');
    if (context.length !== 0 && context.length !== preLookahead) {
      throw invalidInput(`context must hold 0 or ${preLookahead} look-ahead tokens (got ${context.length}).`);
    }
    if (embedding.length !== spkEmbedDim) {
      throw invalidInput(`the speaker embedding must have ${spkEmbedDim} values (got ${embedding.length}).`);
    }
    const s = this.encoder;
    const outputs = await s.run(
      {
        tokens: s.tensor('int64', tokenIds(tokens, vocabSize, 'tokens'), [1, tokens.length]),
        context: s.tensor('int64', tokenIds(context, vocabSize, 'context'), [1, context.length]),
        streaming: s.tensor('bool', Uint8Array.of(streaming ? 1 : 0), [1]),
        embedding: s.tensor('float32', Float32Array.from(embedding), [1, spkEmbedDim]),
      },
      signal,
    );
    const mu = floatOutput(outputs, 'mu', s.name);
    const spks = floatOutput(outputs, 'spks', s.name);
    const frames = tokenMelRatio * tokens.length;
    if (mu.length !== melBins * frames || spks.length !== melBins) {
      throw new TTSError(
        'ERR_INFERENCE',
        `Graph "${s.name}" returned mu of ${mu.length} values and spks of ${spks.length}; expected ${melBins}×${frames} and ${melBins}.`,
      );
    }
    return { mu: { bins: melBins, frames, data: mu }, spks };
  }

  /**
   * The initial Euler state: the first frames of the noise buffer × temperature, `[80, frames]`.
   *
   * @param frames - T
   * @param gap - optional skipped noise columns (see {@link SolveOptions.noiseGap})
   * @throws {TTSError} ERR_INVALID_INPUT when the noise buffer is too short
   */
  initialNoise(frames: number, gap?: { readonly at: number; readonly skip: number }): Float32Array {
    const { melBins, noiseFrames, temperature } = this.config;
    const at = gap?.at ?? frames;
    const skip = gap?.skip ?? 0;
    if (!Number.isSafeInteger(at) || !Number.isSafeInteger(skip) || at < 0 || skip < 0) {
      throw invalidInput(`noise gap must be non-negative integers (got at ${at}, skip ${skip}).`);
    }
    const needed = frames + (frames > at ? skip : 0);
    if (needed > noiseFrames) {
      throw invalidInput(
        `The flow needs ${needed} frames of CFM noise but the model package's noise buffer has ${noiseFrames} ` +
          `(${(noiseFrames / 50).toFixed(1)} s of 50 Hz mel, prompt included). Synthesise shorter segments or use a ` +
          `shorter prompt.`,
        { frames: needed, noiseFrames },
      );
    }
    const x = new Float32Array(melBins * frames);
    for (let c = 0; c < melBins; c++) {
      const row = c * noiseFrames;
      for (let j = 0; j < frames; j++) {
        const column = j < at ? j : j + skip;
        x[c * frames + j] = (this.noise[row + column] ?? 0) * temperature;
      }
    }
    return x;
  }

  /**
   * The CFM solve (spec §5.4): `nTimesteps` (or `options.steps`) CFG Euler steps from the noise prefix.
   *
   * @param mu - encoder output `[80, T]`
   * @param spks - speaker condition `[80]`
   * @param cond - prompt mel in the first frames, zeros after, `[80, T]`
   * @param streaming - chunk (50-frame) attention masks in the estimator
   * @param options - signal, step observer, noise gap, number of steps
   * @returns the mel `[80, T]` (prompt frames included)
   * @throws {TTSError} ERR_INVALID_INPUT for mismatched shapes, too little noise or a bad step count; ERR_INFERENCE
   */
  async solve(mu: Mel, spks: Float32Array, cond: Mel, streaming: boolean, options: SolveOptions = {}): Promise<Mel> {
    const { melBins } = this.config;
    const nTimesteps = options.steps === undefined ? this.config.nTimesteps : checkFlowSteps(options.steps, 'steps');
    const frames = mu.frames;
    if (mu.bins !== melBins || cond.bins !== melBins || cond.frames !== frames || spks.length !== melBins) {
      throw invalidInput(
        `solve needs mu and cond of ${melBins}×T (got ${mu.bins}×${mu.frames} and ${cond.bins}×${cond.frames}) ` +
          `and spks of ${melBins} (got ${spks.length}).`,
      );
    }
    if (frames === 0) return { bins: melBins, frames: 0, data: new Float32Array(0) };
    let x = this.initialNoise(frames, options.noiseGap);
    const s = this.step;
    const dims = [1, melBins, frames];
    const fixed = {
      ...conditionTensors(s, mu, spks, cond),
      streaming: s.tensor('bool', Uint8Array.of(streaming ? 1 : 0), [1]),
    };
    const { t, dt } = eulerSchedule(nTimesteps);
    for (let k = 0; k < nTimesteps; k++) {
      const tk = t[k] ?? 0;
      options.onStep?.(k, tk, x);
      await yieldAndCheck(options.signal); // an abort lands within one Euler step
      const outputs = await s.run(
        {
          ...fixed,
          x: s.tensor('float32', x, dims),
          t: s.tensor('float32', Float32Array.of(tk), [1]),
          dt: s.tensor('float32', Float32Array.of(dt[k] ?? 0), [1]),
        },
        options.signal,
      );
      x = floatOutput(outputs, 'x_next', s.name);
      if (x.length !== melBins * frames) {
        throw new TTSError(
          'ERR_INFERENCE',
          `Graph "${s.name}" returned ${x.length} values; expected ${melBins}×${frames}.`,
        );
      }
    }
    return { bins: melBins, frames, data: x };
  }

  /**
   * Upstream `flow.inference` (spec §5.1) for prompt ⊕ `tokens`, then drops the prompt frames and the `2·tokenOffset`
   * frames already emitted (spec §5.7).
   *
   * @param prompt - prompt tokens, prompt mel (time-major) and speaker embedding
   * @param tokens - speech tokens; unless `finalize`, the last `preLookahead` are look-ahead only
   * @param options - attention mode, finalize, token offset, context start, signal
   * @returns the new frames: `2·(n − lookahead − tokenOffset)` (n = tokens.length, lookahead = 0 when finalizing)
   * @throws {TTSError} ERR_INVALID_INPUT for inconsistent inputs or too little noise; ERR_INFERENCE
   * @see cosyvoice/flow/flow.py CausalMaskedDiffWithXvec.inference and cosyvoice/cli/model.py token2wav
   */
  async decode(prompt: FlowPrompt, tokens: ArrayLike<number>, options: FlowDecodeOptions): Promise<FlowDecodeResult> {
    const { melBins } = this.config;
    const contextStart = options.contextStart ?? 0;
    if (!Number.isSafeInteger(contextStart) || contextStart < 0) {
      throw invalidInput(`contextStart must be a non-negative integer (got ${contextStart}).`);
    }
    const { all, split, frames, promptFrames, dropped } = this.callFrames(prompt, tokens, options);
    if (split === 0) {
      return {
        mel: { bins: melBins, frames: 0, data: new Float32Array(0) },
        solvedFrames: 0,
        encodedTokens: 0,
        encoderMs: 0,
        solverMs: 0,
      };
    }
    await yieldAndCheck(options.signal);
    const start = now();
    const { mu, spks } = await this.encode(
      all.slice(0, split),
      all.slice(split),
      options.streaming,
      prompt.embedding,
      options.signal,
    );
    const encoderMs = now() - start;
    const cond = promptCondition(prompt.promptFeat, melBins, frames);
    const solveStart = now();
    const mel = await this.solve(mu, spks, cond, options.streaming, {
      ...(options.signal ? { signal: options.signal } : {}),
      ...(options.onStep ? { onStep: options.onStep } : {}),
      ...(contextStart > 0 ? { noiseGap: { at: promptFrames, skip: this.config.tokenMelRatio * contextStart } } : {}),
      ...(options.steps === undefined ? {} : { steps: options.steps }),
    });
    const solverMs = now() - solveStart;
    return {
      mel: sliceFrames(mel, dropped, frames),
      solvedFrames: frames,
      encodedTokens: all.length,
      encoderMs,
      solverMs,
    };
  }

  /**
   * The frame bookkeeping of one `flow.inference` call on prompt ⊕ `tokens` (shared by every solver of it).
   *
   * @returns the prompt ⊕ tokens, the tokens that produce frames (`split`, the rest is look-ahead), the frames
   *   (`2·split`), the prompt's frames and the frames dropped before the new ones (prompt + `2·tokenOffset`)
   * @throws {TTSError} ERR_INVALID_INPUT for too few tokens, a bad token offset or a prompt mel that does not fit
   */
  callFrames(
    prompt: FlowPrompt,
    tokens: ArrayLike<number>,
    options: Pick<FlowDecodeOptions, 'finalize' | 'tokenOffset'>,
  ): FlowCallFrames {
    const { melBins, tokenMelRatio, preLookahead } = this.config;
    const tokenOffset = options.tokenOffset ?? 0;
    const lookahead = options.finalize ? 0 : preLookahead;
    const produced = tokens.length - lookahead;
    if (produced < 0) {
      throw invalidInput(
        `a non-final flow call needs at least the ${preLookahead} look-ahead tokens (got ${tokens.length}).`,
      );
    }
    if (!Number.isSafeInteger(tokenOffset) || tokenOffset < 0 || tokenOffset > produced) {
      throw invalidInput(`tokenOffset must be an integer in [0, ${produced}] (got ${tokenOffset}).`);
    }
    if (prompt.promptFeat.length % melBins !== 0) {
      throw invalidInput(
        `promptFeat must be time-major [frames][${melBins}] (got ${prompt.promptFeat.length} values).`,
      );
    }
    const promptFrames = prompt.promptFeat.length / melBins;
    const all = [...Array.from(prompt.promptTokens), ...Array.from(tokens)];
    const split = all.length - lookahead;
    const frames = tokenMelRatio * split;
    const dropped = promptFrames + tokenMelRatio * tokenOffset;
    if (promptFrames > frames) {
      throw invalidInput(`the prompt mel has ${promptFrames} frames but the flow produces only ${frames}.`);
    }
    return { all, split, frames, promptFrames, dropped };
  }

  /** Releases both sessions. */
  async release(): Promise<void> {
    await Promise.all([this.encoder.release(), this.step.release()]);
  }
}

/** The inputs every Euler step of a solve shares: `mu`, `cond` `[1, 80, T]` and `spks` `[1, 80]`. */
export function conditionTensors(
  session: GraphSession,
  mu: Mel,
  spks: Float32Array,
  cond: Mel,
): { readonly mu: OrtTensor; readonly spks: OrtTensor; readonly cond: OrtTensor } {
  const dims = [1, mu.bins, mu.frames];
  return {
    mu: session.tensor('float32', mu.data, dims),
    spks: session.tensor('float32', spks, [1, mu.bins]),
    cond: session.tensor('float32', cond.data, dims),
  };
}

/**
 * The solver's condition `[80, frames]`: the prompt mel (time-major `[promptFrames][80]`) in the first frames, zeros
 * after (spec §5.1).
 */
export function promptCondition(promptFeat: Float32Array, melBins: number, frames: number): Mel {
  const promptFrames = Math.min(promptFeat.length / melBins, frames);
  const cond = new Float32Array(melBins * frames);
  for (let j = 0; j < promptFrames; j++) {
    for (let b = 0; b < melBins; b++) cond[b * frames + j] = promptFeat[j * melBins + b] ?? 0;
  }
  return { bins: melBins, frames, data: cond };
}

/**
 * Frames `[from, to)` of a mel (a copy).
 *
 * @throws {TTSError} ERR_INVALID_INPUT for a range outside the mel
 */
export function sliceFrames(mel: Mel, from: number, to: number = mel.frames): Mel {
  if (!(0 <= from && from <= to && to <= mel.frames)) {
    throw invalidInput(`frame range [${from}, ${to}) is outside a mel of ${mel.frames} frames.`);
  }
  const frames = to - from;
  const data = new Float32Array(mel.bins * frames);
  for (let b = 0; b < mel.bins; b++) {
    data.set(mel.data.subarray(b * mel.frames + from, b * mel.frames + to), b * frames);
  }
  return { bins: mel.bins, frames, data };
}

/**
 * Concatenates mels along time.
 *
 * @throws {TTSError} ERR_INVALID_INPUT when the bin counts differ
 */
export function concatFrames(mels: readonly Mel[], bins: number): Mel {
  const frames = mels.reduce((n, m) => n + m.frames, 0);
  const data = new Float32Array(bins * frames);
  let at = 0;
  for (const m of mels) {
    if (m.bins !== bins) throw invalidInput(`cannot concatenate a ${m.bins}-bin mel with ${bins}-bin mels.`);
    for (let b = 0; b < bins; b++) data.set(m.data.subarray(b * m.frames, (b + 1) * m.frames), b * frames + at);
    at += m.frames;
  }
  return { bins, frames, data };
}
