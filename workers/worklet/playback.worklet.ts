/**
 * The playback processor `'tts-playback-v1'`: streams mono PCM written by a producer (a worker, or the main thread)
 * to the audio output.
 *
 * Transports (chosen by the player, see `src/audio/player.ts`):
 * - `'sab'`: an SPSC {@link RingBuffer} in a `SharedArrayBuffer` (cross-origin isolated pages). Control (pause,
 *   stop, dispose) and reports (state, counters) go through the ring's Int32 header; `process()` posts nothing.
 * - `'port'`: chunks transferred over `MessagePort`s into a preallocated chunk queue (the fallback without
 *   isolation). Control arrives as messages; state transitions are reported with a `status` message, and each
 *   fully played chunk's buffer is transferred back to its producer (credit for backpressure, buffer reuse). Those
 *   two posts are the only allocations of this mode and happen per chunk or per transition, never per quantum.
 *
 * Behaviour:
 * - pre-roll: after idle or an underrun, output starts only once `prerollFrames` are buffered (or the stream has
 *   ended: short utterances play at once);
 * - underrun (ran dry before the end): the last output sample ramps linearly to zero over `fadeFrames`, then
 *   silence; the count goes up and playback goes back to buffering; the next start fades in over `fadeFrames`;
 * - the output is always fully written: silence is zeros, stale samples are never replayed;
 * - pause fades out and consumes nothing; resume re-buffers and fades in; stop fades out and flushes everything
 *   written so far (and, with the ring, anything a producer opened before the stop still writes);
 * - the end of a stream (`end()` of a producer) plays out what is left, then reports it drained.
 *
 * Real-time discipline (house style §1.5): `process()` allocates nothing, never logs and never throws; all
 * validation happens in the constructor, whose exceptions surface as the node's `processorerror`.
 *
 * This file is bundled by `scripts/build-worklet.ts` into a self-contained script (no imports left).
 */
import {
  PROCESSOR_NAME,
  SLOT,
  STATE_BUFFERING as BUFFERING,
  STATE_IDLE as IDLE,
  STATE_PAUSED as PAUSED,
  STATE_PLAYING as PLAYING,
  type DataReply,
  type PlaybackProcessorOptions,
  type PlaybackStateCode,
} from '../../src/audio/playback-protocol.ts';
import { RingBuffer } from '../../src/audio/ring-buffer.ts';

// Slots of the processor's Float64Array state.
/** Last output sample (the start of a fade-out). */
const F_LAST = 0;
/** Value the running fade-out ramps down from. */
const F_FADE_FROM = 1;
/** Linear interpolator (only when the context rate differs from the source rate): frames x[m], x[m+1], phase. */
const F_A = 2;
const F_B = 3;
const F_FRAC = 4;
const F_SIZE = 5;

/** Largest render quantum we size scratch space for (the spec's default is 128; `renderSizeHint` may raise it). */
const MAX_QUANTUM = 4096;

/** Mutable twins of the protocol messages, allocated once and reused for every post. */
interface AckMessage {
  t: 'ack';
  data: Float32Array | null;
  frames: number;
}
interface StatusMessageMut {
  t: 'status';
  reply: number;
  state: PlaybackStateCode;
  underruns: number;
  framesPlayed: number;
  quanta: number;
  bufferedFrames: number;
  ended: number;
  drained: number;
  stopAck: number;
  overflows: number;
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

function nonNegativeInteger(value: unknown, name: string): number {
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) {
    throw new TypeError(`${PROCESSOR_NAME}: processorOptions.${name} must be a non-negative integer`);
  }
  return value;
}

/**
 * Fixed-capacity FIFO of transferred chunks (port transport). Enqueue happens in `onmessage`, reads in `process()`;
 * both run on the audio thread, never concurrently.
 */
class ChunkQueue {
  private readonly chunks: (Float32Array | null)[];
  private readonly lengths: Int32Array;
  private readonly ports: (MessagePort | null)[];
  private head = 0;
  private count = 0;
  private offset = 0;
  /** Queued frames not yet read. */
  frames = 0;
  private readonly ack: AckMessage = { t: 'ack', data: null, frames: 0 };
  private readonly transfer: Transferable[];

