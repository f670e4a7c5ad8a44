/**
 * The speech-token LM runner on onnxruntime (spec §4; graph contract in docs/model-package.md): owns the sessions
 * `embed_text`, `embed_speech` and `llm`, implements the {@link LmStepFn} of the pure decode loops (embedding runs →
 * concatenated rows → `llm` with an explicit KV cache; positions continue; attention mask all ones) and drives
 * {@link decodeUnistream} / {@link decodeBistream} with repetition-aware sampling from a seedable generator.
 *
 * KV cache: on WebGPU the `present.*` outputs stay on the GPU (`gpu-buffer` outputs) and are fed back as the next
 * `past_key_values.*`; every replaced tensor is disposed right after the call that replaced it, and the whole cache
 * at the end of a request, on abort and on error ({@link KvCache}). On wasm the same code moves plain CPU tensors.
 *
 * The runner knows graph names and shapes only: no workers, no messaging; callbacks in, typed arrays out.
 */

import { invalidInput, TTSError } from '../../errors.ts';
import type { Device, Dtype } from '../../base/stages.ts';
import type { ModelPackage } from '../../runtime/model-package.ts';
import type { OrtModule, OrtTensor } from '../../runtime/ort.ts';
import { KvCache, kvTensorNames } from '../../runtime/kv-cache.ts';
import { checkIds } from '../../runtime/tensors.ts';
import type { GraphSession, TensorMap } from '../../runtime/session.ts';
import type { BistreamOptions, BistreamPrompt } from './bistream.ts';
import type {
  BistreamDecodeResult,
  DecodeResult,
  LmStepFn,
  LmStepRecord,
  LmTokenConfig,
  TokenSampler,
} from './decode-loop.ts';
import { createRasSampler, decodeBistream, decodeUnistream } from './decode-loop.ts';
import type { UniformSource } from './rng.ts';
import { Xoshiro128 } from './rng.ts';
import type { EosRule, RasConfig, RasVariant } from './sampler.ts';
import type { EmbedSpecialRows, LmLayoutConfig, LmRequest, LmSegment } from './sequence.ts';
import { buildLmInput, rowCount, toEmbedRuns } from './sequence.ts';

// ---------------------------------------------------------------------------------------------------------------------
// Runner

/** Session subset the runner uses (a {@link GraphSession}; tests pass fakes). */
export type LmGraphSession = Pick<GraphSession, 'name' | 'device' | 'run' | 'tensor' | 'release'>;

/** The three sessions of the `lm` stage. */
export interface SpeechLmSessions {
  /** `embed_text`: `input_ids` int64 [1, S] → `inputs_embeds` [1, S, H]. */
  readonly embedText: LmGraphSession;
  /** `embed_speech`: `speech_ids` int64 [1, S] → `inputs_embeds` [1, S, H]. */
  readonly embedSpeech: LmGraphSession;
  /** `llm`: embeddings + mask + positions + past → `logits` [1, V+3] + present. */
  readonly llm: LmGraphSession;
}

/** Model constants the runner needs (from the manifest, see {@link speechLmConfig}). */
export interface SpeechLmConfig extends LmTokenConfig, RasConfig, LmLayoutConfig, EmbedSpecialRows {
  /** LM hidden size H. */
  readonly hiddenSize: number;
  /** Transformer layers. */
  readonly numLayers: number;
  /** KV heads. */
  readonly numKvHeads: number;
  /** Head dimension. */
  readonly headDim: number;
  /** Text vocabulary size (rows of `embed_text`). */
  readonly textVocabSize: number;
}

/** The {@link SpeechLmConfig} of a model package. */
export function speechLmConfig(manifest: ModelPackage['manifest']): SpeechLmConfig {
  const { llm, sampling, specialTokens } = manifest.config;
  const eop = specialTokens['<|endofprompt|>'];
  return {
    hiddenSize: llm.hiddenSize,
    numLayers: llm.numLayers,
    numKvHeads: llm.numKvHeads,
    headDim: llm.headDim,
    textVocabSize: llm.textVocabSize,
    speechTokenSize: llm.speechTokenSize,
    eosId: llm.eosId,
    fillId: llm.fillId,
    stopIds: llm.stopIds,
    sosRow: llm.sosRow,
    taskIdRow: llm.taskIdRow,
    mixRatio: llm.mixRatio,
    topP: sampling.topP,
    topK: sampling.topK,
    winSize: sampling.winSize,
    tauR: sampling.tauR,
    minTokenTextRatio: sampling.minTokenTextRatio,
    maxTokenTextRatio: sampling.maxTokenTextRatio,
    // Checked only when the id exists in this text vocabulary (test packages use a stand-in vocabulary).
    ...(eop !== undefined && eop < llm.textVocabSize ? { endOfPromptId: eop } : {}),
  };
}

