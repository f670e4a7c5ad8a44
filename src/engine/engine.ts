/**
 * The CosyVoice 2 engine in one realm (Node, or a single worker): text front-end, speech-token LM, flow matching and
 * HiFT, offline (`synthesize`) and streaming (`stream`, with text or a text stream as input), plus voice cloning.
 * The browser runtime distributes the same runners over workers; this class is what the CLI and the tests drive.
 */
import { invalidInput, TTSError } from '../errors.ts';
import type { ModelConstants } from '../loader/manifest.ts';
import { FlowMatcher } from '../models/flow/flow-matcher.ts';
import { Xoshiro128 } from '../models/lm/rng.ts';
import { SpeechLm } from '../models/lm/speech-lm.ts';
import { StreamingToken2Wav, tokensToWave } from '../models/token2wav.ts';
import { Vocoder } from '../models/vocoder/vocoder.ts';
import { VoiceCloner } from '../models/voice/voice-cloner.ts';
import type { PromptAudio } from '../models/voice/voice-cloner.ts';
import type { VoiceProfile } from '../models/voice/voice-profile.ts';
import {
  checkVoiceCompatible,
  deserializeVoice,
  serializeVoice,
  voiceExpectation,
} from '../models/voice/voice-profile.ts';
import type { Device, Dtype, Stage } from '../base/stages.ts';
import type { DeviceCapabilities } from '../runtime/device.ts';
import { NO_GPU } from '../runtime/device.ts';
import type { ModelPackage } from '../runtime/model-package.ts';
import type { OrtModule } from '../runtime/ort.ts';
import { CosyVoiceTokenizer } from '../text/index.ts';
import { AsyncQueue } from '../base/async-queue.ts';
import type { SynthesisOptions } from '../request/options.ts';
import {
  chunkPolicyOptions,
  randomSeed,
  samplingOptions,
  streamFlowSteps,
  validateRequestOptions,
} from '../request/options.ts';
import type { PlacementRequest } from '../request/placement.ts';
import { resolvePlacement } from '../request/placement.ts';
import type { TextSegment } from '../request/text-input.ts';
import { bistreamPromptFor, flowPromptFor, lmRequestFor } from '../request/mode.ts';
import { prepareSegments, promptTextIds } from '../request/text-input.ts';
import { TextIdStream } from '../request/text-stream.ts';

/** A piece of synthesised audio. */
export interface AudioChunk {
  /** 24 kHz mono samples in [−0.99, 0.99]. */
  readonly samples: Float32Array;
  readonly sampleRate: number;
  /** Chunk number within the request, from 0. */
  readonly index: number;
  /** Text segment this chunk belongs to (long text is split, spec §1.6; a text stream is one segment). */
  readonly segment: number;
  /** Text of that segment as spoken (after normalisation: numbers read out…); '' for a text stream. */
  readonly text: string;
  /** Where the chunk starts in the request's audio, in seconds (the samples of all earlier chunks). */
  readonly startTime: number;
  /** Last chunk of its segment. */
  readonly segmentEnd: boolean;
  /**
   * Last chunk of the request, marked when the chunk is made (no chunk is held back to find out); should the last
   * segment make no audio, an empty chunk carries the flag.
   */
  readonly final: boolean;
}

/** Options of `Engine.create`. */
export interface EngineOptions extends PlacementRequest {
  /** What the environment offers (from `detectCapabilities()`); Node has no WebGPU. */
  readonly capabilities?: DeviceCapabilities;
  /** Cancels loading. */
  readonly signal?: AbortSignal;
  /** Called as each stage's sessions become ready. */
  readonly onSessionReady?: (event: SessionReadyEvent) => void;
}

/** A stage finished creating its sessions. */
export interface SessionReadyEvent {
  readonly stage: Stage;
  readonly device: Device;
  readonly dtype: Dtype;
  readonly ms: number;
}

/** Figures of one request (wall clock). */
export interface SynthesisMetrics {
  /** The seed used (given or drawn). */
  readonly seed: number;
  /** Time to the first audio sample (streaming) or to the whole result (offline), ms. */
  readonly ttfaMs: number;
  readonly totalMs: number;
  readonly audioSeconds: number;
  /** Real-time factor: processing time / audio time (< 1 is faster than real time). */
  readonly rtf: number;
  /** Speech tokens generated. */
  readonly tokens: number;
  /** Tokens per second of LM wall time. */
  readonly tokensPerSecond: number;
  readonly lmMs: number;
  readonly flowMs: number;
  readonly vocoderMs: number;
}

