/**
 * The HiFT vocoder runner: mel → 24 kHz waveform on the `hift_f0` and `hift_decoder` graphs (docs/model-package.md),
 * with the parts that have no good ONNX form done in TypeScript (`src/dsp`):
 *
 * 1. `hift_f0`: F0 per mel frame (Hz);
 * 2. SineGen2 excitation in float64 (`dsp.sineGen2`) with explicit standard-normal noise — the only randomness of
 *    HiFT — rounded once to float32 for the graph (spec §6.2 step 3);
 * 3. `hift_decoder`: source `tanh(l_linear(excitation))` (its first samples replaced by `cache_source`), source STFT,
 *    decoder → magnitude (already clipped at 100) and phase, plus the source (the next streaming cache);
 * 4. iSTFT (n_fft 16, hop 4, periodic Hann, centred) of magnitude·e^{i·phase} (`dsp.istft`) and the ±audio_limit
 *    clamp.
 *
 * {@link StreamingVocoder} adds upstream's streaming cache (spec §6.4) on top of {@link Vocoder.synthesize}.
 *
 * @module
 */

import { createStftPlan, hannWindow, HiftCrossfade, istft, sineGen2, type StftPlan } from '../../dsp/index.ts';
import { invalidInput } from '../../errors.ts';
import type { Device, Dtype } from '../../base/stages.ts';
import type { ModelPackage } from '../../runtime/model-package.ts';
import type { OrtModule } from '../../runtime/ort.ts';
import type { GraphSession } from '../../runtime/session.ts';
import { floatOutput } from '../../runtime/tensors.ts';
import { yieldAndCheck } from '../../runtime/yield.ts';
import type { Mel } from '../flow/flow-matcher.ts';

/** A source of standard-normal draws (e.g. `Xoshiro128`; a request with seed s uses `new Xoshiro128(s + 1)`). */
export interface NormalSource {
  /** One N(0, 1) draw. */
  normal(): number;
}

/** Constants the vocoder uses (from the package manifest). */
export interface VocoderConfig {
  /** Output sample rate (24000). */
  readonly sampleRate: number;
  /** Mel bins (80). */
  readonly melBins: number;
  /** Output samples per mel frame (480). */
  readonly samplesPerMelFrame: number;
  /** Harmonics above the fundamental (8): the excitation has 9 channels. */
  readonly nbHarmonics: number;
  /** Sine amplitude (0.1). */
  readonly nsfAlpha: number;
  /** Noise std in voiced samples (0.003). */
  readonly nsfSigma: number;
  /** F0 (Hz) above which a frame is voiced (10). */
  readonly voicedThreshold: number;
  /** iSTFT size (16). */
  readonly nFft: number;
  /** iSTFT hop (4). */
  readonly hopLength: number;
  /** The output is clamped to ±audioLimit (0.99). */
  readonly audioLimit: number;
  /** Streaming: mel frames re-synthesised with right context (8). */
  readonly melCacheFrames: number;
  /** Streaming: source samples carried and cross-faded (3840). */
  readonly sourceCacheSamples: number;
}

/** Options of {@link Vocoder.create}. */
export interface VocoderCreateOptions {
  /** Device of both graphs. */
  readonly device: Device;
  /** Weight variant of both graphs (HiFT keeps fp32 activations in every variant). */
  readonly dtype: Dtype;
  /** Aborts loading. */
  readonly signal?: AbortSignal;
}

/** Where the excitation noise comes from: explicit values, or draws from a generator. */
export type VocoderNoise =
  | {
      /** Standard-normal noise `[480T][9]`, sample-major (upstream's `randn_like(sine_waves)`). */
      readonly noise: ArrayLike<number>;
      readonly rng?: never;
    }
  | {
      /** Draws 480T·9 values, sample-major, each rounded to float32 (the reference's `normals(n).astype(float32)`). */
      readonly rng: NormalSource;
      readonly noise?: never;
    };

/** Options of {@link Vocoder.synthesize}. */
export type SynthesizeOptions = VocoderNoise & {
  /** Source samples (≤ 480T) that overwrite the start of the source (streaming phase continuity, spec §6.4). */
  readonly cacheSource?: Float32Array;
  /** Checked before each graph run. */
  readonly signal?: AbortSignal;
};