/** Options of {@link SpeechLm.create}. */
export interface SpeechLmOptions {
  /** Where the three graphs run. */
  readonly device: Device;
  /** Variant of the `lm` stage. */
  readonly dtype: Dtype;
  /** Aborts loading. */
  readonly signal?: AbortSignal;
}

/** Sampling and callback options shared by {@link SpeechLm.generate} and {@link SpeechLm.generateBistream}. */
export interface LmSamplingOptions {
  /**
   * Request seed: the sampler draws its uniforms from `Xoshiro128(seed)`, so a seed reproduces an utterance. When
   * neither `seed`, `rng` nor `sampler` is given a random seed is chosen (and returned in the result).
   */
  readonly seed?: number;
  /** Uniform source to sample with (instead of `seed`). */
  readonly rng?: UniformSource;
  /** Complete replacement of the sampler (teacher forcing, tests); `seed`, `rng`, `variant`, `eosRule` are ignored. */
  readonly sampler?: TokenSampler;
  /** RAS fallback variant (spec §4.4). @defaultValue 'current' */
  readonly variant?: RasVariant;
  /** How EOS is forbidden before min_len. @defaultValue 'mask' */
  readonly eosRule?: EosRule;
  /** Aborts between LM calls; rejects with the signal's reason (the KV cache is freed). */
  readonly signal?: AbortSignal;
  /** Called for every emitted speech token. */
  readonly onToken?: (token: number, index: number) => void;
  /** Called after every LM call with its log-probs and decision. */
  readonly onStep?: (record: LmStepRecord) => void;
  /** See {@link DecodeOptions.yieldBetweenSteps} (benchmarks only). @defaultValue true */
  readonly yieldBetweenSteps?: boolean;
  /** Awaited before every LM call (backpressure; see {@link DecodeOptions.beforeStep}). */
  readonly beforeStep?: () => Promise<void>;
}

/** Options of {@link SpeechLm.generate}. */
export interface LmGenerateOptions extends LmSamplingOptions {
  /** Extra cap on emitted tokens (the request's max_len = 20 × text ids still applies). */
  readonly maxTokens?: number;
}

/** Options of {@link SpeechLm.generateBistream}. */
export interface LmBistreamOptions extends LmSamplingOptions, BistreamOptions {
  /** Cap on LM calls after the text ended (upstream: none). @defaultValue undefined */
  readonly maxFinalSteps?: number | (() => number);
}

/** Result of {@link SpeechLm.generate}. */
export interface LmGenerateResult extends DecodeResult {
  /** The seed the sampler used, when it was seeded (given or chosen); undefined with `rng` or `sampler`. */
  readonly seed: number | undefined;
}

/** Result of {@link SpeechLm.generateBistream}. */
export interface LmBistreamResult extends BistreamDecodeResult {
  /** See {@link LmGenerateResult.seed}. */
  readonly seed: number | undefined;
}

/**
 * The speech-token LM on onnxruntime: four unistream modes (zero-shot, cross-lingual, instruct2, SFT) and
 * bistream, prefill then KV-cached decoding, repetition-aware sampling.
 *
 * Requests on one instance run one after another (the KV cache is per instance).
 *
 * @example
 * ```ts
 * const lm = await SpeechLm.create(pkg, ort, { device: 'wasm', dtype: 'int8' });
 * const { tokens } = await lm.generate(
 *   { mode: 'zero-shot', textIds, promptTextIds, promptSpeechIds },
 *   { seed: 42, signal, onToken: (t) => flow.push(t) },
 * );
 * ```
 */
