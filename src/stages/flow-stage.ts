/**
 * The flow stage (flow worker by default): speech tokens in, mel chunks out. Streaming requests follow the chunk
 * policy (a {@link FlowStream} per segment); offline requests wait for each segment's last token and decode it with
 * full attention (and the optional speed change), exactly as `tokensToWave`.
 */
import { now } from '../base/clock.ts';
import type { JobOptions, RequestMode } from '../request/options.ts';
import { chunkPolicyOptions, streamFlowSteps } from '../request/options.ts';
import { flowPromptFor } from '../request/mode.ts';
import { resolveSchedule } from '../request/schedule.ts';
import { deserializeError, serializeError } from '../errors.ts';
import type { Mel } from '../models/flow/flow-matcher.ts';
import { FlowMatcher } from '../models/flow/flow-matcher.ts';
import { IncrementalFlow } from '../models/flow/incremental-flow.ts';
import { changeSpeed } from '../models/flow/speed.ts';
import { FlowStream } from '../models/token2wav.ts';
import type { Device, Dtype } from '../base/stages.ts';
import type { ModelPackage } from '../runtime/model-package.ts';
import type { OrtModule } from '../runtime/ort.ts';
import { receive, send } from './port-queue.ts';
import type { MelMessage, PortLike, TokenCredit, TokenMessage } from './protocol.ts';
import { RequestRegistry } from './requests.ts';
import { LmCredit } from './lm-credit.ts';

/** The flow's view of a voice (structured-clone safe). */
export interface FlowVoice {
  readonly promptTokens: Int32Array;
  readonly promptFeat: Float32Array;
  readonly embedding: Float32Array;
}

/** One request for the flow stage. */
export interface FlowJob {
  readonly requestId: string;
  readonly voice: FlowVoice;
  /** Offline: one full-attention decode per segment. Streaming: the chunk policy. */
  readonly mode: RequestMode;
  /**
   * The request's options (the flow reads `speed`, `streaming`, `flowSteps`, `incrementalFlow`, `flowCacheMB`,
   * `finalChunkAttention`, and `schedule` to pace the LM).
   */
  readonly options: JobOptions;
}

/** A transferable copy of a mel (the runner may keep views of its own buffers). */
function detached(mel: Mel): Float32Array {
  return mel.data.slice();
}

/** Flow matching for one realm. */
export class FlowStage {
  readonly #requests = new RequestRegistry();

  private constructor(
    private readonly flow: FlowMatcher,
    /** The incremental streaming flow, when the package ships its graph (per-voice prompt caches live here). */
    private readonly incremental: IncrementalFlow | undefined,
  ) {}

  static async create(
    pkg: ModelPackage,
    ort: OrtModule,
    placement: { readonly device: Device; readonly dtype: Dtype },
    signal?: AbortSignal,
  ): Promise<FlowStage> {
    const options = { ...placement, ...(signal ? { signal } : {}) };
    const flow = await FlowMatcher.create(pkg, ort, options);
    try {
      return new FlowStage(flow, await IncrementalFlow.create(flow, pkg, ort, options));
    } catch (error) {
      await flow.release();
      throw error;
    }
  }