/** Output of {@link Vocoder.synthesize}. */
export interface VocoderOutput {
  /** Waveform, 480T samples clamped to ±audioLimit. */
  readonly samples: Float32Array;
  /** The source signal s (480T), the next streaming cache. */
  readonly source: Float32Array;
  /** F0 per mel frame (Hz). */
  readonly f0: Float32Array;
}

/**
 * HiFT runner. Stateless across calls (streaming state lives in {@link StreamingVocoder}), so one instance serves any
 * number of requests.
 *
 * @example
 * ```ts
 * const vocoder = await Vocoder.create(pkg, ort, { device: 'wasm', dtype: 'fp32' });
 * const { samples } = await vocoder.synthesize(mel, { rng: new Xoshiro128(seed + 1) });
 * ```
 */
export class Vocoder {
  readonly #plan: StftPlan;

  private constructor(
    /** Constants from the manifest. */
    readonly config: VocoderConfig,
    private readonly f0Session: GraphSession,
    private readonly decoder: GraphSession,
  ) {
    // float32 periodic Hann like torch.hann_window / the float32 window upstream passes to torch.istft
    const window = hannWindow(config.nFft).map(Math.fround);
    this.#plan = createStftPlan({ nFft: config.nFft, hopLength: config.hopLength, window, center: true });
  }

  /**
   * Loads `hift_f0` and `hift_decoder`.
   *
   * @throws {TTSError} ERR_MODEL_FORMAT / ERR_SESSION_CREATE
   */
  static async create(pkg: ModelPackage, ort: OrtModule, options: VocoderCreateOptions): Promise<Vocoder> {
    const c = pkg.manifest.config;
    const config: VocoderConfig = {
      sampleRate: c.sampleRate,
      melBins: c.melBins,
      samplesPerMelFrame: c.samplesPerMelFrame,
      nbHarmonics: c.hift.nbHarmonics,
      nsfAlpha: c.hift.nsfAlpha,
      nsfSigma: c.hift.nsfSigma,
      voicedThreshold: c.hift.voicedThreshold,
      nFft: c.hift.nFft,
      hopLength: c.hift.hopLength,
      audioLimit: c.hift.audioLimit,
      melCacheFrames: c.streaming.melCacheFrames,
      sourceCacheSamples: c.streaming.sourceCacheSamples,
    };
    const session = {
      device: options.device,
      dtype: options.dtype,
      ...(options.signal ? { signal: options.signal } : {}),
    };
    const f0 = await pkg.session(ort, 'hift_f0', session);
    try {
      return new Vocoder(config, f0, await pkg.session(ort, 'hift_decoder', session));
    } catch (error) {
      await f0.release();
      throw error;
    }
  }

  /** Channels of the excitation (nbHarmonics + 1). */
  get harmonics(): number {
    return this.config.nbHarmonics + 1;
  }

