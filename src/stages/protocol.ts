/**
 * Data-plane messages between the stages (house style §4: comlink carries control calls only; tokens, mel and PCM
 * travel over MessagePorts with transferred buffers, so LM decoding overlaps flow and vocoding).
 *
 *   main ──text──▶ LM stage ──tokens──▶ flow stage ──mel──▶ vocoder stage ──pcm──▶ main
 *                                                                          └──pcm──▶ worklet (speak: ring / data port)
 *
 * Every message carries the request id; errors travel as `SerializedError` so they are rebuilt as `TTSError`s.
 */
import type { SerializedError } from '../errors.ts';

/** Text pieces for bistream requests (main → LM stage). */
export type TextMessage =
  | { readonly type: 'text'; readonly piece: string }
  | { readonly type: 'end' }
  | { readonly type: 'error'; readonly error: SerializedError };

/** Speech tokens (LM stage → flow stage). */
export type TokenMessage =
  | {
      readonly type: 'segment';
      readonly requestId: string;
      readonly segment: number;
      readonly text: string;
      /** The request's last segment (a text stream has only one), so its last chunk can say so without delay. */
      readonly last: boolean;
    }
  | { readonly type: 'tokens'; readonly requestId: string; readonly segment: number; readonly ids: Int32Array }
  | {
      readonly type: 'segment-end';
      readonly requestId: string;
      readonly segment: number;
      readonly tokens: number;
      readonly lmMs: number;
    }
  | { readonly type: 'end'; readonly requestId: string }
  | { readonly type: 'error'; readonly requestId: string; readonly error: SerializedError };

/** Mel chunks (flow stage → vocoder stage); `data` is channel-major `[bins][frames]`. */
export type MelMessage =
  | {
      readonly type: 'mel';
      readonly requestId: string;
      readonly segment: number;
      readonly index: number;
      /** Last chunk of its segment. */
      readonly final: boolean;
      /** Last chunk of the request (`final` in the request's last segment). */
      readonly last: boolean;
      /** Offline chunk (one whole segment, vocoded in one call) or a streaming chunk (HiFT cache + cross-fade). */
      readonly offline: boolean;
      readonly bins: number;
      readonly frames: number;
      readonly data: Float32Array;
      readonly flowMs: number;
    }
  | {
      /** A segment starts: its text as spoken (after normalisation), forwarded so chunks can say what they say. */
      readonly type: 'segment';
      readonly requestId: string;
      readonly segment: number;
      readonly text: string;
    }
  | {
      readonly type: 'segment-stats';
      readonly requestId: string;
      readonly segment: number;
      readonly tokens: number;
      readonly lmMs: number;
    }
  | { readonly type: 'end'; readonly requestId: string }
  | { readonly type: 'error'; readonly requestId: string; readonly error: SerializedError };

/** PCM chunks (vocoder stage → main thread). */
export type PcmMessage =
  | {
      readonly type: 'pcm';
      readonly requestId: string;
      readonly segment: number;
      readonly index: number;
      readonly segmentEnd: boolean;
      /** Last chunk of the request. */
      readonly last: boolean;
      readonly samples: Float32Array;
      readonly flowMs: number;
      readonly vocoderMs: number;
    }
  | {
      /** A segment starts: its text as spoken (after normalisation), forwarded so chunks can say what they say. */
      readonly type: 'segment';
      readonly requestId: string;
      readonly segment: number;
      readonly text: string;
    }
  | {
      readonly type: 'segment-stats';
      readonly requestId: string;
      readonly segment: number;
      readonly tokens: number;
      readonly lmMs: number;
    }
  | {
      readonly type: 'end';
      readonly requestId: string;
      /** When the request also played: the end token to wait for with `AudioPlayer.drained(token)`. */
      readonly playbackEnd?: number;
    }
  | { readonly type: 'error'; readonly requestId: string; readonly error: SerializedError };

/** The minimal MessagePort surface the stages use (real ports in workers, `MessageChannel` in Node tests). */
export interface PortLike {
  postMessage(message: unknown, transfer?: Transferable[]): void;
  onmessage: ((event: MessageEvent) => void) | null;
  close(): void;
  start?(): void;
}
