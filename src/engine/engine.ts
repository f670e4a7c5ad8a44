/**
 * CosyVoice 2 in one realm (Node, or a single worker): the three stages in process, driven by the same
 * {@link runPipeline} as the browser's workers — so the Node engine and the browser produce the same samples by
 * construction. This class is what the CLI and the tests drive; it adds session loading and voice cloning.
 */
import type { Device, Dtype, Stage } from '../base/stages.ts';
import { now } from '../base/clock.ts';
import { onDropped } from '../base/drop-guard.ts';
import { fromDspError, invalidInput, TTSError } from '../errors.ts';
import type { ModelConstants } from '../loader/manifest.ts';
import { stageFiles } from '../loader/manifest.ts';
import { VoiceCloner } from '../models/voice/voice-cloner.ts';
import type { PromptAudio } from '../models/voice/voice-cloner.ts';
import type { VoiceProfile } from '../models/voice/voice-profile.ts';
import { deserializeVoice, serializeVoice, voiceExpectation } from '../models/voice/voice-profile.ts';
import type { AudioChunk } from '../request/chunks.ts';
import type { RequestMetrics } from '../request/metrics.ts';
import type { RequestMode, RequestOptions } from '../request/options.ts';
import { checkOptionKeys, randomSeed, validateCloneOptions, validateRequestOptions } from '../request/options.ts';
import { checkPromptAudio } from '../request/limits.ts';
import type { Placement, PlacementRequest } from '../request/placement.ts';
import { clonePlace, resolvePlacement } from '../request/placement.ts';
import type { SynthesisResult } from '../request/result.ts';
import { collectSynthesis } from '../request/result.ts';
import type { TextInput } from '../request/text-input.ts';
import { checkTextInput } from '../request/text-input.ts';
import { checkRequestVoice } from '../request/voice.ts';
import type { DeviceCapabilities } from '../runtime/device.ts';
import { NO_GPU } from '../runtime/device.ts';
import type { ModelPackage } from '../runtime/model-package.ts';
import type { OrtModule } from '../runtime/ort.ts';
import { FlowStage } from '../stages/flow-stage.ts';
import { LmStage } from '../stages/lm-stage.ts';
import type { PipelineResult } from '../stages/pipeline.ts';
import { runPipeline } from '../stages/pipeline.ts';
import { VocoderStage } from '../stages/vocoder-stage.ts';
import type { CosyVoiceTokenizer } from '../text/index.ts';

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

/** Options of {@link Engine.cloneVoice}. */
export interface CloneVoiceOptions {
  /** Transcript of the prompt audio (zero-shot cloning); omit for cross-lingual voices. */
  readonly transcript?: string;
  readonly normalize?: boolean;
  readonly signal?: AbortSignal;
}

/** The keys of {@link EngineOptions}. */
const ENGINE_OPTION_KEYS = [
  'device',
  'dtype',
  'capabilities',
  'signal',
  'onSessionReady',
] as const satisfies ReadonlyArray<keyof EngineOptions>;

/** The keys of {@link CloneVoiceOptions}. */
const CLONE_OPTION_KEYS = ['transcript', 'normalize', 'signal'] as const satisfies ReadonlyArray<
  keyof CloneVoiceOptions
>;

/** A request while it runs: its id once started, and how to stop watching for its iterator being dropped. */
interface RunningRequest {
  id: string | undefined;
  forget?: () => void;
}

/** The in-process stages of an engine. */
interface Stages {
  readonly lm: LmStage;
  readonly flow: FlowStage;
  readonly vocoder: VocoderStage;
}

/**
 * CosyVoice 2 in one realm.
 *
 * @example
 * ```ts
 * const engine = await Engine.create(pkg, await loadOrt('wasm'));
 * const voice = await engine.cloneVoice({ samples, sampleRate: 24000 }, { transcript: '希望你以后能够做的比我还好呦。' });
 * const { samples } = await engine.synthesize('收到好友从远方寄来的生日礼物。', { voice, seed: 1 });
 * for await (const chunk of engine.stream(text, { voice })) play(chunk.samples);
 * ```
 */
export class Engine {
  #cloner: Promise<VoiceCloner> | undefined;
  #disposed = false;
  #busy = false;
  #requests = 0;

