/**
 * Data-plane messages between the stages (house style §4: comlink carries control calls only; tokens, mel and PCM
 * travel over MessagePorts with transferred buffers, so LM decoding overlaps flow and vocoding).
 *
 *   main ──text──▶ LM stage ──tokens──▶ flow stage ──mel──▶ vocoder stage ──pcm──▶ main
 *                           ◀──credit──
 *                                                                          └──pcm──▶ worklet (speak: ring / data port)
 *
 * One envelope: every message between stages carries the request id, the segment messages travel unchanged from the
 * LM to the main thread, and errors travel as `SerializedError` so they are rebuilt as `TTSError`s. Names: `final`
 * is the request's last chunk, `segmentEnd` the last chunk of a segment.
 */
import type { SerializedError } from '../errors.ts';

/** Text pieces for bistream requests (main → LM stage). */
export type TextMessage =
  | { readonly type: 'text'; readonly piece: string }
  | { readonly type: 'end' }
  | { readonly type: 'error'; readonly error: SerializedError };

/** Fields every stage-to-stage message carries. */
interface Envelope {
  readonly requestId: string;
}

/** A segment starts: its text as spoken (after normalisation), forwarded so chunks can say what they say. */
export interface SegmentStart extends Envelope {
  readonly type: 'segment';
  readonly segment: number;
  readonly text: string;
  /** The request's last segment (a text stream has only one), so its last chunk can say so without delay. */
  readonly final: boolean;
}

/** A segment's LM work is done: its speech tokens and LM time, forwarded to the main thread for the metrics. */
export interface SegmentEnd extends Envelope {
  readonly type: 'segment-end';
  readonly segment: number;
  readonly ids: Int32Array;
  readonly lmMs: number;
}

/** The end of a request's messages on a port, or its failure. */
type Ending =
  (Envelope & { readonly type: 'end' }) | (Envelope & { readonly type: 'error'; readonly error: SerializedError });

/** Speech tokens (LM stage → flow stage). */
export type TokenMessage =
  | SegmentStart
  | (Envelope & { readonly type: 'tokens'; readonly segment: number; readonly ids: Int32Array })
  | SegmentEnd
  | Ending;

/**
 * The flow's ack (flow stage → LM stage, back over the token port) when the request is paced (`schedule`): it has
 * taken `consumed` of the request's tokens into its calls, and the LM may have sent up to `limit` tokens before its
 * next LM call. Counts are request totals (all segments), `limit` only grows; `Infinity` releases the LM (offline
 * requests, a flow that has stopped reading). See `lm-credit.ts` and `token-gate.ts`.
 */
export interface TokenCredit extends Envelope {
  readonly type: 'credit';
  readonly consumed: number;
  readonly limit: number;
}

/** Mel chunks (flow stage → vocoder stage); `data` is channel-major `[bins][frames]`. */
export type MelMessage =
  | (Envelope & {
      readonly type: 'mel';
      readonly segment: number;
      readonly index: number;
      readonly segmentEnd: boolean;
      readonly final: boolean;
      /** Offline chunk (one whole segment, vocoded in one call) or a streaming chunk (HiFT cache + cross-fade). */
      readonly offline: boolean;
      readonly bins: number;
      readonly frames: number;
      readonly data: Float32Array;
      readonly flowMs: number;
    })
  | SegmentStart
  | SegmentEnd
  | Ending;

/** PCM chunks (vocoder stage → main thread). */
export type PcmMessage =
  | (Envelope & {
      readonly type: 'pcm';
      readonly segment: number;
      readonly index: number;
      readonly segmentEnd: boolean;
      readonly final: boolean;
      readonly samples: Float32Array;
      readonly flowMs: number;
      readonly vocoderMs: number;
    })
  | SegmentStart
  | SegmentEnd
  | (Envelope & {
      readonly type: 'end';
      /** When the request also played: the end token to wait for with `AudioPlayer.drained(token)`. */
      readonly playbackEnd?: number;
    })
  | (Envelope & { readonly type: 'error'; readonly error: SerializedError });

/** The minimal MessagePort surface the stages use (real ports in workers, `MessageChannel` in Node tests). */
export interface PortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
  close(): void;
  start?(): void;
}
