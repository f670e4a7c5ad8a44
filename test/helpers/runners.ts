/**
 * An independent oracle for the stages: the model runners driven directly, one after another in one realm (LM, then
 * flow + vocoder), without ports, jobs or the pipeline. The pipeline must reproduce it bit for bit. Like the flow stage,
 * it streams on the incremental flow when the package ships it (unless `incrementalFlow: false`); that path's equality
 * with the re-solving one is proven in test/unit/flow/incremental-flow.test.ts.
 */
import { FlowMatcher } from '../../src/models/flow/flow-matcher.ts';
import { IncrementalFlow } from '../../src/models/flow/incremental-flow.ts';
import { Xoshiro128 } from '../../src/models/lm/rng.ts';
import { SpeechLm } from '../../src/models/lm/speech-lm.ts';
import { StreamingToken2Wav, tokensToWave } from '../../src/models/token2wav.ts';
import { Vocoder } from '../../src/models/vocoder/vocoder.ts';
import type { VoiceProfile } from '../../src/models/voice/voice-profile.ts';
import { bistreamPromptFor, flowPromptFor, lmRequestFor } from '../../src/request/mode.ts';
import type { SynthesisOptions } from '../../src/request/options.ts';
import { chunkPolicyOptions, samplingOptions, streamFlowSteps } from '../../src/request/options.ts';
import { prepareSegments } from '../../src/request/text-input.ts';
import { TextIdStream } from '../../src/request/text-stream.ts';
import type { Device, Dtype } from '../../src/base/stages.ts';
import type { ModelPackage } from '../../src/runtime/model-package.ts';
import type { OrtModule } from '../../src/runtime/ort.ts';
import { CosyVoiceTokenizer } from '../../src/text/index.ts';

/** The runners of a package. */
export class RunnerReference {
  private constructor(
    private readonly tokenizer: CosyVoiceTokenizer,
    private readonly lm: SpeechLm,
    private readonly flow: FlowMatcher,
    private readonly vocoder: Vocoder,
    private readonly maxTokenTextRatio: number,
    private readonly incremental: IncrementalFlow | undefined,
  ) {}

  static async create(
    pkg: ModelPackage,
    ort: OrtModule,
    placement: { device: Device; dtype: Dtype },
  ): Promise<RunnerReference> {
    const flow = await FlowMatcher.create(pkg, ort, placement);
    return new RunnerReference(
      CosyVoiceTokenizer.fromJson(await pkg.tokenizerJson()),
      await SpeechLm.create(pkg, ort, placement),
      flow,
      await Vocoder.create(pkg, ort, placement),
      pkg.manifest.config.sampling.maxTokenTextRatio,
      await IncrementalFlow.create(flow, pkg, ort, placement),
    );
  }

  /** The samples of `text` per segment (offline: one piece per segment) or per chunk (stream). */
  async text(
    text: string,
    voice: VoiceProfile,
    seed: number,
    mode: 'offline' | 'stream',
    options: SynthesisOptions = {},
  ): Promise<Float32Array[]> {
    const lmRng = new Xoshiro128(seed);
    const noiseRng = new Xoshiro128(seed + 1);
    const pieces: Float32Array[] = [];
    for (const segment of prepareSegments(text, this.tokenizer)) {
      const request = lmRequestFor(segment.ids, voice, options, this.tokenizer);
      const { tokens } = await this.lm.generate(request, { rng: lmRng, ...samplingOptions(options) });
      if (mode === 'stream') {
        pieces.push(...(await this.#streamed(tokens, voice, noiseRng, options)));
      } else if (tokens.length > 0) {
        const wave = await tokensToWave(this.flow, this.vocoder, flowPromptFor(voice), tokens, {
          rng: noiseRng,
          ...(options.flowSteps === undefined ? {} : { steps: options.flowSteps }),
          ...(options.speed === undefined ? {} : { speed: options.speed }),
        });
        pieces.push(wave.samples);
      }
    }
    return pieces;
  }

  /** The chunks of a text stream (bistream LM, then streaming token2wav). */
  async textStream(pieces: AsyncIterable<string>, voice: VoiceProfile, seed: number): Promise<Float32Array[]> {
    const ids = new TextIdStream(this.tokenizer);
    const { tokens } = await this.lm.generateBistream(ids.ids(pieces), bistreamPromptFor(voice, {}), {
      rng: new Xoshiro128(seed),
      maxFinalSteps: () => Math.max(1, ids.totalIds()) * this.maxTokenTextRatio,
    });
    return this.#streamed(tokens, voice, new Xoshiro128(seed + 1), {});
  }

  /** Streaming token2wav fed one token at a time, as the flow stage receives them. */
  async #streamed(
    tokens: Int32Array,
    voice: VoiceProfile,
    rng: Xoshiro128,
    options: SynthesisOptions,
  ): Promise<Float32Array[]> {
    const stream = new StreamingToken2Wav(this.flow, this.vocoder, flowPromptFor(voice), {
      rng,
      policy: chunkPolicyOptions(options.streaming),
      steps: streamFlowSteps(options),
      ...(this.incremental === undefined || options.incrementalFlow === false ? {} : { incremental: this.incremental }),
    });
    const out: Float32Array[] = [];
    const drain = async (): Promise<void> => {
      for (let chunk = await stream.next(); chunk !== undefined; chunk = await stream.next()) out.push(chunk.samples);
    };
    for (const token of tokens) {
      stream.push([token]);
      await drain();
    }
    stream.end();
    await drain();
    return out;
  }

  async dispose(): Promise<void> {
    await Promise.all([this.lm.dispose(), this.flow.release(), this.vocoder.release(), this.incremental?.release()]);
  }
}