  constructor(slots: number) {
    this.chunks = new Array<Float32Array | null>(slots).fill(null);
    this.ports = new Array<MessagePort | null>(slots).fill(null);
    this.lengths = new Int32Array(slots);
    this.transfer = [new ArrayBuffer(0)];
  }

  /** Enqueues a chunk; false when all slots are taken. */
  push(data: Float32Array, length: number, port: MessagePort): boolean {
    const slots = this.chunks.length;
    if (this.count === slots) return false;
    const tail = (this.head + this.count) % slots;
    this.chunks[tail] = data;
    this.lengths[tail] = length;
    this.ports[tail] = port;
    this.count++;
    this.frames += length;
    return true;
  }

  /** Copies up to `length` frames into `target` at `offset`; returns the count. Real-time safe. */
  read(target: Float32Array, offset: number, length: number): number {
    let done = 0;
    while (done < length && this.count > 0) {
      const chunk = this.chunks[this.head];
      const chunkLength = this.lengths[this.head] ?? 0;
      if (chunk === null || chunk === undefined) break;
      const left = chunkLength - this.offset;
      const take = left < length - done ? left : length - done;
      for (let i = 0; i < take; i++) target[offset + done + i] = chunk[this.offset + i] as number;
      done += take;
      this.offset += take;
      this.frames -= take;
      if (this.offset >= chunkLength) this.release(true);
    }
    return done;
  }

  /** Drops every queued chunk (without acknowledging: their ports are being closed). */
  clear(): void {
    while (this.count > 0) this.release(false);
    this.frames = 0;
  }

  private release(acknowledge: boolean): void {
    const chunk = this.chunks[this.head] ?? null;
    const port = this.ports[this.head] ?? null;
    const frames = this.lengths[this.head] ?? 0;
    this.chunks[this.head] = null;
    this.ports[this.head] = null;
    this.head = (this.head + 1) % this.chunks.length;
    this.count--;
    this.offset = 0;
    if (acknowledge && chunk !== null && port !== null) {
      this.ack.data = chunk;
      this.ack.frames = frames;
      this.transfer[0] = chunk.buffer as ArrayBuffer;
      try {
        port.postMessage(this.ack, this.transfer);
      } catch {
        // A closed or detached port: the producer is gone, nothing to credit.
      }
      this.ack.data = null;
    }
  }
}

class PlaybackProcessor extends AudioWorkletProcessor implements AudioWorkletProcessorImpl {
  // Configuration (fixed at construction).
  private readonly ring: RingBuffer | null;
  private readonly header: Int32Array | null;
  private readonly queue: ChunkQueue | null;
  private readonly ratio: number;
  private readonly resampling: boolean;
  private readonly preroll: number;
  private readonly fade: number;
  private readonly minStart: number;
  private readonly scratch: Float32Array;
  private readonly dataPorts: MessagePort[] = [];
  private readonly status: StatusMessageMut;

  // Control inputs (from the header each quantum, or from messages).
  private pauseRequested = false;
  private stopSeq = 0;
  private disposed = false;
  private endToken = 0;

  // State and counters.
  private state: PlaybackStateCode = IDLE;
  private stateBeforePause: PlaybackStateCode = IDLE;
  private stopAck = 0;
  private drainedToken = 0;
  private underruns = 0;
  private framesPlayed = 0;
  private quanta = 0;
  private overflows = 0;
  private resumeFade = false;
  private fadeInPos = 0;
  private fadeLeft = 0;
  /**
   * Floating-point state lives in a typed array: a double stored into an object field or passed to a call can be
   * boxed as a fresh heap number by the JIT, while a Float64Array element store never allocates.
   */
  private readonly f = new Float64Array(F_SIZE);
  /** The interpolator holds x[m] and x[m+1] of the current stream (false after a (re)start). */
  private primed = false;