  /**
   * Consumes the token messages of one request from `tokenPort` and posts mel messages on `melPort` (ending with
   * `end` or `error`). Resolves when the request is over.
   */
  async run(job: FlowJob, tokenPort: PortLike, melPort: PortLike): Promise<void> {
    const { requestId, options } = job;
    const signal = this.#requests.open(requestId);
    const prompt = flowPromptFor(job.voice);
    // the LM's pacing: credits go back over the token port (lm-credit.ts)
    const credit = new LmCredit(resolveSchedule(options.schedule), ({ consumed, limit }) => {
      send(tokenPort, { type: 'credit', requestId, consumed, limit } satisfies TokenCredit);
    });
    let stream: FlowStream | undefined;
    let offlineTokens: number[] = [];
    let segment = 0;
    let finalSegment = false;
    const post = (message: MelMessage, ...arrays: Float32Array[]): void => {
      send(melPort, message, ...arrays);
    };
    const emit = (mel: Mel, index: number, segmentEnd: boolean, offline: boolean, flowMs: number): void => {
      const data = detached(mel);
      post(
        {
          type: 'mel',
          requestId,
          segment,
          index,
          segmentEnd,
          final: segmentEnd && finalSegment,
          offline,
          bins: mel.bins,
          frames: mel.frames,
          data,
          flowMs,
        },
        data,
      );
    };
    const newStream = (): FlowStream =>
      new FlowStream(this.flow, prompt, {
        policy: chunkPolicyOptions(options.streaming),
        steps: streamFlowSteps(options),
        ...(this.incremental === undefined || options.incrementalFlow === false
          ? {}
          : { incremental: this.incremental }),
        ...(options.flowCacheMB === undefined ? {} : { maxCacheBytes: options.flowCacheMB * 2 ** 20 }),
        ...(options.finalChunkAttention === undefined ? {} : { finalChunkAttention: options.finalChunkAttention }),
      });
    const drain = async (current: FlowStream): Promise<void> => {
      for (let call = current.peek(); call !== undefined; call = current.peek()) {
        credit.start(call);
        const chunk = await current.next(signal);
        if (chunk === undefined) return; // peek() said it would run: not reached
        emit(chunk.mel, chunk.index, chunk.final, false, chunk.flowMs);
        credit.done(current); // after the mel: the vocoder hears of the chunk before the LM may compete with it
      }
    };
    try {
      credit.open(job.mode === 'stream' ? newStream().tokensNeeded : Infinity);
      for await (const message of receive<TokenMessage>(tokenPort, signal)) {
        signal.throwIfAborted();
        if (message.type === 'error') throw deserializeError(message.error);
        if (message.type === 'end') break;
        if (message.type === 'segment') {
          segment = message.segment;
          finalSegment = message.final;
          credit.segment();
          post(message);
          offlineTokens = [];
          stream = job.mode === 'stream' ? newStream() : undefined;
        } else if (message.type === 'tokens') {
          credit.received(message.ids.length);
          if (stream !== undefined) {
            stream.push(message.ids);
            await drain(stream);
          } else offlineTokens.push(...message.ids);
        } else {
          // segment-end: the LM's tokens and figures travel along with the audio; then flush the segment
          post(message);
          if (stream !== undefined) {
            stream.end();
            await drain(stream);
          } else if (offlineTokens.length > 0) {
            const start = now();
            const decoded = await this.flow.decode(prompt, offlineTokens, {
              streaming: false,
              finalize: true,
              signal,
              ...(options.flowSteps === undefined ? {} : { steps: options.flowSteps }),
            });
            const { speed } = options;
            const mel = speed === undefined || speed === 1 ? decoded.mel : changeSpeed(decoded.mel, speed);
            emit(mel, 0, true, true, now() - start);
          }
        }
      }
      signal.throwIfAborted();
      post({ type: 'end', requestId });
    } catch (error) {
      post({ type: 'error', requestId, error: serializeError(signal.aborted ? signal.reason : error) });
    } finally {
      this.#requests.close(requestId);
      credit.release(); // an LM still running must not wait for a flow that has stopped reading
      tokenPort.close();
      melPort.close(); // already posted messages are still delivered
    }
  }

  /** A four-token decode without prompt (device self-test); returns the mel values. */
  async selfTest(): Promise<Float32Array> {
    const embedding = new Float32Array(this.flow.config.spkEmbedDim).fill(1);
    const prompt = { promptTokens: new Int32Array(0), promptFeat: new Float32Array(0), embedding };
    const { mel } = await this.flow.decode(prompt, [1, 2, 3, 4], { streaming: false, finalize: true });
    return mel.data;
  }

  cancel(requestId: string, reason?: unknown): void {
    this.#requests.cancel(requestId, reason);
  }

  async dispose(): Promise<void> {
    this.#requests.cancelAll();
    await Promise.all([this.flow.release(), this.incremental?.release()]);
  }
}