/** Result of {@link Engine.synthesize}. */
export interface SynthesisResult {
  readonly samples: Float32Array;
  readonly sampleRate: number;
  readonly segments: ReadonlyArray<{ readonly text: string; readonly tokens: Int32Array }>;
  readonly metrics: SynthesisMetrics;
}

/** Devices and dtypes the engine's stages run with. */
export type StagePlacement = Readonly<Partial<Record<Stage, { readonly device: Device; readonly dtype: Dtype }>>>;

/** Options of {@link Engine.cloneVoice}. */
export interface CloneVoiceOptions {
  /** Transcript of the prompt audio (zero-shot cloning); omit for cross-lingual voices. */
  readonly transcript?: string;
  readonly normalize?: boolean;
  readonly signal?: AbortSignal;
}

function now(): number {
  return performance.now();
}

/** Everything that accumulates over one request. */
class RequestState {
  readonly started = now();
  firstAudio: number | undefined;
  tokens = 0;
  lmMs = 0;
  flowMs = 0;
  vocoderMs = 0;
  samples = 0;
  readonly lmRng: Xoshiro128;
  readonly noiseRng: Xoshiro128;

  constructor(
    readonly seed: number,
    readonly sampleRate: number,
  ) {
    this.lmRng = new Xoshiro128(seed);
    this.noiseRng = new Xoshiro128(seed + 1);
  }

  metrics(): SynthesisMetrics {
    const totalMs = now() - this.started;
    const audioSeconds = this.samples / this.sampleRate;
    return {
      seed: this.seed,
      ttfaMs: (this.firstAudio ?? now()) - this.started,
      totalMs,
      audioSeconds,
      rtf: audioSeconds > 0 ? totalMs / 1000 / audioSeconds : Infinity,
      tokens: this.tokens,
      tokensPerSecond: this.lmMs > 0 ? (this.tokens * 1000) / this.lmMs : 0,
      lmMs: this.lmMs,
      flowMs: this.flowMs,
      vocoderMs: this.vocoderMs,
    };
  }
}

/** An AbortController that follows the caller's signal and can also be aborted by the engine (cleanup). */
function linkedController(signal: AbortSignal | undefined): AbortController {
  const controller = new AbortController();
  if (signal?.aborted === true) controller.abort(signal.reason);
  else
    signal?.addEventListener(
      'abort',
      () => {
        controller.abort(signal.reason);
      },
      { once: true },
    );
  return controller;
}

/**
 * CosyVoice 2 in one realm.
 *
 * @example
 * ```ts
 * const engine = await Engine.create(pkg, await loadOrt('wasm'));
 * const voice = await engine.cloneVoice({ samples, sampleRate: 24000 }, { transcript: '希望你以后能够做的比我还好呦。' });
 * const { samples } = await engine.synthesize('收到好友从远方寄来的生日礼物。', voice, { seed: 1 });
 * for await (const chunk of engine.stream(text, voice)) play(chunk.samples);
 * ```
 */
export class Engine {
  #cloner: Promise<VoiceCloner> | undefined;
  #disposed = false;
  #busy = false;

  private constructor(
    readonly pkg: ModelPackage,
    private readonly ort: OrtModule,
    /** The package's model constants. */
    readonly constants: ModelConstants,
    /** The text tokenizer of the package. */
    readonly tokenizer: CosyVoiceTokenizer,
    private readonly lm: SpeechLm,
    private readonly flow: FlowMatcher,
    private readonly vocoder: Vocoder,
    /** Where each stage runs. */
    readonly placement: StagePlacement,
    private readonly voicePlacement: { readonly device: Device; readonly dtype: Dtype } | undefined,
  ) {}

