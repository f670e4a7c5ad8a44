/**
 * The voice-cloning front-end (spec §3): prompt audio (+ optional transcript ids) → {@link VoiceProfile}, through the
 * speech tokenizer (`speech_tokenizer`) and CAM++ (`campplus`) graphs of a model package and the DSP of `src/dsp`:
 *
 * 1. mono float input at any integer rate ≥ 16 kHz, at most 30 s (`config.frontend.maxPromptSeconds`);
 * 2. resampled to 16 kHz (torchaudio-equal sinc) for the Whisper log-mel (128 bins) → speech tokens, and for the
 *    Kaldi fbank + CMN → CAM++ x-vector; resampled to 24 kHz for the Matcha prompt mel (§3.1: the prompt is loaded
 *    twice, once per rate, from the original samples);
 * 3. the 2:1 alignment of prompt mel and tokens (§3.5): L = min(⌊T_mel/2⌋, #tokens).
 *
 * The runner knows tensor names and shapes only; it holds no audio between calls.
 */

import { invalidInput, throwIfAborted, TTSError } from '../../errors.ts';
import type { FbankPlan, PromptMelPlan, WhisperMelPlan } from '../../dsp/index.ts';
import {
  alignPromptMelToTokens,
  createFbankPlan,
  createPromptMelPlan,
  createResamplePlan,
  createWhisperMelPlan,
  promptMel,
  resample,
  speakerFbank,
  whisperLogMel,
} from '../../dsp/index.ts';
import type { Device, Dtype } from '../../base/stages.ts';
import type { ModelPackage } from '../../runtime/model-package.ts';
import type { OrtModule, OrtTensor } from '../../runtime/ort.ts';
import type { GraphSession } from '../../runtime/session.ts';
import type { VoiceModelInfo, VoiceProfile } from './voice-profile.ts';
import { voiceModelInfo } from './voice-profile.ts';

/** Prompt audio: mono samples in [−1, 1] at `sampleRate`. */
export interface PromptAudio {
  /** Mono samples (average the channels of a multi-channel recording first). */
  readonly samples: ArrayLike<number>;
  /** Sample rate in Hz: an integer ≥ 16000. */
  readonly sampleRate: number;
}

/** Options of {@link VoiceCloner.clone}. */
export interface CloneOptions {
  /**
   * Qwen text ids of the prompt transcript (tokenised like the target text, no BOS). Omit for a voice meant for
   * cross-lingual synthesis.
   */
  readonly transcriptIds?: ArrayLike<number>;
  /** Aborts between stages; rejects with the signal's reason. */
  readonly signal?: AbortSignal;
  /**
   * `createdAt` stored in the profile (ms since the Unix epoch); `null` stores none.
   *
   * @defaultValue Date.now()
   */
  readonly createdAt?: number | null;
}

/** Options of {@link VoiceCloner.create}. */
export interface VoiceClonerOptions {
  /** Where the two graphs run. */
  readonly device: Device;
  /** Variant of the `voice` stage graphs. */
  readonly dtype: Dtype;
  /** Aborts loading. */
  readonly signal?: AbortSignal;
}

/** Sample rate of the speech tokenizer and CAM++ features (spec §3.2, §3.3). */
export const CLONE_FEATURE_RATE = 16000;
/**
 * Shortest accepted prompt. Upstream sets no minimum; 0.1 s guarantees every feature has frames (fbank needs 400
 * samples at 16 kHz, the alignment at least 2 mel frames) and rejects accidental near-empty recordings.
 */
export const MIN_PROMPT_SECONDS = 0.1;
/** Peak amplitude at or below which a prompt counts as silent (−80 dBFS). */
export const SILENCE_PEAK = 1e-4;

/** Session subset the cloner uses (a {@link GraphSession}; tests pass fakes). */
export type CloneGraphSession = Pick<GraphSession, 'name' | 'run' | 'tensor' | 'release' | 'outputType'>;

/**
 * Prompt audio → {@link VoiceProfile}. One instance per realm; calls may overlap (sessions serialise their runs).
 *
 * @example
 * ```ts
 * const cloner = await VoiceCloner.create(pkg, ort, { device: 'wasm', dtype: 'fp32' });
 * const wav = decodeWav(bytes);
 * const voice = await cloner.clone({ samples: wav.samples, sampleRate: wav.sampleRate }, { transcriptIds });
 * const file = serializeVoice(voice); // reuse later without the tokenizer
 * ```
 */
