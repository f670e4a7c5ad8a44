/**
 * One synthesis request across the three stages, wherever they run: the main thread creates the MessageChannels,
 * hands each stage its ends (LM → flow → vocoder → here), feeds streamed text, turns PCM messages into an async
 * iteration and fans cancellation out to every stage. A request that plays hands the vocoder a player descriptor, so
 * PCM reaches the worklet from the vocoder's thread directly. Stages are reached through {@link StageHosts}: in-process
 * objects (tests, one-realm use) or comlink remotes that transfer the ports (workers).
 */
import type { PlaybackWriterDescriptor } from '../audio/port-transport.ts';
import type { SynthesisOptions } from '../request/options.ts';
import { deserializeError, serializeError, TTSError } from '../errors.ts';
import type { FlowJob, FlowVoice } from '../stages/flow-stage.ts';
import type { LmJob } from '../stages/lm-stage.ts';
import { receive, send } from '../stages/port-queue.ts';
import type { PcmMessage, PortLike, TextMessage } from '../stages/protocol.ts';
import type { VocoderJob } from '../stages/vocoder-stage.ts';

/** The control surface of the stages (what the workers expose, minus loading). */
export interface StageHosts {
  readonly lm: {
    run(job: LmJob, tokenPort: PortLike, textPort?: PortLike): Promise<void>;
    cancel(requestId: string): Promise<void> | void;
  };
  readonly flow: {
    run(job: FlowJob, tokenPort: PortLike, melPort: PortLike): Promise<void>;
    cancel(requestId: string): Promise<void> | void;
  };
  readonly vocoder: {
    run(job: VocoderJob, melPort: PortLike, pcmPort: PortLike): Promise<void>;
    cancel(requestId: string): Promise<void> | void;
  };
}

/** A voice as the pipeline needs it. */
export interface PipelineVoice extends FlowVoice {
  readonly promptTextIds: Int32Array;
}

/** One request. */
export interface PipelineRequest {
  readonly requestId: string;
  readonly input: string | AsyncIterable<string> | Iterable<string>;
  readonly voice: PipelineVoice;
  readonly mode: 'offline' | 'stream';
  readonly seed: number;
  readonly options: SynthesisOptions;
  /** Play as well: the vocoder stage writes every chunk into this player (see `AudioPlayer.writer()`). */
  readonly playback?: PlaybackWriterDescriptor;
}

/** What a finished request leaves besides its chunks. */
export interface PipelineResult {
  /** For a request with `playback`: the end token for `AudioPlayer.drained(token)`. */
  readonly playbackEnd: number | undefined;
}

/** A PCM chunk with its provenance. */
export interface PipelineChunk {
  readonly samples: Float32Array;
  /** Text of the chunk's segment as spoken (after normalisation); '' for a text stream. */
  readonly text: string;
  readonly segment: number;
  readonly index: number;
  readonly segmentEnd: boolean;
  /** Last chunk of the request. */
  readonly last: boolean;
  readonly flowMs: number;
  readonly vocoderMs: number;
}

/** Per-segment LM figures reported at the end of each segment. */
export interface SegmentStats {
  readonly segment: number;
  readonly tokens: number;
  readonly lmMs: number;
}

/** `MessageChannel` of this realm (browsers, workers and Node ≥ 15 all have it). */
function channel(): { port1: PortLike; port2: PortLike } {
  return new MessageChannel();
}

async function pumpText(input: AsyncIterable<string> | Iterable<string>, port: PortLike, signal: AbortSignal) {
  try {
    for await (const piece of input) {
      signal.throwIfAborted();
      // non-strings are passed through; the LM stage rejects them with a clear error
      send(port, { type: 'text', piece } satisfies TextMessage);
    }
    send(port, { type: 'end' } satisfies TextMessage);
  } catch (error) {
    send(port, { type: 'error', error: serializeError(error) } satisfies TextMessage);
  }
}

/**
 * Runs one request; yields PCM chunks as the vocoder produces them. Breaking out of the loop or aborting `signal`
 * cancels the request in every stage.
 *
 * @throws the request's error (a `TTSError`, or the abort reason).
 */