  /**
   * Creates the sessions of the LM, flow and vocoder stages (the cloning stage is created on first use).
   *
   * @throws {TTSError} ERR_INVALID_INPUT / ERR_DEVICE_UNAVAILABLE for unusable device or dtype requests,
   *   ERR_MODEL_FORMAT, ERR_SESSION_CREATE.
   */
  static async create(pkg: ModelPackage, ort: OrtModule, options: EngineOptions = {}): Promise<Engine> {
    const all = resolvePlacement(pkg.manifest, options, options.capabilities ?? NO_GPU);
    const placement = { lm: all.lm, flow: all.flow, vocoder: all.vocoder };
    const voicePlacement = all.voice;
    const signal = options.signal;
    const timed = async <T>(stage: Stage, make: () => Promise<T>): Promise<T> => {
      const start = now();
      const made = await make();
      const p = placement[stage as 'lm'];
      options.onSessionReady?.({ stage, device: p.device, dtype: p.dtype, ms: now() - start });
      return made;
    };
    const tokenizer = CosyVoiceTokenizer.fromJson(await pkg.tokenizerJson(signal));
    const lm = await timed('lm', () => SpeechLm.create(pkg, ort, { ...placement.lm, ...(signal ? { signal } : {}) }));
    const flow = await timed('flow', () =>
      FlowMatcher.create(pkg, ort, { ...placement.flow, ...(signal ? { signal } : {}) }),
    );
    const vocoder = await timed('vocoder', () =>
      Vocoder.create(pkg, ort, { ...placement.vocoder, ...(signal ? { signal } : {}) }),
    );
    const stages: StagePlacement = voicePlacement === undefined ? placement : { ...placement, voice: voicePlacement };
    return new Engine(pkg, ort, pkg.manifest.config, tokenizer, lm, flow, vocoder, stages, voicePlacement);
  }

  /** Whether the package can clone voices on device (ships the speech tokenizer and CAM++). */
  get canClone(): boolean {
    return this.voicePlacement !== undefined;
  }

  #assertLive(): void {
    if (this.#disposed) throw new TTSError('ERR_DISPOSED', 'This engine has been disposed.');
  }

