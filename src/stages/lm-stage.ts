/**
 * The LM stage (lives in the LM worker by default): text front-end + speech-token LM. Turns a request into token
 * messages on a MessagePort as the tokens are sampled, so the flow stage can start before the LM is done.
 */
import { prepareSegments, promptTextIds } from '../request/text-input.ts';
import { bistreamPromptFor, lmRequestFor } from '../request/mode.ts';
import type { LmVoice } from '../request/mode.ts';
import type { JobOptions } from '../request/options.ts';
import { samplingOptions } from '../request/options.ts';
import { checkSegmentRoom } from '../request/limits.ts';
import { resolveSchedule } from '../request/schedule.ts';
import type { ModelConstants } from '../loader/manifest.ts';
import { TextIdStream } from '../request/text-stream.ts';
import { now } from '../base/clock.ts';
import { deserializeError, invalidInput, modelFormatError, serializeError } from '../errors.ts';
import { Xoshiro128 } from '../models/lm/rng.ts';
import { SpeechLm } from '../models/lm/speech-lm.ts';
import type { Device, Dtype } from '../base/stages.ts';
import type { ModelPackage } from '../runtime/model-package.ts';
import type { OrtModule } from '../runtime/ort.ts';
import { CosyVoiceTokenizer } from '../text/index.ts';
import { receive, send } from './port-queue.ts';
import type { PortLike, TextMessage, TokenMessage } from './protocol.ts';
import { RequestRegistry } from './requests.ts';
import type { TokenGate } from './token-gate.ts';
import { gateOnPort } from './token-gate.ts';

/** One request for the LM stage. `text` for a whole text; omit it for a text stream arriving on `textPort`. */
export interface LmJob {
  readonly requestId: string;
  readonly text?: string;
  readonly voice: LmVoice;
  readonly options: JobOptions;
}

/** Where a request's tokens go: the token port, the gate pacing them (`schedule`), the request's signal. */
interface TokenOutput {
  readonly port: PortLike;
  readonly gate: TokenGate;
  readonly signal: AbortSignal;
}

/** Text front-end + LM for one realm. */
export class LmStage {
  readonly #requests = new RequestRegistry();

  private constructor(
    /** Tokenizer of the package (also used to tokenise voice transcripts). */
    readonly tokenizer: CosyVoiceTokenizer,
    private readonly lm: SpeechLm,
    private readonly constants: ModelConstants,
  ) {}

  static async create(
    pkg: ModelPackage,
    ort: OrtModule,
    placement: { readonly device: Device; readonly dtype: Dtype },
    signal?: AbortSignal,
  ): Promise<LmStage> {
    const json = await pkg.tokenizerJson(signal);
    let tokenizer: CosyVoiceTokenizer;
    try {
      tokenizer = CosyVoiceTokenizer.fromJson(json);
    } catch (cause) {
      throw modelFormatError(`The package's ${pkg.manifest.tokenizer}`, 'a usable tokenizer', cause);
    }
    const lm = await SpeechLm.create(pkg, ort, { ...placement, ...(signal ? { signal } : {}) });
    return new LmStage(tokenizer, lm, pkg.manifest.config);
  }

  /** Token ids of a prompt transcript (normalised without splitting). */
  transcriptIds(transcript: string, normalize = true): Int32Array {
    return promptTextIds(transcript, this.tokenizer, { normalize });
  }

  /**
   * Runs one request: posts `segment` / `tokens` / `segment-end` … `end` (or `error`) on `tokenPort`. Resolves when
   * the request is over (also after an error or cancellation, which are reported on the port).
   */
  async run(job: LmJob, tokenPort: PortLike, textPort?: PortLike): Promise<void> {
    const { requestId } = job;
    const signal = this.#requests.open(requestId);
    // paced requests wait for the flow's credits before each LM call (the flow grants nothing but Infinity offline)
    const gate = gateOnPort(tokenPort, resolveSchedule(job.options.schedule) !== undefined);
    try {
      const rng = new Xoshiro128(job.options.seed);
      const out = { port: tokenPort, gate, signal };
      if (job.text !== undefined) await this.#runText(job, job.text, rng, out);
      else if (textPort !== undefined) await this.#runStream(job, textPort, rng, out);
      else throw new TypeError('an LM job needs text or a text port');
      send(tokenPort, { type: 'end', requestId } satisfies TokenMessage);
    } catch (error) {
      send(tokenPort, { type: 'error', requestId, error: serializeError(error) } satisfies TokenMessage);
    } finally {
      this.#requests.close(requestId);
      // messages already posted are still delivered; closing frees the port in this worker
      tokenPort.close();
      textPort?.close();
    }
  }

