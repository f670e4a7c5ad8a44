/**
 * The vocoder stage (vocoder worker by default): mel chunks in, 24 kHz PCM out. Streaming chunks go through a
 * {@link StreamingVocoder} per segment (HiFT cache + cross-fade); offline chunks are vocoded in one call. The noise
 * stream of a request is `Xoshiro128(seed + 1)`, continued across its segments — as in the one-realm engine, so both
 * produce the same samples for the same seed.
 *
 * When the job carries a playback descriptor (`speak()`), every chunk is also written straight into the player (the
 * worklet's ring buffer or its data port) from this thread, so playback never waits on the main thread; the chunk
 * is still posted on the PCM port for events and metrics.
 */
import { openPlaybackWriter, type PlaybackWriter, type PlaybackWriterDescriptor } from '../audio/port-transport.ts';
import { now } from '../base/clock.ts';
import { deserializeError, serializeError } from '../errors.ts';
import { Xoshiro128 } from '../models/lm/rng.ts';
import type { NormalSource } from '../models/vocoder/vocoder.ts';
import { StreamingVocoder, Vocoder } from '../models/vocoder/vocoder.ts';
import type { Device, Dtype } from '../base/stages.ts';
import type { ModelPackage } from '../runtime/model-package.ts';
import type { OrtModule } from '../runtime/ort.ts';
import { receive, send } from './port-queue.ts';
import type { MelMessage, PcmMessage, PortLike } from './protocol.ts';
import { RequestRegistry } from './requests.ts';

/** One request for the vocoder stage. */
export interface VocoderJob {
  readonly requestId: string;
  /** The request seed (noise = `Xoshiro128(seed + 1)`). */
  readonly seed: number;
  /**
   * Play the audio as well: a producer descriptor from `AudioPlayer.writer()` (transfer its port). Writing waits
   * for room in the player (backpressure); a `stop()` of the player ends the request with an `AbortError`.
   */
  readonly playback?: PlaybackWriterDescriptor;
}

/** HiFT for one realm. */
export class VocoderStage {
  readonly #requests = new RequestRegistry();

  private constructor(private readonly vocoder: Vocoder) {}

  static async create(
    pkg: ModelPackage,
    ort: OrtModule,
    placement: { readonly device: Device; readonly dtype: Dtype },
    signal?: AbortSignal,
  ): Promise<VocoderStage> {
    return new VocoderStage(await Vocoder.create(pkg, ort, { ...placement, ...(signal ? { signal } : {}) }));
  }

  /** Consumes mel messages from `melPort` and posts PCM messages on `pcmPort`. Resolves when the request is over. */
  async run(job: VocoderJob, melPort: PortLike, pcmPort: PortLike): Promise<void> {
    const { requestId } = job;
    const signal = this.#requests.open(requestId);
    const rng = new Xoshiro128(job.seed + 1);
    let streaming: StreamingVocoder | undefined;
    let streamingSegment = -1;
    let index = 0;
    let player: PlaybackWriter | undefined;
    try {
      if (job.playback !== undefined) player = openPlaybackWriter(job.playback);
      for await (const message of receive<MelMessage>(melPort, signal)) {
        signal.throwIfAborted();
        if (message.type === 'error') throw deserializeError(message.error);
        if (message.type === 'end') break;
        if (message.type === 'segment-end' || message.type === 'segment') {
          send(pcmPort, message satisfies PcmMessage);
          continue;
        }
        const mel = { bins: message.bins, frames: message.frames, data: message.data };
        const start = now();
        let samples: Float32Array;
        if (message.offline) {
          samples = (await this.vocoder.synthesize(mel, { rng, signal })).samples;
        } else {
          if (streaming === undefined || streamingSegment !== message.segment) {
            streaming = new StreamingVocoder(this.vocoder, rng);
            streamingSegment = message.segment;
          }
          samples = await streaming.push(mel, { finalize: message.segmentEnd, signal });
        }
        const vocoderMs = now() - start;
        if (player !== undefined && !(await player.write(samples, { signal }))) {
          throw new DOMException('Playback was stopped.', 'AbortError');
        }
        const out: PcmMessage = {
          type: 'pcm',
          requestId,
          segment: message.segment,
          index: index++,
          segmentEnd: message.segmentEnd,
          final: message.final,
          samples,
          flowMs: message.flowMs,
          vocoderMs,
        };
        send(pcmPort, out, samples);
      }
      signal.throwIfAborted();
      const end: PcmMessage = { type: 'end', requestId };
      send(pcmPort, player === undefined ? end : { ...end, playbackEnd: player.end() });
    } catch (error) {
      send(pcmPort, {
        type: 'error',
        requestId,
        error: serializeError(signal.aborted ? signal.reason : error),
      } satisfies PcmMessage);
    } finally {
      player?.close(); // what it queued plays on; the end marker, if sent, is already posted
      this.#requests.close(requestId);
      melPort.close();
      pcmPort.close(); // already posted messages are still delivered
    }
  }

  /** Four frames of a flat mel (device self-test); returns the samples. */
  async selfTest(rng: NormalSource): Promise<Float32Array> {
    const bins = this.vocoder.config.melBins;
    const mel = { bins, frames: 4, data: new Float32Array(bins * 4).fill(-4) };
    return (await this.vocoder.synthesize(mel, { rng })).samples;
  }

  cancel(requestId: string, reason?: unknown): void {
    this.#requests.cancel(requestId, reason);
  }

  async dispose(): Promise<void> {
    this.#requests.cancelAll();
    await this.vocoder.release();
  }
}