export class VoiceCloner {
  /** Dimensions of the model the voices are made for. */
  readonly model: VoiceModelInfo;
  /** Prompt-mel sample rate (the model's output rate). */
  readonly sampleRate: number;
  /** Longest accepted prompt in seconds. */
  readonly maxSeconds: number;
  private readonly whisperPlan: WhisperMelPlan;
  private readonly fbankPlan: FbankPlan;
  private readonly melPlan: PromptMelPlan;
  private disposed = false;

  private constructor(
    private readonly tokenizer: CloneGraphSession,
    private readonly campplus: CloneGraphSession,
    manifest: ModelPackage['manifest'],
  ) {
    const c = manifest.config;
    this.model = voiceModelInfo(manifest);
    this.sampleRate = c.sampleRate;
    this.maxSeconds = c.frontend.maxPromptSeconds;
    if (c.frontend.speechTokenizerSampleRate !== CLONE_FEATURE_RATE) {
      throw new TTSError(
        'ERR_MODEL_FORMAT',
        `The speech tokenizer expects ${c.frontend.speechTokenizerSampleRate} Hz features; only ${CLONE_FEATURE_RATE} Hz is supported.`,
      );
    }
    const indicesType = tokenizer.outputType('indices');
    if (indicesType !== undefined && indicesType !== 'int32' && indicesType !== 'int64') {
      throw new TTSError(
        'ERR_MODEL_FORMAT',
        `speech_tokenizer output "indices" is ${indicesType}; expected int32 or int64.`,
      );
    }
    this.whisperPlan = createWhisperMelPlan({ nMels: c.frontend.whisperMels });
    this.fbankPlan = createFbankPlan({ numMelBins: c.frontend.fbankBins, sampleFrequency: CLONE_FEATURE_RATE });
    this.melPlan = createPromptMelPlan({
      sampleRate: c.sampleRate,
      hopLength: c.samplesPerMelFrame,
      nMels: c.melBins,
    });
  }