  #checkMel(mel: Mel): void {
    if (mel.bins !== this.config.melBins || mel.data.length !== mel.bins * mel.frames) {
      throw invalidInput(
        `the vocoder needs a ${this.config.melBins}-bin mel [bins][frames] (got ${mel.bins} bins, ${mel.frames} frames, ${mel.data.length} values).`,
      );
    }
  }

  /**
   * F0 per mel frame (Hz), the `hift_f0` graph.
   *
   * @throws {TTSError} ERR_INVALID_INPUT for a malformed mel; ERR_INFERENCE
   */
  async predictF0(mel: Mel, signal?: AbortSignal): Promise<Float32Array> {
    this.#checkMel(mel);
    const s = this.f0Session;
    const outputs = await s.run({ mel: s.tensor('float32', mel.data, [1, mel.bins, mel.frames]) }, signal);
    return floatOutput(outputs, 'f0', s.name, mel.frames);
  }

  /**
   * The SineGen2 excitation `[480T][9]` for an F0 track (float64 inside, float32 out).
   *
   * @param f0 - F0 per frame (Hz)
   * @param noise - standard-normal noise `[480T][9]`
   */
  excitation(f0: ArrayLike<number>, noise: ArrayLike<number>): Float32Array {
    const c = this.config;
    return sineGen2(f0, noise, {
      samplingRate: c.sampleRate,
      upsampleScale: c.samplesPerMelFrame,
      harmonicNum: c.nbHarmonics,
      sineAmp: c.nsfAlpha,
      noiseStd: c.nsfSigma,
      voicedThreshold: c.voicedThreshold,
    });
  }

  /**
   * HiFT `inference` (spec §6.2): mel → waveform.
   *
   * @param mel - `[80][T]`
   * @param options - the excitation noise (`noise` or `rng`), optional `cacheSource`, signal
   * @returns waveform (480T samples, clamped), source (the next cache) and F0
   * @throws {TTSError} ERR_INVALID_INPUT for a malformed mel, wrong noise length or a too-long cache; ERR_INFERENCE
   * @see cosyvoice/hifigan/generator.py HiFTGenerator.inference
   */
  async synthesize(mel: Mel, options: SynthesizeOptions): Promise<VocoderOutput> {
    this.#checkMel(mel);
    const c = this.config;
    const samples = mel.frames * c.samplesPerMelFrame;
    const harmonics = this.harmonics;
    const cache = options.cacheSource ?? new Float32Array(0);
    if (cache.length > samples) {
      throw invalidInput(`cacheSource has ${cache.length} samples, more than the ${samples} this mel produces.`);
    }
    if (options.noise !== undefined && options.noise.length !== samples * harmonics) {
      throw invalidInput(
        `noise must hold 480T·${harmonics} = ${samples * harmonics} values ([${samples}][${harmonics}]); got ${options.noise.length}.`,
      );
    }
    if (mel.frames === 0) {
      return { samples: new Float32Array(0), source: new Float32Array(0), f0: new Float32Array(0) };
    }
    await yieldAndCheck(options.signal); // an abort lands within one vocoder chunk
    const f0 = await this.predictF0(mel, options.signal);
    const noise = options.noise ?? drawNormals(options.rng, samples * harmonics);
    const excitation = this.excitation(f0, noise);
    const s = this.decoder;
    const outputs = await s.run(
      {
        mel: s.tensor('float32', mel.data, [1, mel.bins, mel.frames]),
        excitation: s.tensor('float32', excitation, [1, samples, harmonics]),
        cache_source: s.tensor('float32', cache, [1, 1, cache.length]),
      },
      options.signal,
    );
    const bins = Math.floor(c.nFft / 2) + 1;
    const stftFrames = samples / c.hopLength + 1;
    const magnitude = floatOutput(outputs, 'magnitude', s.name, bins * stftFrames);
    const phase = floatOutput(outputs, 'phase', s.name, bins * stftFrames);
    const source = floatOutput(outputs, 'source', s.name, samples);
    // planar [2][bins][frames]: magnitude·cos(phase), magnitude·sin(phase) (the graph already clipped it at 100)
    const spectrum = new Float64Array(2 * bins * stftFrames);
    const imag = bins * stftFrames;
    for (let i = 0; i < imag; i++) {
      const m = magnitude[i] ?? 0;
      const p = phase[i] ?? 0;
      spectrum[i] = m * Math.cos(p);
      spectrum[imag + i] = m * Math.sin(p);
    }
    const wave = istft(spectrum, this.#plan);
    const limit = c.audioLimit;
    for (let i = 0; i < wave.length; i++) wave[i] = Math.min(limit, Math.max(-limit, wave[i] ?? 0));
    return { samples: wave, source, f0 };
  }

  /** Releases both sessions. */
  async release(): Promise<void> {
    await Promise.all([this.f0Session.release(), this.decoder.release()]);
  }
}

/** `count` normal draws rounded to float32, in draw order. */
export function drawNormals(rng: NormalSource, count: number): Float32Array {
  const out = new Float32Array(count);
  for (let i = 0; i < count; i++) out[i] = rng.normal();
  return out;
}

/** Options of {@link StreamingVocoder}. */
export interface StreamingVocoderOptions {
  /** Mel frames carried to the next chunk. @defaultValue the manifest's `streaming.melCacheFrames` (8) */
  readonly melCacheFrames?: number;
}

/** Options of {@link StreamingVocoder.push}. */
export interface StreamingVocoderPushOptions {
  /** Last chunk of the utterance: emit everything and reset. */
  readonly finalize: boolean;
  /** Checked before each graph run. */
  readonly signal?: AbortSignal;
}