  constructor(options?: { processorOptions?: unknown }) {
    super();
    const o = options?.processorOptions;
    if (!isRecord(o)) throw new TypeError(`${PROCESSOR_NAME}: processorOptions are required`);
    const config = o as Partial<Record<keyof PlaybackProcessorOptions, unknown>>;
    const sourceRate = config.sourceRate;
    if (typeof sourceRate !== 'number' || !(sourceRate > 0) || !Number.isFinite(sourceRate)) {
      throw new TypeError(`${PROCESSOR_NAME}: processorOptions.sourceRate must be a positive number`);
    }
    this.preroll = nonNegativeInteger(config.prerollFrames, 'prerollFrames');
    this.fade = nonNegativeInteger(config.fadeFrames, 'fadeFrames');
    this.ratio = sourceRate / sampleRate;
    this.resampling = Math.abs(this.ratio - 1) > 1e-9;
    this.minStart = this.resampling ? 2 : 1;
    this.scratch = new Float32Array(this.resampling ? Math.ceil(this.ratio * MAX_QUANTUM) + 2 : 2);
    this.fadeInPos = this.fade;
    if (config.transport === 'sab') {
      if (!(config.buffer instanceof SharedArrayBuffer)) {
        throw new TypeError(`${PROCESSOR_NAME}: processorOptions.buffer must be a SharedArrayBuffer for 'sab'`);
      }
      this.ring = new RingBuffer(config.buffer);
      this.header = this.ring.header;
      this.queue = null;
      // Resume from whatever the header says (a player re-creating its node keeps counters monotonic).
      this.stopAck = Atomics.load(this.header, SLOT.stopAck);
      this.drainedToken = Atomics.load(this.header, SLOT.drained);
      this.underruns = Atomics.load(this.header, SLOT.underruns);
    } else if (config.transport === 'port') {
      const slots = config.queueSlots === undefined ? 256 : nonNegativeInteger(config.queueSlots, 'queueSlots');
      if (slots < 1) throw new TypeError(`${PROCESSOR_NAME}: processorOptions.queueSlots must be at least 1`);
      this.ring = null;
      this.header = null;
      this.queue = new ChunkQueue(slots);
    } else {
      throw new TypeError(`${PROCESSOR_NAME}: processorOptions.transport must be 'sab' or 'port'`);
    }
    this.status = {
      t: 'status',
      reply: 0,
      state: IDLE,
      underruns: 0,
      framesPlayed: 0,
      quanta: 0,
      bufferedFrames: 0,
      ended: 0,
      drained: 0,
      stopAck: 0,
      overflows: 0,
    };
    this.port.onmessage = (event: MessageEvent<unknown>) => {
      this.onControl(event.data);
    };
  }

