/**
 * The playback protocol of the `'tts-playback-v1'` worklet, shared by every realm that talks to it (main thread,
 * workers, the worklet): the header slots it keeps beside the ring, its states, its options, and the messages of the
 * port transport (the fallback without cross-origin isolation). Like `ring-buffer.ts` it needs nothing but the ES
 * library, because the worklet imports it.
 */
import { RING_SLOT } from './ring-buffer.ts';

/**
 * Header slot indices. Each slot has exactly one writer, named after the arrow; everybody may read.
 *
 * Ring: `read`, `write`, `magic`, `slots` (see {@link RING_SLOT}).
 *
 * Playback (used by the `'tts-playback-v1'` worklet, see {@link PLAYBACK_STATES}):
 * - `state`, `underruns`, `framesPlayed`, `quanta`, `events`, `stopAck`, `drained` ← worklet;
 * - `pause`, `stop`, `dispose` ← main thread (the player);
 * - `ended`, `writerEpoch` ← producer.
 *
 * `framesPlayed` and `quanta` are 32-bit counters that wrap (read them with `>>> 0`: 49 h of 24 kHz audio).
 */
export const SLOT = {
  ...RING_SLOT,
  // playback slots, from RING_SLOTS_END on
  /** Current {@link PlaybackStateCode}. */
  state: 4,
  /** Number of underruns (the ring ran dry while playing, before the end of the stream). */
  underruns: 5,
  /** Source frames taken from the ring and played (silence is not counted). */
  framesPlayed: 6,
  /** Render quanta processed (proves the processor runs, even while silent). */
  quanta: 7,
  /** Bumped and `Atomics.notify`-ed by the worklet on every state transition (waitable). */
  events: 8,
  /** 1 while the main thread asks for a pause. */
  pause: 9,
  /** Stop requests; each increment flushes the ring and invalidates producers opened before it. */
  stop: 10,
  /** The last stop request the worklet has carried out. */
  stopAck: 11,
  /** 1 once the player is disposed: the processor returns `false` and is collected. */
  dispose: 12,
  /** Number of `end()` calls: the end token of the most recent stream end. */
  ended: 13,
  /** The end token the worklet last played out completely (or flushed by a stop). */
  drained: 14,
  /** The `stop` count a producer saw when it opened; data of an older epoch is discarded, never played. */
  writerEpoch: 15,
} as const;

/**
 * Playback states reported by the worklet, by numeric code (index = code).
 *
 * - `idle`: nothing to play (start, after a stream drained, after a stop);
 * - `buffering`: waiting for the pre-roll (also after an underrun);
 * - `playing`: samples flow to the output;
 * - `paused`: paused by the main thread; nothing is consumed.
 */
export const PLAYBACK_STATES = ['idle', 'buffering', 'playing', 'paused'] as const;
/** One of {@link PLAYBACK_STATES}. */
export type PlaybackState = (typeof PLAYBACK_STATES)[number];
/** Numeric code of a {@link PlaybackState} as stored in `header[SLOT.state]`: its index in {@link PLAYBACK_STATES}. */
export type PlaybackStateCode = 0 | 1 | 2 | 3;
/** Code of `'idle'`. */
export const STATE_IDLE = 0 satisfies PlaybackStateCode;
/** Code of `'buffering'`. */
export const STATE_BUFFERING = 1 satisfies PlaybackStateCode;
/** Code of `'playing'`. */
export const STATE_PLAYING = 2 satisfies PlaybackStateCode;
/** Code of `'paused'`. */
export const STATE_PAUSED = 3 satisfies PlaybackStateCode;

/** Registered name of the playback processor. A protocol change is a rename (house style §3). */
export const PROCESSOR_NAME = 'tts-playback-v1';

/** Worklet-side configuration passed as `processorOptions` (validated by the processor constructor). */
export interface PlaybackProcessorOptions {
  /** `'sab'`: read from the ring in `buffer`; `'port'`: receive chunks over attached `MessagePort`s. */
  readonly transport: 'sab' | 'port';
  /** The ring (transport `'sab'` only). */
  readonly buffer?: SharedArrayBuffer;
  /** Sample rate of the written audio; the processor resamples linearly when it differs from the context's. */
  readonly sourceRate: number;
  /** Source frames that must be buffered before playback starts (or restarts after an underrun). */
  readonly prerollFrames: number;
  /** Length of the fade-out on underrun/pause/stop and of the fade-in when resuming, in output frames (0 = none). */
  readonly fadeFrames: number;
  /** Maximum number of queued chunks (transport `'port'` only). */
  readonly queueSlots?: number;
}

/**
 * Messages of the port transport (the fallback without cross-origin isolation).
 *
 * Data port (producer ⇄ worklet, one `MessageChannel` per producer, attached through the node's port):
 * - producer → worklet: `chunk` (its `data` buffer transferred; only the first `length` frames count), `end`, `sync`;
 * - worklet → producer: `ack` (the consumed chunk's buffer transferred back for reuse), `synced`, `stopped`
 *   (the player stopped: the producer is closed, its later messages are dropped).
 *
 * Control (main thread ⇄ worklet, over `AudioWorkletNode.port`):
 * - main → worklet: `attach` (a data port, transferred), `pause`, `stop`, `status?`, `dispose`;
 * - worklet → main: `status` (on every state transition and in reply to `status?`).
 */
export type DataMessage =
  | { readonly t: 'chunk'; readonly data: Float32Array; readonly length: number }
  | { readonly t: 'end'; readonly token: number }
  | { readonly t: 'sync'; readonly id: number };

/** Messages the worklet sends back on a data port. See {@link DataMessage}. */
export type DataReply =
  | { readonly t: 'ack'; readonly data: Float32Array; readonly frames: number }
  | { readonly t: 'synced'; readonly id: number }
  | { readonly t: 'stopped' };

/** Counters of the playback worklet (header slots with the SAB transport, status messages with the port one). */
export interface PlaybackCounters {
  /** Underruns so far (the queue ran dry while playing, before the end of a stream). */
  readonly underruns: number;
  /** Source frames played so far. */
  readonly framesPlayed: number;
  /** Render quanta processed so far (advances while silent too). */
  readonly quanta: number;
  /** Source frames queued and not yet played. */
  readonly bufferedFrames: number;
  /** Latest end token received by the worklet. */
  readonly ended: number;
  /** Latest end token played out completely (or flushed by a stop). */
  readonly drained: number;
  /** Latest stop request carried out. */
  readonly stopAck: number;
}

/** Counters and state as the worklet reports them (port transport); the SAB transport keeps them in the header. */
export interface StatusMessage extends PlaybackCounters {
  readonly t: 'status';
  /** Reply id of a `status?` request, or 0 for a transition report. */
  readonly reply: number;
  readonly state: PlaybackStateCode;
  /** Chunks dropped because the queue was full (a producer ignored backpressure). */
  readonly overflows: number;
}

/** Control messages from the main thread to the worklet (port transport). See {@link DataMessage}. */
export type ControlMessage =
  | { readonly t: 'attach'; readonly port: unknown }
  | { readonly t: 'pause'; readonly paused: boolean }
  | { readonly t: 'stop'; readonly seq: number }
  | { readonly t: 'status?'; readonly id: number }
  | { readonly t: 'dispose' };

/** State and counters of the player, as the worklet reports them. */
export interface PlaybackStatus extends PlaybackCounters {
  readonly state: PlaybackState;
}
