/**
 * The one orchestrator: a synthesis request across the three stages, wherever they run. The Node `Engine` runs it
 * over in-process stages, `CosyVoice` over workers (plus playback). It creates the MessageChannels, hands each stage
 * its ends (LM → flow → vocoder → here), feeds streamed text, turns PCM messages into numbered {@link AudioChunk}s,
 * measures the request and fans cancellation out to every stage. A request that plays hands the vocoder a player
 * descriptor, so PCM reaches the worklet from the vocoder's thread directly.
 */
import type { PlaybackWriterDescriptor } from '../audio/port-transport.ts';
import { deserializeError, serializeError, TTSError } from '../errors.ts';
import type { VoiceProfile } from '../models/voice/voice-profile.ts';
import type { AudioChunk } from '../request/chunks.ts';
import { ChunkCounter } from '../request/chunks.ts';
import type { RequestMetrics } from '../request/metrics.ts';
import { MetricsClock } from '../request/metrics.ts';
import type { RequestMode, SynthesisOptions } from '../request/options.ts';
import { jobOptions } from '../request/options.ts';
import type { SegmentResult } from '../request/result.ts';
import type { TextInput } from '../request/text-input.ts';
import type { FlowJob } from './flow-stage.ts';
import type { LmJob } from './lm-stage.ts';
import { receive, send } from './port-queue.ts';
import type { PcmMessage, PortLike, TextMessage } from './protocol.ts';
import type { VocoderJob } from './vocoder-stage.ts';

/** The control surface of the stages (what the workers expose, minus loading); the stage objects themselves in Node. */
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

/** One request (options already validated, voice already checked against the model). */
export interface PipelineRequest {
  readonly requestId: string;
  readonly input: TextInput;
  readonly voice: VoiceProfile;
  readonly mode: RequestMode;
  readonly seed: number;
  /** The request's options; `options.signal` cancels it. */
  readonly options: SynthesisOptions;
  readonly sampleRate: number;
  /** Play as well: the vocoder stage writes every chunk into this player (see `AudioPlayer.writer()`). */
  readonly playback?: PlaybackWriterDescriptor;
}

/** What a finished request leaves besides its chunks. */
export interface PipelineResult {
  readonly metrics: RequestMetrics;
  readonly segments: readonly SegmentResult[];
  /** For a request with `playback`: the end token for `AudioPlayer.drained(token)`. */
  readonly playbackEnd: number | undefined;
}

/** Hooks for live figures (the browser API turns them into events). */
export interface PipelineObserver {
  readonly onFirstAudio?: (ttfaMs: number) => void;
  /** Every chunk, with the wall time so far per second of audio so far. */
  readonly onChunk?: (chunk: AudioChunk, rtf: number) => void;
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
 * Runs one request; yields its chunks as the vocoder produces them (the last one marked `final`) and returns its
 * metrics and segments. Breaking out of the loop or aborting `options.signal` cancels the request in every stage.
 *
 * @throws the request's error (a `TTSError`, or the abort reason).
 */
export async function* runPipeline(
  hosts: StageHosts,
  request: PipelineRequest,
  observer: PipelineObserver = {},
): AsyncGenerator<AudioChunk, PipelineResult, undefined> {
  const { requestId, voice, options } = request;
  const controller = new AbortController();
  // the caller's signal, or the pipeline's own abort when the consumer stops iterating
  const signal =
    options.signal === undefined ? controller.signal : AbortSignal.any([options.signal, controller.signal]);
  const clock = new MetricsClock(requestId, request.seed);
  const counter = new ChunkCounter(request.sampleRate);
  const segments: SegmentResult[] = [];
  const tokens = channel();
  const mel = channel();
  const pcm = channel();
  const text = typeof request.input === 'string' ? undefined : channel();
  const results = receive<PcmMessage>(pcm.port1, signal);
  const crash = (error: unknown): void => {
    results.fail(error);
  };
  const shared = jobOptions(options, request.seed);
  const lmJob: LmJob = {
    requestId,
    ...(typeof request.input === 'string' ? { text: request.input } : {}),
    voice: { promptTextIds: voice.promptTextIds, promptTokens: voice.promptTokens },
    options: shared,
  };
  const flowJob: FlowJob = {
    requestId,
    voice: { promptTokens: voice.promptTokens, promptFeat: voice.promptFeat, embedding: voice.embedding },
    mode: request.mode,
    options: shared,
  };
  const vocoderJob: VocoderJob = {
    requestId,
    seed: request.seed,
    ...(request.playback === undefined ? {} : { playback: request.playback }),
  };
  let finished = false;
  try {
    hosts.vocoder.run(vocoderJob, mel.port2, pcm.port2).catch(crash);
    hosts.flow.run(flowJob, tokens.port2, mel.port1).catch(crash);
    hosts.lm.run(lmJob, tokens.port1, text?.port2).catch(crash);
    if (text !== undefined && typeof request.input !== 'string') void pumpText(request.input, text.port1, signal);
    let segmentText = '';
    for await (const message of results) {
      if (message.type === 'pcm') {
        const ttfa = clock.audio(message.samples.length, message.flowMs, message.vocoderMs);
        if (ttfa !== undefined) observer.onFirstAudio?.(ttfa);
        const chunk = counter.next({
          samples: message.samples,
          segment: message.segment,
          text: segmentText,
          segmentEnd: message.segmentEnd,
          final: message.final,
        });
        observer.onChunk?.(chunk, clock.rtfSoFar(counter.samples / request.sampleRate));
        yield chunk;
      } else if (message.type === 'segment') {
        segmentText = message.text; // segments run one after another, so this is the text of the next chunks
      } else if (message.type === 'segment-end') {
        clock.lm(message.ids.length, message.lmMs);
        segments.push({ text: segmentText, tokens: message.ids });
      } else if (message.type === 'end') {
        finished = true;
        const closing = counter.closing();
        if (closing !== undefined) {
          observer.onChunk?.(closing, clock.rtfSoFar(counter.samples / request.sampleRate));
          yield closing;
        }
        return {
          metrics: clock.metrics(counter.samples / request.sampleRate),
          segments,
          playbackEnd: message.playbackEnd,
        };
      } else {
        finished = true;
        throw deserializeError(message.error);
      }
    }
    // unreachable: the queue only ends by failing; kept so a future change cannot end a request silently
    throw new TTSError('ERR_INFERENCE', `Request ${requestId}: the PCM port ended without an end message.`);
  } finally {
    if (!finished) {
      controller.abort(
        options.signal?.aborted === true
          ? (options.signal.reason as unknown)
          : new DOMException('The stream was closed.', 'AbortError'),
      );
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