  process(_inputs: Float32Array[][], outputs: Float32Array[][]): boolean {
    const header = this.header;
    if (header !== null) {
      this.pauseRequested = Atomics.load(header, SLOT.pause) !== 0;
      this.stopSeq = Atomics.load(header, SLOT.stop);
      this.endToken = Atomics.load(header, SLOT.ended);
      if (Atomics.load(header, SLOT.dispose) !== 0) this.disposed = true;
    }
    if (this.disposed) return false;
    const output = outputs[0];
    if (output === undefined) return true;
    const out = output[0];
    if (out === undefined) return true;
    const n = out.length;
    this.quanta++;
    let changed = false;
    let consumed = false;

    if (this.stopSeq !== this.stopAck) {
      this.discard();
      this.stopAck = this.stopSeq;
      this.drainedToken = this.endToken;
      this.state = IDLE;
      this.resumeFade = false;
      this.fadeInPos = this.fade;
      this.f[F_FADE_FROM] = this.f[F_LAST] as number;
      this.fadeLeft = this.f[F_LAST] === 0 ? 0 : this.fade;
      changed = true;
      consumed = true;
    }
    // Data of a producer opened before the latest stop is stale: drop it, never play it.
    if (header !== null && Atomics.load(header, SLOT.writerEpoch) !== this.stopSeq && this.discard() > 0) {
      consumed = true;
    }

    if (this.pauseRequested) {
      if (this.state !== PAUSED) {
        if (this.state === PLAYING) this.resumeFade = true;
        this.stateBeforePause = this.state;
        this.state = PAUSED;
        this.f[F_FADE_FROM] = this.f[F_LAST] as number;
        this.fadeLeft = this.f[F_LAST] === 0 ? 0 : this.fade;
        changed = true;
      }
    } else if (this.state === PAUSED) {
      this.state = this.stateBeforePause === IDLE ? IDLE : BUFFERING;
      changed = true;
    }

    if ((this.state === IDLE || this.state === BUFFERING) && this.fadeLeft === 0) {
      const available = this.available();
      const endPending = this.endToken !== this.drainedToken;
      if (available >= this.minStart && (available >= this.preroll || endPending)) {
        this.state = PLAYING;
        this.fadeInPos = this.resumeFade ? 0 : this.fade;
        this.resumeFade = false;
        this.primed = false;
        changed = true;
        consumed = true;
      } else if (endPending) {
        // Ended with less than one playable frame left (also: ran dry, then the end mark came). The stream is
        // over, so the fade-in owed to its underrun is dropped: the next stream starts unfaded, as every stream does.
        this.discard();
        this.drainedToken = this.endToken;
        this.state = IDLE;
        this.resumeFade = false;
        changed = true;
      } else if (available > 0 && this.state === IDLE) {
        this.state = BUFFERING;
        changed = true;
      }
    }

    let produced = 0;
    if (this.state === PLAYING) {
      produced = this.resampling ? this.renderResampled(out, n) : this.renderDirect(out, n);
      consumed = true;
      if (produced < n) {
        // Fade out from the last sample actually output.
        const from = produced > 0 ? (out[produced - 1] as number) : (this.f[F_LAST] as number);
        this.f[F_FADE_FROM] = from;
        this.fadeLeft = from === 0 ? 0 : this.fade;
        if (this.endToken !== this.drainedToken) {
          this.drainedToken = this.endToken;
          this.state = IDLE;
        } else {
          this.underruns++;
          this.state = BUFFERING;
          this.resumeFade = true;
        }
        changed = true;
      }
    }

    // Everything not produced from data: the rest of a fade-out ramp, then silence (never stale samples).
    const fade = this.fade;
    const fadeFrom = this.f[F_FADE_FROM] as number;
    for (let i = produced; i < n; i++) {
      if (this.fadeLeft > 0) {
        out[i] = fadeFrom * ((this.fadeLeft - 1) / fade);
        this.fadeLeft--;
      } else {
        out[i] = 0;
      }
    }
    this.f[F_LAST] = out[n - 1] as number;
    for (let c = 1; c < output.length; c++) output[c]?.set(out);

    if (header !== null) {
      Atomics.store(header, SLOT.framesPlayed, this.framesPlayed | 0);
      Atomics.store(header, SLOT.quanta, this.quanta | 0);
      if (consumed) Atomics.notify(header, SLOT.read);
      if (changed) {
        Atomics.store(header, SLOT.state, this.state);
        Atomics.store(header, SLOT.underruns, this.underruns);
        Atomics.store(header, SLOT.drained, this.drainedToken);
        Atomics.store(header, SLOT.stopAck, this.stopAck);
        Atomics.add(header, SLOT.events, 1);
        Atomics.notify(header, SLOT.events);
      }
    } else if (changed) {
      this.postStatus(0);
    }
    return true;
  }

  private available(): number {
    return this.ring !== null ? this.ring.availableRead() : this.queue !== null ? this.queue.frames : 0;
  }

  private read(target: Float32Array, offset: number, length: number): number {
    if (this.ring !== null) return this.ring.pop(target, offset, length);
    return this.queue !== null ? this.queue.read(target, offset, length) : 0;
  }

  private discard(): number {
    if (this.ring !== null) return this.ring.skip();
    if (this.queue === null) return 0;
    const frames = this.queue.frames;
    this.queue.clear();
    return frames;
  }

  private renderDirect(out: Float32Array, n: number): number {
    const got = this.read(out, 0, n);
    this.framesPlayed += got;
    const fade = this.fade;
    for (let i = 0; i < got && this.fadeInPos < fade; i++) {
      out[i] = (out[i] as number) * ((this.fadeInPos + 1) / fade);
      this.fadeInPos++;
    }
    return got;
  }