export class SpeechLm {
  /** Model constants in use. */
  readonly config: SpeechLmConfig;
  /** Device of the `llm` session. */
  readonly device: Device;
  /**
   * One LM call (the {@link LmStepFn} of the decode loops): feeds `segments` at `position` and returns the raw
   * logits of the last row. Position 0 starts a new sequence (the cache is cleared); any other position must equal
   * the cached length. For driving the loops by hand (e.g. teacher forcing); call {@link SpeechLm.reset} afterwards
   * to free the cache. Rejected while a `generate` call is running.
   */
  readonly step: LmStepFn;
  private readonly cache: KvCache<OrtTensor>;
  private queue: Promise<unknown> = Promise.resolve();
  private busy = false;
  /** LM calls in flight (their feeds include the cache's tensors, which must not be freed under them). */
  private inFlight = 0;
  private disposed = false;

  private constructor(
    private readonly sessions: SpeechLmSessions,
    config: SpeechLmConfig,
  ) {
    this.config = config;
    this.device = sessions.llm.device;
    const { numKvHeads, headDim } = config;
    this.cache = new KvCache<OrtTensor>(config.numLayers, () =>
      sessions.llm.tensor('float32', new Float32Array(0), [1, numKvHeads, 0, headDim]),
    );
    this.step = (segments, position, signal) => {
      if (this.busy) throw invalidInput('SpeechLm.step cannot be called while generate() is running.');
      return this.runStep(segments, position, signal);
    };
  }