  async #runText(job: LmJob, text: string, rng: Xoshiro128, out: TokenOutput): Promise<void> {
    const { port, gate, signal } = out;
    const o = job.options;
    const segments = prepareSegments(text, this.tokenizer, {
      ...(o.normalize === undefined ? {} : { normalize: o.normalize }),
      ...(o.readNumbers === undefined ? {} : { readNumbers: o.readNumbers }),
    });
    // every segment is checked before the LM runs for the first
    for (const { ids } of segments) checkSegmentRoom(ids.length, job.voice.promptTokens.length, this.constants);
    for (const [segment, { text: segmentText, ids }] of segments.entries()) {
      const last = segment === segments.length - 1;
      send(port, {
        type: 'segment',
        requestId: job.requestId,
        segment,
        text: segmentText,
        final: last,
      } satisfies TokenMessage);
      const start = now();
      const waited = gate.waitedMs;
      const result = await this.lm.generate(lmRequestFor(ids, job.voice, o, this.tokenizer), {
        rng,
        signal,
        ...samplingOptions(o),
        beforeStep: () => gate.ready(signal),
        onToken: (token) => {
          const batch = Int32Array.of(token);
          send(port, { type: 'tokens', requestId: job.requestId, segment, ids: batch } satisfies TokenMessage, batch);
          gate.sent();
        },
      });
      // a copy (a view would clone its whole buffer); the LM's time without its waits for the flow
      const end = { ids: result.tokens.slice(), lmMs: now() - start - (gate.waitedMs - waited) };
      send(port, { type: 'segment-end', requestId: job.requestId, segment, ...end } satisfies TokenMessage);
    }
  }

  async #runStream(job: LmJob, textPort: PortLike, rng: Xoshiro128, out: TokenOutput) {
    const { port, gate, signal } = out;
    const o = job.options;
    if (o.instruct !== undefined) throw invalidInput('instruct is not supported with streamed text input.');
    const ids = new TextIdStream(this.tokenizer, {
      ...(o.normalize === undefined ? {} : { normalize: o.normalize }),
      ...(o.readNumbers === undefined ? {} : { readNumbers: o.readNumbers }),
    });
    send(port, { type: 'segment', requestId: job.requestId, segment: 0, text: '', final: true } satisfies TokenMessage);
    const start = now();
    const result = await this.lm.generateBistream(
      ids.ids(textPieces(textPort, signal), signal),
      bistreamPromptFor(job.voice, o),
      {
        rng,
        signal,
        maxFinalSteps: () => Math.max(1, ids.totalIds()) * this.constants.sampling.maxTokenTextRatio,
        ...samplingOptions(o),
        beforeStep: () => gate.ready(signal),
        onToken: (token) => {
          const batch = Int32Array.of(token);
          send(
            port,
            { type: 'tokens', requestId: job.requestId, segment: 0, ids: batch } satisfies TokenMessage,
            batch,
          );
          gate.sent();
        },
      },
    );
    // a copy (a view would clone its whole buffer); the LM's time without its waits for the flow
    const end = { ids: result.tokens.slice(), lmMs: now() - start - gate.waitedMs };
    send(port, { type: 'segment-end', requestId: job.requestId, segment: 0, ...end } satisfies TokenMessage);
  }

  /** A two-token generation (device self-test); the decode loop rejects non-finite logits. */
  async selfTest(): Promise<void> {
    const textIds = Array.from(this.tokenizer.encode('a'));
    await this.lm.generate({ mode: 'sft', textIds }, { seed: 0, maxTokens: 2 });
  }

  /** Cancels a running request (it reports an AbortError on its token port). */
  cancel(requestId: string, reason?: unknown): void {
    this.#requests.cancel(requestId, reason);
  }

  async dispose(): Promise<void> {
    this.#requests.cancelAll();
    await this.lm.dispose();
  }
}

/** Text pieces of a bistream request from its port. */
async function* textPieces(port: PortLike, signal: AbortSignal): AsyncGenerator<string> {
  for await (const message of receive<TextMessage>(port, signal)) {
    if (message.type === 'end') return;
    if (message.type === 'error') throw deserializeError(message.error);
    yield message.piece;
  }
}