  /** Linear interpolation at `ratio` source frames per output frame, with a persistent phase across quanta. */
  private renderResampled(out: Float32Array, n: number): number {
    const ratio = this.ratio;
    const scratch = this.scratch;
    const f = this.f;
    // A (re)started stream first loads x[0] and x[1]; done here, in the hot function, rather than in a rarely
    // called helper that would run unoptimised (and box doubles) on every restart.
    const prime = this.primed ? 0 : 2;
    let frac = prime === 2 ? 0 : (f[F_FRAC] as number);
    // How many source frames will the n outputs advance over? (The same arithmetic as the loop below.)
    let phase = frac;
    let need = prime;
    for (let i = 0; i < n; i++) {
      phase += ratio;
      while (phase >= 1) {
        phase -= 1;
        need++;
      }
    }
    if (need > scratch.length) need = scratch.length;
    const got = need > 0 ? this.read(scratch, 0, need) : 0;
    this.framesPlayed += got;
    if (got < prime) return 0;
    let used = prime;
    let a = prime === 2 ? (scratch[0] as number) : (f[F_A] as number);
    let b = prime === 2 ? (scratch[1] as number) : (f[F_B] as number);
    this.primed = true;
    const fade = this.fade;
    let i = 0;
    while (i < n) {
      let value = a + (b - a) * frac;
      if (this.fadeInPos < fade) {
        value *= (this.fadeInPos + 1) / fade;
        this.fadeInPos++;
      }
      out[i++] = value;
      frac += ratio;
      let dry = false;
      while (frac >= 1) {
        frac -= 1;
        if (used < got) {
          a = b;
          b = scratch[used++] as number;
        } else {
          dry = true;
          break;
        }
      }
      if (dry) break;
    }
    f[F_A] = a;
    f[F_B] = b;
    f[F_FRAC] = frac;
    return i;
  }

  private postStatus(reply: number): void {
    const s = this.status;
    s.reply = reply;
    s.state = this.state;
    s.underruns = this.underruns;
    s.framesPlayed = this.framesPlayed;
    s.quanta = this.quanta;
    s.bufferedFrames = this.available();
    s.ended = this.endToken;
    s.drained = this.drainedToken;
    s.stopAck = this.stopAck;
    s.overflows = this.overflows;
    try {
      this.port.postMessage(s);
    } catch {
      // The node is gone.
    }
  }

  /** Control messages on the node's port (port transport; `status?` and `dispose` work with both transports). */
  private onControl(message: unknown): void {
    if (!isRecord(message)) return;
    switch (message['t']) {
      case 'attach': {
        const port = message['port'];
        if (this.queue === null || !(port instanceof MessagePort) || this.disposed) return;
        this.dataPorts.push(port);
        port.onmessage = (event: MessageEvent<unknown>) => {
          this.onData(port, event.data);
        };
        return;
      }
      case 'pause':
        if (this.header === null) this.pauseRequested = message['paused'] === true;
        return;
      case 'stop': {
        const seq = message['seq'];
        if (this.header !== null || typeof seq !== 'number') return;
        this.stopSeq = seq;
        this.pauseRequested = false;
        // Close the producers now so that nothing they still send can be queued and played after the stop.
        this.closeDataPorts(true);
        this.queue?.clear();
        return;
      }
      case 'status?': {
        const id = message['id'];
        if (typeof id === 'number') this.postStatus(id);
        return;
      }
      case 'dispose':
        this.disposed = true;
        this.closeDataPorts(false);
        this.queue?.clear();
        return;
      default:
        return;
    }
  }

  /** Messages from a producer on an attached data port. */
  private onData(port: MessagePort, message: unknown): void {
    if (!isRecord(message) || this.queue === null) return;
    switch (message['t']) {
      case 'chunk': {
        const data = message['data'];
        const length = message['length'];
        if (!(data instanceof Float32Array) || typeof length !== 'number' || !Number.isInteger(length)) return;
        if (length <= 0 || length > data.length) return;
        if (!this.queue.push(data, length, port)) this.overflows++;
        return;
      }
      case 'end': {
        const token = message['token'];
        if (typeof token === 'number' && token > this.endToken) this.endToken = token;
        return;
      }
      case 'sync':
        port.postMessage({ t: 'synced', id: message['id'] as number } satisfies DataReply);
        return;
      default:
        return;
    }
  }

  private closeDataPorts(notify: boolean): void {
    for (const port of this.dataPorts) {
      if (notify) {
        try {
          port.postMessage({ t: 'stopped' } satisfies DataReply);
        } catch {
          // Already closed.
        }
      }
      port.onmessage = null;
      port.close();
    }
    this.dataPorts.length = 0;
  }
}

try {
  registerProcessor(PROCESSOR_NAME, PlaybackProcessor);
} catch {
  // Already registered in this AudioWorkletGlobalScope by another copy of this exact protocol version: the
  // registered class behaves identically, so there is nothing to do (a protocol change renames the processor).
}