  /**
   * Loads the `embed_text`, `embed_speech` and `llm` graphs of a package. On WebGPU the `present.*` outputs of
   * `llm` are requested as GPU buffers.
   *
   * @throws {TTSError} ERR_MODEL_FORMAT for a missing graph variant; ERR_SESSION_CREATE when a session fails.
   */
  static async create(pkg: ModelPackage, ort: OrtModule, options: SpeechLmOptions): Promise<SpeechLm> {
    const config = speechLmConfig(pkg.manifest);
    const base = {
      device: options.device,
      dtype: options.dtype,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const created: GraphSession[] = [];
    try {
      const embedText = await pkg.session(ort, 'embed_text', base);
      created.push(embedText);
      const embedSpeech = await pkg.session(ort, 'embed_speech', base);
      created.push(embedSpeech);
      const llm = await pkg.session(ort, 'llm', { ...base, gpuOutputs: kvTensorNames(config.numLayers).present });
      created.push(llm);
      return SpeechLm.fromSessions({ embedText, embedSpeech, llm }, config);
    } catch (error) {
      await Promise.all(created.map((s) => s.release()));
      throw error;
    }
  }

  /** Builds a runner over existing sessions (owned by the runner afterwards). */
  static fromSessions(sessions: SpeechLmSessions, config: SpeechLmConfig): SpeechLm {
    return new SpeechLm(sessions, config);
  }

  /** Rows in the KV cache (0 between requests). */
  get cachedRows(): number {
    return this.cache.length;
  }

  /**
   * Generates speech tokens for one unistream request (spec §4.2–§4.5): prefill, then one fed-back token per step;
   * EOS masked for the first min_len steps; stops on V, V+1 or V+2 or after max_len tokens.
   *
   * @param request - mode and ids (zero-shot, cross-lingual, instruct2, sft)
   * @param options - seed / rng / sampler, RAS variant, abort signal, callbacks, token cap
   * @returns emitted tokens, why decoding stopped, and the seed used
   * @throws {TTSError} ERR_INVALID_INPUT for empty text, ids out of range, an instruction without
   *   `<|endofprompt|>`, bad options; ERR_INFERENCE when a graph fails; ERR_DISPOSED after dispose; the signal's
   *   reason when aborted.
   */
  async generate(request: LmRequest, options: LmGenerateOptions = {}): Promise<LmGenerateResult> {
    this.assertLive();
    if (request.textIds.length === 0) throw invalidInput('The text to synthesise is empty (no text ids).');
    if (request.mode === 'instruct2' && request.instructionIds.length === 0) {
      throw invalidInput('instruct2 needs a non-empty instruction ending with <|endofprompt|>.');
    }
    const input = buildLmInput(request, this.config);
    let maxLen = input.maxLen;
    if (options.maxTokens !== undefined) {
      if (!Number.isInteger(options.maxTokens) || options.maxTokens < 1) {
        throw invalidInput(`maxTokens must be a positive integer, got ${options.maxTokens}.`);
      }
      maxLen = Math.min(maxLen, options.maxTokens);
    }
    const { sampler, seed } = this.makeSampler(options);
    return this.exclusive(async () => {
      const result = await decodeUnistream(
        { segments: input.segments, minLen: input.minLen, maxLen },
        (segments, position, signal) => this.runStep(segments, position, signal),
        { tokens: this.config, sampler, ...callbacks(options) },
      );
      return { ...result, seed };
    });
  }

  /**
   * Bistream generation (spec §4.6): text ids arrive piece by piece (e.g. one tokenised sentence fragment per
   * item); text and prompt speech are interleaved 5:15, FILL ends a burst, and decoding runs until EOS once the
   * text ends. The iterator is closed on abort and error.
   *
   * @param textPieces - text-id pieces of the target text
   * @param prompt - prompt transcript ids and prompt speech tokens (both may be empty)
   * @param options - sampling, abort signal, callbacks, upstream-parity switches
   * @throws {TTSError} ERR_INVALID_INPUT for ids out of range or bad options; ERR_INFERENCE when a graph fails or
   *   the LM produces a special id upstream rejects; ERR_DISPOSED; the signal's reason when aborted.
   */
  async generateBistream(
    textPieces: AsyncIterable<ArrayLike<number>> | Iterable<ArrayLike<number>>,
    prompt: BistreamPrompt,
    options: LmBistreamOptions = {},
  ): Promise<LmBistreamResult> {
    this.assertLive();
    checkIds(prompt.promptTextIds, 'promptTextIds', this.config.textVocabSize);
    checkIds(prompt.promptSpeechIds, 'promptSpeechIds', this.config.speechTokenSize);
    const { sampler, seed } = this.makeSampler(options);
    return this.exclusive(async () => {
      const result = await decodeBistream(
        textPieces,
        prompt,
        (segments, position, signal) => this.runStep(segments, position, signal),
        {
          tokens: this.config,
          sampler,
          ...callbacks(options),
          ...(options.maxFinalSteps === undefined ? {} : { maxFinalSteps: options.maxFinalSteps }),
          ...(options.refeedFillInput === undefined ? {} : { refeedFillInput: options.refeedFillInput }),
        },
      );
      return { ...result, seed };
    });
  }

  /**
   * Frees the KV cache (needed only after driving {@link SpeechLm.step} by hand; requests free it themselves).
   *
   * @throws {TTSError} ERR_INVALID_INPUT while a request is running.
   */
  reset(): void {
    if (this.busy) throw invalidInput('SpeechLm.reset cannot be called while generate() is running.');
    this.cache.clear();
  }

  /** Frees the KV cache and releases the three sessions. Further calls reject with ERR_DISPOSED. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    if (this.inFlight === 0) this.cache.clear();
    const { embedText, embedSpeech, llm } = this.sessions;
    // Releases queue behind any run in flight (runs and releases are serialised per realm).
    await Promise.all([embedText.release(), embedSpeech.release(), llm.release()]);
    this.cache.clear(); // a call that was in flight may have filled it again
  }

  private assertLive(): void {
    if (this.disposed) throw new TTSError('ERR_DISPOSED', 'This SpeechLm has been disposed.');
  }

  /** Runs `task` after every earlier request of this instance; the KV cache is freed when it settles. */
  private exclusive<T>(task: () => Promise<T>): Promise<T> {
    const run = async (): Promise<T> => {
      this.assertLive();
      this.busy = true;
      try {
        return await task();
      } finally {
        this.cache.clear();
        this.busy = false;
      }
    };
    const result = this.queue.then(run, run);
    this.queue = result.catch(() => undefined);
    return result;
  }

  private makeSampler(options: LmSamplingOptions): { sampler: TokenSampler; seed: number | undefined } {
    if (options.sampler !== undefined) return { sampler: options.sampler, seed: undefined };
    if (options.seed !== undefined && options.rng !== undefined) {
      throw invalidInput('Pass either seed or rng, not both.');
    }
    let rng = options.rng;
    let seed: number | undefined;
    if (rng === undefined) {
      seed = options.seed ?? Math.floor(Math.random() * 2 ** 32);
      rng = new Xoshiro128(seed); // validates the seed
    }
    const sampler = createRasSampler({ ...this.config }, rng, {
      ...(options.variant === undefined ? {} : { variant: options.variant }),
      ...(options.eosRule === undefined ? {} : { eosRule: options.eosRule }),
    });
    return { sampler, seed };
  }

  private async runStep(
    segments: readonly LmSegment[],
    position: number,
    signal: AbortSignal | undefined,
  ): Promise<Float32Array> {
    this.assertLive();
    this.inFlight++;
    try {
      return await this.callLm(segments, position, signal);
    } finally {
      this.inFlight--;
    }
  }

  private async callLm(
    segments: readonly LmSegment[],
    position: number,
    signal: AbortSignal | undefined,
  ): Promise<Float32Array> {
    const { hiddenSize: h, textVocabSize, speechTokenSize } = this.config;
    if (position === 0) this.cache.clear();
    if (position !== this.cache.length) {
      throw invalidInput(
        `LM call at position ${position}, but the KV cache holds ${this.cache.length} rows; positions must continue (0 starts a new sequence).`,
      );
    }
    for (const s of segments) {
      if (s.kind === 'text') checkIds(s.ids, 'text ids', textVocabSize);
      else if (s.kind === 'speech') checkIds(s.ids, 'speech ids', speechTokenSize + 3);
    }
    const rows = rowCount(segments);
    if (rows === 0) throw invalidInput('LM call with no input rows.');
    const embeds = new Float32Array(rows * h);
    let at = 0;
    for (const run of toEmbedRuns(segments, this.config)) {
      const text = run.graph === 'embed_text';
      const session = text ? this.sessions.embedText : this.sessions.embedSpeech;
      const n = run.ids.length;
      const ids = session.tensor(
        'int64',
        BigInt64Array.from(run.ids, (v) => BigInt(v)),
        [1, n],
      );
      const out = await session.run({ [text ? 'input_ids' : 'speech_ids']: ids }, signal);
      const e = await floatOutput(out, 'inputs_embeds', session.name, [1, n, h]);
      embeds.set(e, at);
      at += n * h;
    }
    const llm = this.sessions.llm;
    const past = this.cache.length;
    const mask = new BigInt64Array(past + rows).fill(1n);
    const positions = new BigInt64Array(rows);
    for (let i = 0; i < rows; i++) positions[i] = BigInt(past + i);
    const feeds: TensorMap = {
      inputs_embeds: llm.tensor('float32', embeds, [1, rows, h]),
      attention_mask: llm.tensor('int64', mask, [1, past + rows]),
      position_ids: llm.tensor('int64', positions, [1, rows]),
      ...this.cache.feeds(),
    };
    const out = await llm.run(feeds, signal);
    this.cache.update(out, rows); // first, so GPU outputs are owned (and freed) even if the logits are bad
    return (await floatOutput(out, 'logits', llm.name, [1, this.config.speechTokenSize + 3])).slice();
  }
}

function callbacks(options: LmSamplingOptions): {
  signal?: AbortSignal;
  onToken?: (token: number, index: number) => void;
  onStep?: (record: LmStepRecord) => void;
  yieldBetweenSteps?: boolean;
  beforeStep?: () => Promise<void>;
} {
  return {
    ...(options.signal === undefined ? {} : { signal: options.signal }),
    ...(options.yieldBetweenSteps === undefined ? {} : { yieldBetweenSteps: options.yieldBetweenSteps }),
    ...(options.onToken === undefined ? {} : { onToken: options.onToken }),
    ...(options.onStep === undefined ? {} : { onStep: options.onStep }),
    ...(options.beforeStep === undefined ? {} : { beforeStep: options.beforeStep }),
  };
}

async function floatOutput(
  outputs: Readonly<Record<string, OrtTensor | undefined>>,
  name: string,
  graph: string,
  dims: readonly number[],
): Promise<Float32Array> {
  const t = outputs[name];
  if (t === undefined) {
    throw new TTSError('ERR_INFERENCE', `Graph "${graph}" returned no "${name}".`, { details: { graph } });
  }
  if (t.type !== 'float32' || t.dims.length !== dims.length || t.dims.some((d, i) => d !== dims[i])) {
    throw new TTSError(
      'ERR_INFERENCE',
      `Graph "${graph}" returned "${name}" as ${t.type}[${t.dims.join(',')}]; expected float32[${dims.join(',')}].`,
      { details: { graph, output: name } },
    );
  }
  const data = t.location === 'cpu' || t.location === 'cpu-pinned' ? t.data : await t.getData();
  return data as Float32Array;
}