  private constructor(
    readonly pkg: ModelPackage,
    private readonly ort: OrtModule,
    private readonly stages: Stages,
    /** Where each stage runs. */
    readonly placement: Placement,
  ) {}

  /**
   * Creates the sessions of the LM, flow and vocoder stages (the cloning stage is created on first use). Every file
   * they need is verified first (as far as the package source can: the Node opener checks sizes and SHA-256); on
   * failure every session already made is released.
   *
   * @throws {TTSError} ERR_INVALID_INPUT / ERR_DEVICE_UNAVAILABLE for unusable device or dtype requests,
   *   ERR_ASSET_FETCH / ERR_ASSET_INTEGRITY for missing or damaged files, ERR_MODEL_FORMAT, ERR_SESSION_CREATE.
   */
  static async create(pkg: ModelPackage, ort: OrtModule, options: EngineOptions = {}): Promise<Engine> {
    checkOptionKeys(options, 'Engine.create options', ENGINE_OPTION_KEYS);
    const placement = resolvePlacement(pkg.manifest, options, options.capabilities ?? NO_GPU);
    const { signal } = options;
    const made: Array<{ dispose(): Promise<void> }> = [];
    const timed = async <T extends { dispose(): Promise<void> }>(
      stage: 'lm' | 'flow' | 'vocoder',
      create: () => Promise<T>,
    ): Promise<T> => {
      const start = now();
      const created = await create();
      made.push(created);
      options.onSessionReady?.({ stage, ...placement[stage], ms: now() - start });
      return created;
    };
    // every file the stages need is checked before the first session is made (issue #13.5)
    const stages = ['lm', 'flow', 'vocoder'] as const;
    await pkg.verify(
      stages.flatMap((stage) => stageFiles(pkg.manifest, stage, placement[stage].dtype)),
      signal,
    );
    try {
      const lm = await timed('lm', () => LmStage.create(pkg, ort, placement.lm, signal));
      const flow = await timed('flow', () => FlowStage.create(pkg, ort, placement.flow, signal));
      const vocoder = await timed('vocoder', () => VocoderStage.create(pkg, ort, placement.vocoder, signal));
      return new Engine(pkg, ort, { lm, flow, vocoder }, placement);
    } catch (error) {
      await Promise.allSettled(made.map((stage) => stage.dispose()));
      throw error;
    }
  }

  /** The package's model constants. */
  get constants(): ModelConstants {
    return this.pkg.manifest.config;
  }

  /** The text tokenizer of the package. */
  get tokenizer(): CosyVoiceTokenizer {
    return this.stages.lm.tokenizer;
  }

  /** Whether the package can clone voices on device (ships the speech tokenizer and CAM++). */
  get canClone(): boolean {
    return this.placement.voice !== undefined;
  }

  #assertLive(): void {
    if (this.#disposed) throw new TTSError('ERR_DISPOSED', 'This engine has been disposed.');
  }