  /**
   * Loads the `speech_tokenizer` and `campplus` graphs of a package.
   *
   * @throws {TTSError} ERR_MODEL_FORMAT when the package ships no cloning graphs or their interface is unexpected;
   *   ERR_SESSION_CREATE when a session cannot be created.
   */
  static async create(pkg: ModelPackage, ort: OrtModule, options: VoiceClonerOptions): Promise<VoiceCloner> {
    for (const graph of ['speech_tokenizer', 'campplus'] as const) {
      if (!pkg.has(graph)) {
        throw new TTSError(
          'ERR_MODEL_FORMAT',
          `Model package "${pkg.manifest.modelId}" ships no "${graph}" graph: it cannot clone voices (use a saved voice file instead).`,
          { details: { graph } },
        );
      }
    }
    const base = {
      device: options.device,
      dtype: options.dtype,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const tokenizer = await pkg.session(ort, 'speech_tokenizer', base);
    try {
      const campplus = await pkg.session(ort, 'campplus', base);
      try {
        return VoiceCloner.fromSessions(tokenizer, campplus, pkg.manifest);
      } catch (error) {
        await campplus.release();
        throw error;
      }
    } catch (error) {
      await tokenizer.release();
      throw error;
    }
  }

  /**
   * Builds a cloner over existing sessions (the sessions are owned by the cloner afterwards).
   *
   * @throws {TTSError} ERR_MODEL_FORMAT for an unsupported feature rate or tokenizer output type.
   */
  static fromSessions(
    tokenizer: CloneGraphSession,
    campplus: CloneGraphSession,
    manifest: ModelPackage['manifest'],
  ): VoiceCloner {
    return new VoiceCloner(tokenizer, campplus, manifest);
  }

  /**
   * Clones a voice from prompt audio.
   *
   * @param audio - mono float samples at an integer rate ≥ 16 kHz, between 0.1 s and 30 s long
   * @param options - transcript ids (optional), abort signal, creation time
   * @returns the voice profile (tokens and mel aligned 1:2)
   * @throws {TTSError} ERR_INVALID_INPUT for a rate below 16 kHz, empty, too short (< 0.1 s), too long (> 30 s),
   *   silent or non-finite audio, or transcript ids out of range; ERR_INFERENCE when a graph fails or returns
   *   unexpected values; ERR_DISPOSED after {@link VoiceCloner.dispose}; the signal's reason when aborted.
   */
  async clone(audio: PromptAudio, options: CloneOptions = {}): Promise<VoiceProfile> {
    const { signal } = options;
    this.assertLive();
    throwIfAborted(signal);
    const transcript = this.checkTranscript(options.transcriptIds);
    this.checkAudio(audio);
    const wav16k = this.resampled(audio, CLONE_FEATURE_RATE);
    const frames16k = dsp(() => this.whisperPlan.numFrames(wav16k.length));
    const whisper = dsp(() => whisperLogMel(wav16k, this.whisperPlan));
    const tokens = await this.speechTokens(whisper, frames16k, signal);
    throwIfAborted(signal);
    const fbank = dsp(() => speakerFbank(wav16k, this.fbankPlan));
    const embedding = await this.speakerEmbedding(fbank, signal);
    throwIfAborted(signal);
    const wavMel = this.resampled(audio, this.sampleRate);
    const mel = dsp(() => promptMel(wavMel, this.melPlan));
    const aligned = dsp(() => alignPromptMelToTokens(mel, this.model.melBins, tokens));
    if (aligned.numTokens === 0) {
      throw invalidInput('The prompt audio is too short: it yields no speech token.', { reason: 'too-short' });
    }
    const createdAt = options.createdAt === undefined ? Date.now() : options.createdAt;
    return {
      promptTextIds: transcript,
      promptTokens: aligned.tokens.slice(),
      promptFeat: aligned.mel.slice(),
      embedding,
      model: this.model,
      sampleRate: this.sampleRate,
      ...(createdAt === null ? {} : { createdAt }),
    };
  }

  /**
   * Runs the speech tokenizer on Whisper log-mel features (spec §3.2). The output dtype (int32 or int64) is read
   * from the returned tensor.
   *
   * @param feats - `[whisperMels][frames]` row-major (the graph's `feats` [1, 128, T])
   * @param frames - T
   * @returns the speech tokens (⌈T/4⌉ for the official tokenizer), each in [0, V)
   * @throws {TTSError} ERR_INVALID_INPUT for a wrong feature size; ERR_INFERENCE for unexpected outputs.
   */
  async speechTokens(feats: Float32Array, frames: number, signal?: AbortSignal): Promise<Int32Array> {
    this.assertLive();
    const bins = this.whisperPlan.nMels;
    if (!Number.isInteger(frames) || frames < 1 || feats.length !== bins * frames) {
      throw invalidInput(`Speech-tokenizer features must be ${bins} × ${frames} values, got ${feats.length}.`);
    }
    const s = this.tokenizer;
    const out = await s.run(
      {
        feats: s.tensor('float32', feats, [1, bins, frames]),
        feats_length: s.tensor('int32', Int32Array.of(frames), [1]),
      },
      signal,
    );
    const indices = output(out, 'indices', s.name);
    let tokens: Int32Array;
    if (indices.type === 'int32') tokens = Int32Array.from(await cpuData<Int32Array>(indices));
    else if (indices.type === 'int64') tokens = Int32Array.from(await cpuData<BigInt64Array>(indices), Number);
    else throw inferenceError(s.name, `output "indices" is ${indices.type}; expected int32 or int64`);
    const v = this.model.speechTokenSize;
    for (let i = 0; i < tokens.length; i++) {
      const t = tokens[i] ?? -1;
      if (t < 0 || t >= v) throw inferenceError(s.name, `token ${i} = ${t} is outside [0, ${v})`);
    }
    if (tokens.length === 0) throw inferenceError(s.name, 'no token returned');
    return tokens;
  }

  /**
   * Runs CAM++ on mean-normalised Kaldi fbank features (spec §3.3).
   *
   * @param fbank - `[frames][fbankBins]` row-major (the graph's `input` [1, T, 80])
   * @returns the x-vector (`embeddingDim` values)
   * @throws {TTSError} ERR_INVALID_INPUT for a wrong feature size; ERR_INFERENCE for unexpected outputs.
   */
  async speakerEmbedding(fbank: Float32Array, signal?: AbortSignal): Promise<Float32Array> {
    this.assertLive();
    const bins = this.fbankPlan.numMelBins;
    if (fbank.length === 0 || fbank.length % bins !== 0) {
      throw invalidInput(`CAM++ features must be T × ${bins} values, got ${fbank.length}.`);
    }
    const s = this.campplus;
    const out = await s.run({ input: s.tensor('float32', fbank, [1, fbank.length / bins, bins]) }, signal);
    const t = output(out, 'output', s.name);
    if (t.type !== 'float32') throw inferenceError(s.name, `output "output" is ${t.type}; expected float32`);
    const embedding = Float32Array.from(await cpuData<Float32Array>(t));
    if (embedding.length !== this.model.embeddingDim) {
      throw inferenceError(s.name, `returned ${embedding.length} values; expected ${this.model.embeddingDim}`);
    }
    for (const v of embedding) if (!Number.isFinite(v)) throw inferenceError(s.name, 'returned non-finite values');
    return embedding;
  }

  /** Releases both sessions. Further calls reject with ERR_DISPOSED. */
  async dispose(): Promise<void> {
    if (this.disposed) return;
    this.disposed = true;
    await Promise.all([this.tokenizer.release(), this.campplus.release()]);
  }

  private assertLive(): void {
    if (this.disposed) throw new TTSError('ERR_DISPOSED', 'This VoiceCloner has been disposed.');
  }

  private checkTranscript(ids: ArrayLike<number> | undefined): Int32Array {
    if (ids === undefined) return new Int32Array(0);
    const limit = this.model.textVocabSize;
    const out = new Int32Array(ids.length);
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id === undefined || !Number.isInteger(id) || id < 0 || id >= limit) {
        throw invalidInput(`transcriptIds[${i}] = ${String(id)}: ids must be integers in [0, ${limit}).`, {
          index: i,
        });
      }
      out[i] = id;
    }
    return out;
  }

  private checkAudio(audio: PromptAudio): void {
    const { samples, sampleRate } = audio;
    if (!Number.isSafeInteger(sampleRate) || sampleRate < CLONE_FEATURE_RATE) {
      throw invalidInput(
        `Prompt audio must have an integer sample rate ≥ ${CLONE_FEATURE_RATE} Hz (e.g. 16000, 22050, 24000, 44100, 48000), got ${String(sampleRate)}.`,
        { reason: 'sample-rate', sampleRate },
      );
    }
    const n = samples.length;
    if (n === 0) throw invalidInput('Prompt audio is empty.', { reason: 'empty' });
    const seconds = n / sampleRate;
    if (
      seconds > this.maxSeconds ||
      Math.ceil((n * CLONE_FEATURE_RATE) / sampleRate) > this.maxSeconds * CLONE_FEATURE_RATE
    ) {
      throw invalidInput(
        `Prompt audio is ${seconds.toFixed(2)} s long; the speech tokenizer accepts at most ${this.maxSeconds} s. Trim the recording (3–10 s is typical).`,
        { reason: 'too-long', seconds, maxSeconds: this.maxSeconds },
      );
    }
    if (seconds < MIN_PROMPT_SECONDS) {
      throw invalidInput(
        `Prompt audio is ${seconds.toFixed(3)} s long; at least ${MIN_PROMPT_SECONDS} s is needed (3–10 s is typical).`,
        { reason: 'too-short', seconds },
      );
    }
    let peak = 0;
    for (let i = 0; i < n; i++) {
      const v = samples[i] ?? Number.NaN;
      if (!Number.isFinite(v)) {
        throw invalidInput(`Prompt audio sample ${i} is ${v}; samples must be finite.`, {
          reason: 'non-finite',
          index: i,
        });
      }
      const a = Math.abs(v);
      if (a > peak) peak = a;
    }
    if (peak <= SILENCE_PEAK) {
      throw invalidInput(`Prompt audio is silent (peak ${peak.toExponential(2)} ≤ ${SILENCE_PEAK}).`, {
        reason: 'silent',
        peak,
      });
    }
  }

  private resampled(audio: PromptAudio, rate: number): Float32Array {
    if (audio.sampleRate === rate) {
      return audio.samples instanceof Float32Array ? audio.samples : Float32Array.from(audio.samples);
    }
    return dsp(() => resample(audio.samples, createResamplePlan(audio.sampleRate, rate)));
  }
}

/** Runs a DSP call and maps its plain `ERR_INVALID_INPUT` errors to {@link TTSError}. */
function dsp<T>(fn: () => T): T {
  try {
    return fn();
  } catch (cause) {
    if (cause instanceof Error && (cause as { code?: unknown }).code === 'ERR_INVALID_INPUT') {
      throw new TTSError('ERR_INVALID_INPUT', cause.message.replace(/^ERR_INVALID_INPUT: /, ''), { cause });
    }
    throw cause;
  }
}

function output(outputs: Readonly<Record<string, OrtTensor>>, name: string, graph: string): OrtTensor {
  const t = outputs[name];
  if (t === undefined) throw inferenceError(graph, `no output "${name}" (got ${Object.keys(outputs).join(', ')})`);
  return t;
}

async function cpuData<T>(t: OrtTensor): Promise<T> {
  return (t.location === 'cpu' || t.location === 'cpu-pinned' ? t.data : await t.getData()) as T;
}

function inferenceError(graph: string, what: string): TTSError {
  return new TTSError('ERR_INFERENCE', `Graph "${graph}" ${what}.`, { details: { graph } });
}