/**
 * Per-request streaming vocoder with upstream's HiFT cache (spec §6.4, `CosyVoice2Model.token2wav`):
 *
 * - the input of every call is (cached last 8 mel frames of the previous input, if any) ⊕ the new frames;
 * - the cached 3840 source samples overwrite the start of the new source (phase continuity of the excitation);
 * - the first 3840 output samples are Hamming(7680)-cross-faded with the withheld tail of the previous call
 *   (`dsp.HiftCrossfade`); a non-final call withholds its own last 3840 samples; the final call emits everything.
 *
 * Noise for each call is drawn from the request's generator: (cached + new frames)·480·9 normals, in call order, so a
 * streamed utterance is reproducible from its seed. Create one instance per request; after an abort discard it.
 */
export class StreamingVocoder {
  readonly #vocoder: Vocoder;
  readonly #rng: NormalSource;
  readonly #melCache: number;
  readonly #sourceCache: number;
  readonly #fade: HiftCrossfade;
  #cachedMel: Mel | undefined;
  #cachedSource: Float32Array | undefined;

  /**
   * @param vocoder - the shared runner
   * @param rng - this request's noise generator
   * @param options - cache length override
   * @throws {TTSError} ERR_INVALID_INPUT for a cache length that is not a positive integer
   */
  constructor(vocoder: Vocoder, rng: NormalSource, options: StreamingVocoderOptions = {}) {
    const melCache = options.melCacheFrames ?? vocoder.config.melCacheFrames;
    if (!Number.isSafeInteger(melCache) || melCache < 1) {
      throw invalidInput(`melCacheFrames must be a positive integer (got ${String(melCache)}).`);
    }
    this.#vocoder = vocoder;
    this.#rng = rng;
    this.#melCache = melCache;
    this.#sourceCache = melCache * vocoder.config.samplesPerMelFrame;
    this.#fade = new HiftCrossfade({ overlap: this.#sourceCache });
  }

  /** Samples a non-final chunk withholds (and the next one cross-fades): melCacheFrames · 480. */
  get overlap(): number {
    return this.#sourceCache;
  }

  /** Forgets the caches (start of a new utterance). The noise generator is not reset. */
  reset(): void {
    this.#cachedMel = undefined;
    this.#cachedSource = undefined;
    this.#fade.reset();
  }

  /**
   * Vocodes the next mel frames and returns the samples that are final.
   *
   * @param mel - new frames of the utterance (a non-final chunk without cache needs ≥ melCacheFrames frames)
   * @param options - finalize flag, signal
   * @returns samples to play (a non-final chunk returns 480·(cached + new) − 3840 samples)
   * @throws {TTSError} ERR_INVALID_INPUT for a too-short first chunk; ERR_INFERENCE; the abort reason
   */
  async push(mel: Mel, options: StreamingVocoderPushOptions): Promise<Float32Array> {
    const cached = this.#cachedMel;
    const input = cached === undefined ? mel : concatMel(cached, mel);
    if (!options.finalize && input.frames < this.#melCache) {
      throw invalidInput(
        `a non-final vocoder chunk needs at least ${this.#melCache} mel frames (got ${input.frames}); ` +
          `use a longer first hop.`,
      );
    }
    const { samples, source } = await this.#vocoder.synthesize(input, {
      rng: this.#rng,
      ...(this.#cachedSource === undefined ? {} : { cacheSource: this.#cachedSource }),
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (samples.length === 0) {
      this.reset();
      return samples;
    }
    const out = this.#fade.push(samples, options.finalize);
    if (options.finalize) {
      this.reset();
    } else {
      this.#cachedMel = lastFrames(input, this.#melCache);
      this.#cachedSource = source.slice(source.length - this.#sourceCache);
    }
    return out;
  }
}

function lastFrames(mel: Mel, count: number): Mel {
  const from = mel.frames - count;
  const data = new Float32Array(mel.bins * count);
  for (let b = 0; b < mel.bins; b++)
    data.set(mel.data.subarray(b * mel.frames + from, (b + 1) * mel.frames), b * count);
  return { bins: mel.bins, frames: count, data };
}

function concatMel(a: Mel, b: Mel): Mel {
  if (a.bins !== b.bins) throw invalidInput(`cannot join a ${a.bins}-bin mel with a ${b.bins}-bin mel.`);
  const frames = a.frames + b.frames;
  const data = new Float32Array(a.bins * frames);
  for (let c = 0; c < a.bins; c++) {
    data.set(a.data.subarray(c * a.frames, (c + 1) * a.frames), c * frames);
    data.set(b.data.subarray(c * b.frames, (c + 1) * b.frames), c * frames + a.frames);
  }
  return { bins: a.bins, frames, data };
}