export async function* runPipeline(
  hosts: StageHosts,
  request: PipelineRequest,
  signal: AbortSignal | undefined,
  onSegmentStats?: (stats: SegmentStats) => void,
): AsyncGenerator<PipelineChunk, PipelineResult, undefined> {
  const { requestId, voice, options } = request;
  const controller = new AbortController();
  const forward = (): void => {
    controller.abort(signal?.reason);
  };
  if (signal?.aborted === true) forward();
  signal?.addEventListener('abort', forward, { once: true });
  const tokens = channel();
  const mel = channel();
  const pcm = channel();
  const text = typeof request.input === 'string' ? undefined : channel();
  const results = receive<PcmMessage>(pcm.port1, controller.signal);
  const crash = (error: unknown): void => {
    results.fail(error);
  };
  const lmJob: LmJob = {
    requestId,
    ...(typeof request.input === 'string' ? { text: request.input } : {}),
    voice: { promptTextIds: voice.promptTextIds, promptTokens: voice.promptTokens },
    options: {
      seed: request.seed,
      ...pick(options, ['instruct', 'crossLingual', 'normalize', 'readNumbers', 'sampling']),
    },
  };
  const flowJob: FlowJob = {
    requestId,
    voice: { promptTokens: voice.promptTokens, promptFeat: voice.promptFeat, embedding: voice.embedding },
    mode: request.mode,
    ...(options.speed === undefined ? {} : { speed: options.speed }),
    ...(options.streaming === undefined ? {} : { streaming: options.streaming }),
    ...(options.flowSteps === undefined ? {} : { flowSteps: options.flowSteps }),
  };
  let finished = false;
  try {
    const vocoderJob: VocoderJob = {
      requestId,
      seed: request.seed,
      ...(request.playback === undefined ? {} : { playback: request.playback }),
    };
    hosts.vocoder.run(vocoderJob, mel.port2, pcm.port2).catch(crash);
    hosts.flow.run(flowJob, tokens.port2, mel.port1).catch(crash);
    hosts.lm.run(lmJob, tokens.port1, text?.port2).catch(crash);
    if (text !== undefined && typeof request.input !== 'string')
      void pumpText(request.input, text.port1, controller.signal);
    let segmentText = '';
    for await (const message of results) {
      if (message.type === 'pcm') {
        yield {
          samples: message.samples,
          text: segmentText,
          segment: message.segment,
          index: message.index,
          segmentEnd: message.segmentEnd,
          last: message.last,
          flowMs: message.flowMs,
          vocoderMs: message.vocoderMs,
        };
      } else if (message.type === 'segment') {
        segmentText = message.text; // segments run one after another, so this is the text of the next chunks
      } else if (message.type === 'segment-stats') {
        onSegmentStats?.({ segment: message.segment, tokens: message.tokens, lmMs: message.lmMs });
      } else if (message.type === 'end') {
        finished = true;
        return { playbackEnd: message.playbackEnd };
      } else {
        finished = true;
        throw deserializeError(message.error);
      }
    }
    // unreachable: the queue only ends by failing; kept so a future change cannot end a request silently
    throw new TTSError('ERR_INFERENCE', `Request ${requestId}: the PCM port ended without an end message.`);
  } finally {
    signal?.removeEventListener('abort', forward);
    if (!finished) {
      const reason =
        signal?.aborted === true
          ? (signal.reason as unknown)
          : new DOMException('The stream was closed.', 'AbortError');
      controller.abort(reason);
      await Promise.allSettled([
        Promise.resolve(hosts.lm.cancel(requestId)),
        Promise.resolve(hosts.flow.cancel(requestId)),
        Promise.resolve(hosts.vocoder.cancel(requestId)),
      ]);
    }
    pcm.port1.close();
    text?.port1.close();
  }
}

function pick<T extends object, K extends keyof T>(value: T, keys: readonly K[]): Pick<T, K> {
  const out: Partial<T> = {};
  for (const k of keys) if (value[k] !== undefined) out[k] = value[k];
  return out as Pick<T, K>;
}

/** The error a crashed worker produces for every request it had. */
export function workerCrashed(stage: string, detail: string): TTSError {
  return new TTSError('ERR_WORKER_CRASHED', `The ${stage} worker crashed: ${detail}`, { details: { stage } });
}