  /** Requests run one at a time per engine (the LM's KV cache and the realm's ORT queue are shared). */
  async #exclusive<T>(task: () => Promise<T>): Promise<T> {
    this.#assertLive();
    if (this.#busy) {
      throw invalidInput('The engine is busy with another request; await it (or abort it) before starting one more.');
    }
    this.#busy = true;
    try {
      return await task();
    } finally {
      this.#busy = false;
    }
  }

  /**
   * Clones a voice from a recording (mono samples at ≥ 16 kHz, at most 30 s; ~3–10 s of clean speech works best).
   *
   * @throws {TTSError} ERR_MODEL_FORMAT when the package cannot clone; ERR_INVALID_INPUT for unusable audio.
   */
  async cloneVoice(audio: PromptAudio, options: CloneVoiceOptions = {}): Promise<VoiceProfile> {
    this.#assertLive();
    const place = this.voicePlacement;
    if (place === undefined) {
      throw new TTSError(
        'ERR_MODEL_FORMAT',
        `Model package "${this.pkg.manifest.modelId}" cannot clone voices on device (no speech_tokenizer / campplus); load a saved voice instead.`,
      );
    }
    this.#cloner ??= VoiceCloner.create(this.pkg, this.ort, place);
    const cloner = await this.#cloner;
    const transcriptIds =
      options.transcript === undefined || options.transcript.trim() === ''
        ? undefined
        : promptTextIds(options.transcript, this.tokenizer, { normalize: options.normalize ?? true });
    return cloner.clone(audio, {
      ...(transcriptIds === undefined ? {} : { transcriptIds }),
      ...(options.signal === undefined ? {} : { signal: options.signal }),
    });
  }

  /** Serialises a voice (compact binary, see `serializeVoice`). */
  saveVoice(voice: VoiceProfile): Uint8Array<ArrayBuffer> {
    return serializeVoice(voice);
  }

  /**
   * Reads a voice saved by {@link Engine.saveVoice} and checks it fits this model.
   *
   * @throws {TTSError} ERR_INVALID_INPUT for corrupted files or voices made for another model shape.
   */
  loadVoice(bytes: Uint8Array): VoiceProfile {
    return deserializeVoice(bytes, { expect: voiceExpectation(this.pkg.manifest) });
  }

  #checkVoice(voice: VoiceProfile): void {
    if (typeof voice !== 'object' || (voice as unknown) === null) throw invalidInput('voice must be a VoiceProfile.');
    checkVoiceCompatible(voice, voiceExpectation(this.pkg.manifest));
  }

  #segments(text: string, options: SynthesisOptions): TextSegment[] {
    return prepareSegments(text, this.tokenizer, {
      ...(options.normalize === undefined ? {} : { normalize: options.normalize }),
      ...(options.readNumbers === undefined ? {} : { readNumbers: options.readNumbers }),
    });
  }

  /**
   * Synthesises `text` with `voice` offline (full attention over each segment: the highest quality).
   *
   * @throws {TTSError} ERR_INVALID_INPUT for bad text/voice/options; ERR_INFERENCE; the abort reason.
   */
  synthesize(text: string, voice: VoiceProfile, options: SynthesisOptions = {}): Promise<SynthesisResult> {
    return this.#exclusive(async () => {
      validateRequestOptions(options, 'offline');
      this.#checkVoice(voice);
      const segments = this.#segments(text, options);
      const state = new RequestState(options.seed ?? randomSeed(), this.constants.sampleRate);
      const signal = options.signal;
      const pieces: Float32Array[] = [];
      const out: Array<{ text: string; tokens: Int32Array }> = [];
      for (const segment of segments) {
        const lmStart = now();
        const result = await this.lm.generate(lmRequestFor(segment.ids, voice, options, this.tokenizer), {
          rng: state.lmRng,
          ...samplingOptions(options),
          ...(signal ? { signal } : {}),
        });
        state.lmMs += now() - lmStart;
        state.tokens += result.tokens.length;
        out.push({ text: segment.text, tokens: result.tokens });
        if (result.tokens.length === 0) continue;
        const wave = await tokensToWave(this.flow, this.vocoder, flowPromptFor(voice), result.tokens, {
          rng: state.noiseRng,
          ...(options.speed === undefined ? {} : { speed: options.speed }),
          ...(options.flowSteps === undefined ? {} : { steps: options.flowSteps }),
          ...(signal ? { signal } : {}),
        });
        state.flowMs += wave.timings.flowMs;
        state.vocoderMs += wave.timings.vocoderMs;
        pieces.push(wave.samples);
        state.samples += wave.samples.length;
      }
      state.firstAudio = now();
      return {
        samples: concat(pieces),
        sampleRate: this.constants.sampleRate,
        segments: out,
        metrics: state.metrics(),
      };
    });
  }

  /**
   * Streams audio while it is synthesised. `input` is a text (split into segments, each streamed chunk by chunk) or
   * an async iterable of text pieces (bistream, spec §4.6: the LM starts before the text is complete, e.g. while
   * another model is still writing it).
   *
   * Metrics arrive through `onMetrics` when the stream ends. Breaking out of the loop cancels the request.
   *
   * @throws {TTSError} as {@link Engine.synthesize}; the iteration rejects with the abort reason on abort.
   */
  async *stream(
    input: string | AsyncIterable<string> | Iterable<string>,
    voice: VoiceProfile,
    options: SynthesisOptions & { readonly onMetrics?: (metrics: SynthesisMetrics) => void } = {},
  ): AsyncGenerator<AudioChunk, void, undefined> {
    this.#assertLive();
    if (this.#busy) throw invalidInput('The engine is busy with another request; await it (or abort it) first.');
    this.#busy = true;
    const controller = linkedController(options.signal);
    try {
      const { onMetrics, ...requestOptions } = options;
      validateRequestOptions(requestOptions, 'stream');
      this.#checkVoice(voice);
      const state = new RequestState(options.seed ?? randomSeed(), this.constants.sampleRate);
      const source =
        typeof input === 'string'
          ? this.#streamSegments(this.#segments(input, options), voice, options, state, controller.signal)
          : this.#streamBistream(input, voice, options, state, controller.signal);
      let index = 0;
      let previous: AudioChunk | undefined;
      for await (const chunk of source) {
        if (chunk.samples.length > 0) state.firstAudio ??= now();
        const startTime = state.samples / this.constants.sampleRate;
        state.samples += chunk.samples.length;
        // no chunk is held back to learn whether it is the last: the source knows (see `final` in #token2wav)
        previous = { ...chunk, index: index++, startTime };
        yield previous;
      }
      if (previous !== undefined && !previous.final) {
        const startTime = state.samples / this.constants.sampleRate;
        yield { ...previous, samples: new Float32Array(0), index, startTime, segmentEnd: true, final: true };
      }
      options.onMetrics?.(state.metrics());
    } finally {
      controller.abort(new DOMException('The stream was closed.', 'AbortError'));
      this.#busy = false;
    }
  }

  async *#streamSegments(
    segments: TextSegment[],
    voice: VoiceProfile,
    options: SynthesisOptions,
    state: RequestState,
    signal: AbortSignal,
  ): AsyncGenerator<AudioChunk, void, undefined> {
    for (const [segmentIndex, segment] of segments.entries()) {
      const queue = new AsyncQueue<number[]>();
      const lmDone = this.#feed(
        queue,
        state,
        this.lm.generate(lmRequestFor(segment.ids, voice, options, this.tokenizer), {
          rng: state.lmRng,
          signal,
          ...samplingOptions(options),
          onToken: (token) => {
            queue.push([token]);
          },
        }),
      );
      const last = segmentIndex === segments.length - 1;
      yield* this.#token2wav(queue, voice, options, state, signal, { index: segmentIndex, text: segment.text, last });
      await lmDone;
    }
  }

  /** Closes (or fails) the token queue when the LM ends, and books its figures. */
  async #feed(
    queue: AsyncQueue<number[]>,
    state: RequestState,
    generation: Promise<{ readonly tokens: Int32Array }>,
  ): Promise<void> {
    const start = now();
    try {
      const result = await generation;
      state.lmMs += now() - start;
      state.tokens += result.tokens.length;
      queue.close();
    } catch (error) {
      queue.fail(error);
    }
  }

  async *#streamBistream(
    input: AsyncIterable<string> | Iterable<string>,
    voice: VoiceProfile,
    options: SynthesisOptions,
    state: RequestState,
    signal: AbortSignal,
  ): AsyncGenerator<AudioChunk, void, undefined> {
    if (options.instruct !== undefined) throw invalidInput('instruct is not supported with streamed text input.');
    const prompt = bistreamPromptFor(voice, options);
    const ids = new TextIdStream(this.tokenizer, {
      ...(options.normalize === undefined ? {} : { normalize: options.normalize }),
      ...(options.readNumbers === undefined ? {} : { readNumbers: options.readNumbers }),
    });
    const queue = new AsyncQueue<number[]>();
    const lmDone = this.#feed(
      queue,
      state,
      this.lm.generateBistream(ids.ids(input, signal), prompt, {
        rng: state.lmRng,
        signal,
        // upstream has no cap after the text ended; cap it (like unistream's max_len = 20 × text ids) so a model
        // that never says EOS cannot run forever
        maxFinalSteps: () => Math.max(1, ids.totalIds()) * this.constants.sampling.maxTokenTextRatio,
        ...samplingOptions(options),
        onToken: (token) => {
          queue.push([token]);
        },
      }),
    );
    yield* this.#token2wav(queue, voice, options, state, signal, { index: 0, text: '', last: true });
    await lmDone;
  }

  async *#token2wav(
    tokens: AsyncIterable<number[]>,
    voice: VoiceProfile,
    options: SynthesisOptions,
    state: RequestState,
    signal: AbortSignal,
    segment: { readonly index: number; readonly text: string; readonly last: boolean },
  ): AsyncGenerator<AudioChunk, void, undefined> {
    const stream = new StreamingToken2Wav(this.flow, this.vocoder, flowPromptFor(voice), {
      rng: state.noiseRng,
      policy: chunkPolicyOptions(options.streaming),
      steps: streamFlowSteps(options),
    });
    for await (const chunk of stream.run(tokens, signal)) {
      state.flowMs += chunk.timings.flowMs;
      state.vocoderMs += chunk.timings.vocoderMs;
      yield {
        samples: chunk.samples,
        sampleRate: this.constants.sampleRate,
        index: 0, // numbered by stream()
        segment: segment.index,
        text: segment.text,
        startTime: 0, // set by stream()
        segmentEnd: chunk.final,
        final: chunk.final && segment.last,
      };
    }
  }

  /** Releases every session. Further calls reject with ERR_DISPOSED. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const cloner = this.#cloner;
    await Promise.allSettled([
      this.lm.dispose(),
      this.flow.release(),
      this.vocoder.release(),
      ...(cloner === undefined ? [] : [cloner.then((c) => c.dispose())]),
    ]);
  }
}

function concat(pieces: readonly Float32Array[]): Float32Array {
  const out = new Float32Array(pieces.reduce((n, p) => n + p.length, 0));
  let offset = 0;
  for (const p of pieces) {
    out.set(p, offset);
    offset += p.length;
  }
  return out;
}