  /**
   * Clones a voice from a recording (mono samples at ≥ 16 kHz, at most 30 s; ~3–10 s of clean speech works best).
   *
   * @throws {TTSError} ERR_MODEL_FORMAT when the package cannot clone; ERR_INVALID_INPUT for unusable audio.
   */
  async cloneVoice(audio: PromptAudio, options: CloneVoiceOptions = {}): Promise<VoiceProfile> {
    this.#assertLive();
    validateCloneOptions(options, CLONE_OPTION_KEYS);
    const place = clonePlace(this.placement, this.pkg.manifest);
    if (!isPromptAudio(audio)) {
      throw invalidInput(
        'cloneVoice audio must be { samples, sampleRate }: mono samples (a Float32Array or an array of numbers) and their rate in Hz.',
      );
    }
    if (audio.sampleRate > 0) checkPromptAudio(audio.samples.length / audio.sampleRate, this.constants);
    this.#cloner ??= VoiceCloner.create(this.pkg, this.ort, place);
    const cloner = await this.#cloner;
    const transcriptIds =
      options.transcript === undefined || options.transcript.trim() === ''
        ? undefined
        : this.stages.lm.transcriptIds(options.transcript, options.normalize ?? true);
    try {
      return await cloner.clone(audio, {
        ...(transcriptIds === undefined ? {} : { transcriptIds }),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
    } catch (error) {
      throw fromDspError(error); // the resampler and feature extractors of src/dsp throw plain coded errors
    }
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

  /**
   * Synthesises `text` offline (full attention over each segment: the highest quality). The text may carry
   * CosyVoice's tags (`[laughter]`, `<strong>…</strong>`…); `<|endofprompt|>` belongs in `options.instruct` and is
   * refused here; Qwen's chat tokens (`<|im_end|>`…) are read as the characters they are written with.
   *
   * @throws {TTSError} ERR_INVALID_INPUT for bad text (nothing to speak, `<|endofprompt|>`, too long a segment),
   *   voice or options, or while another request runs; ERR_INFERENCE; the abort reason.
   */
  synthesize(text: string, options: RequestOptions): Promise<SynthesisResult> {
    return collectSynthesis(this.#run(text, options, 'offline'), this.constants.sampleRate);
  }

  /**
   * Streams audio while it is synthesised. `input` is a text (split into segments, each streamed chunk by chunk) or
   * an async iterable of text pieces (bistream, spec §4.6: the LM starts before the text is complete, e.g. while
   * another model is still writing it). The iteration returns the request's metrics. Breaking out of the loop
   * cancels the request.
   *
   * @throws {TTSError} as {@link Engine.synthesize}; the iteration rejects with the abort reason on abort.
   */
  stream(input: TextInput, options: RequestOptions): AsyncGenerator<AudioChunk, RequestMetrics, undefined> {
    const running: RunningRequest = { id: undefined };
    const iterator = this.#stream(input, options, running);
    // an iterator dropped without return() never runs its finally: release the engine when it is collected
    running.forget = onDropped(iterator, () => {
      if (running.id !== undefined) this.#abandon(running.id);
    });
    return iterator;
  }

  async *#stream(
    input: TextInput,
    options: RequestOptions,
    running: RunningRequest,
  ): AsyncGenerator<AudioChunk, RequestMetrics, undefined> {
    try {
      return (yield* this.#run(input, options, 'stream', running)).metrics;
    } finally {
      running.forget?.();
    }
  }

  /** Frees the engine from a request whose iterator was dropped, and stops its stages. */
  #abandon(requestId: string): void {
    this.#busy = false;
    const reason = new DOMException('The stream iterator was dropped.', 'AbortError');
    this.stages.lm.cancel(requestId, reason);
    this.stages.flow.cancel(requestId, reason);
    this.stages.vocoder.cancel(requestId, reason);
  }

  /** One request at a time per engine (the LM's KV cache and the realm's ORT queue are shared). */
  async *#run(
    input: TextInput,
    options: RequestOptions,
    mode: RequestMode,
    running: RunningRequest = { id: undefined },
  ): AsyncGenerator<AudioChunk, PipelineResult, undefined> {
    this.#assertLive();
    checkTextInput(input);
    validateRequestOptions(options, mode);
    const voice = checkRequestVoice(options.voice, this.pkg.manifest);
    if (this.#busy) {
      throw invalidInput('The engine is busy with another request; await it (or abort it) before starting one more.');
    }
    this.#busy = true;
    try {
      const { voice: _voice, ...synthesis } = options;
      running.id = `req-${++this.#requests}`;
      return yield* runPipeline(this.stages, {
        requestId: running.id,
        input,
        voice,
        mode,
        seed: options.seed ?? randomSeed(),
        options: synthesis,
        sampleRate: this.constants.sampleRate,
      });
    } finally {
      this.#busy = false;
    }
  }

  /** Releases every session. Further calls reject with ERR_DISPOSED. */
  async dispose(): Promise<void> {
    if (this.#disposed) return;
    this.#disposed = true;
    const cloner = this.#cloner;
    await Promise.allSettled([
      this.stages.lm.dispose(),
      this.stages.flow.dispose(),
      this.stages.vocoder.dispose(),
      ...(cloner === undefined ? [] : [cloner.then((c) => c.dispose())]),
    ]);
  }
}

/** Whether a value passed as prompt audio (by a JS caller: anything) has the shape of {@link PromptAudio}. */
function isPromptAudio(value: unknown): value is PromptAudio {
  const audio = value as Partial<Record<keyof PromptAudio, unknown>> | null;
  return (
    typeof audio === 'object' &&
    audio !== null &&
    typeof audio.sampleRate === 'number' &&
    typeof (audio.samples as { length?: unknown } | undefined)?.length === 'number'
  );
}
