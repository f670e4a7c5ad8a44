/**
 * How the main thread drives the playback worklet, one implementation per transport: {@link SharedPlaybackControl}
 * reads and writes the shared header (current state, waitable counters), {@link PortPlaybackControl} sends control
 * messages over the node's port and keeps the last status the worklet reported. `AudioPlayer` holds one of them and
 * never branches on the transport.
 */
import { waitForChange, type PlaybackWriterDescriptor } from './port-transport.ts';
import {
  PLAYBACK_STATES,
  SLOT,
  type ControlMessage,
  type PlaybackStateCode,
  type PlaybackStatus,
} from './playback-protocol.ts';
import type { RingBuffer } from './ring-buffer.ts';

/** Status with nothing played yet. */
export const INITIAL_STATUS: PlaybackStatus = Object.freeze({
  state: 'idle',
  underruns: 0,
  framesPlayed: 0,
  quanta: 0,
  bufferedFrames: 0,
  ended: 0,
  drained: 0,
  stopAck: 0,
});

/** Producer settings a control puts into the writer descriptors it hands out. */
export interface WriterSettings {
  readonly sampleRate: number;
  /** Frames that may be queued ahead of playback. */
  readonly capacity: number;
}

/** The main thread's side of the playback protocol. */
export interface PlaybackControl {
  /** Latest known status: current with shared memory, the last report with the port. */
  readonly lastStatus: PlaybackStatus;
  /** A fresh status from the worklet. */
  status(): Promise<PlaybackStatus>;
  /** The latest end token any producer set (shared memory) or the worklet reported (port). */
  latestEnd(): number;
  /** A producer description for {@link openPlaybackWriter} in any thread. */
  writer(settings: WriterSettings): PlaybackWriterDescriptor;
  pause(paused: boolean): void;
  /** Stop request `seq`: flush, close every writer opened before it, clear a pause. */
  stop(seq: number): void;
  /** Tells the worklet to end its processor; no status is delivered afterwards. */
  dispose(): void;
  /** Rejects pending status requests (the player failed or was disposed). */
  rejectPending(error: unknown): void;
}

/** Shared-buffer transport: the header is the protocol. */
export class SharedPlaybackControl implements PlaybackControl {
  #live = true;

  /** @param onStatus - called on every state transition the worklet signals (follows its event counter) */
  constructor(
    private readonly ring: RingBuffer,
    onStatus: (status: PlaybackStatus) => void,
  ) {
    void this.#follow(onStatus);
  }

  get lastStatus(): PlaybackStatus {
    const h = this.ring.header;
    return {
      state: PLAYBACK_STATES[Atomics.load(h, SLOT.state) as PlaybackStateCode],
      underruns: Atomics.load(h, SLOT.underruns),
      framesPlayed: Atomics.load(h, SLOT.framesPlayed) >>> 0,
      quanta: Atomics.load(h, SLOT.quanta) >>> 0,
      bufferedFrames: this.ring.availableRead(),
      ended: Atomics.load(h, SLOT.ended),
      drained: Atomics.load(h, SLOT.drained),
      stopAck: Atomics.load(h, SLOT.stopAck),
    };
  }

  status(): Promise<PlaybackStatus> {
    return Promise.resolve(this.lastStatus);
  }

  latestEnd(): number {
    return Atomics.load(this.ring.header, SLOT.ended);
  }

  writer({ sampleRate }: WriterSettings): PlaybackWriterDescriptor {
    const buffer = this.ring.buffer as SharedArrayBuffer;
    return { transport: 'sab', buffer, epoch: Atomics.load(this.ring.header, SLOT.stop), sampleRate };
  }

  pause(paused: boolean): void {
    Atomics.store(this.ring.header, SLOT.pause, paused ? 1 : 0);
  }

  stop(seq: number): void {
    const h = this.ring.header;
    Atomics.store(h, SLOT.pause, 0);
    Atomics.store(h, SLOT.stop, seq);
    Atomics.notify(h, SLOT.read); // wakes a producer waiting for room: it sees the stop and closes
  }

  dispose(): void {
    this.#live = false;
    const h = this.ring.header;
    Atomics.store(h, SLOT.dispose, 1);
    Atomics.notify(h, SLOT.events);
    Atomics.notify(h, SLOT.read);
  }

  rejectPending(): void {
    this.#live = false; // nothing is pending with shared memory; stop following the worklet
  }

  // a method, not the field: the field read after the await would be narrowed to `true` by the loop condition
  #isLive(): boolean {
    return this.#live;
  }

  /** Follows the worklet's event counter (`Atomics.waitAsync`, or polling) while live. */
  async #follow(onStatus: (status: PlaybackStatus) => void): Promise<void> {
    const h = this.ring.header;
    let seen = Atomics.load(h, SLOT.events);
    while (this.#isLive()) {
      await waitForChange(h, SLOT.events, seen, 1000);
      if (!this.#isLive()) return;
      seen = Atomics.load(h, SLOT.events);
      onStatus(this.lastStatus);
    }
  }
}

/** Port transport: control messages out, status reports in. */
export class PortPlaybackControl implements PlaybackControl {
  #status: PlaybackStatus = INITIAL_STATUS;
  #requestIds = 0;
  #writerIds = 0;
  readonly #requests = new Map<
    number,
    { readonly resolve: (s: PlaybackStatus) => void; readonly reject: (e: unknown) => void }
  >();

  /** @param onStatus - called with every status report of the worklet */
  constructor(
    private readonly port: MessagePort,
    private readonly onStatus: (status: PlaybackStatus) => void,
  ) {
    port.onmessage = (event: MessageEvent<unknown>) => {
      this.#onMessage(event.data);
    };
  }

  get lastStatus(): PlaybackStatus {
    return this.#status;
  }

  status(): Promise<PlaybackStatus> {
    const id = ++this.#requestIds;
    return new Promise<PlaybackStatus>((resolve, reject) => {
      this.#requests.set(id, { resolve, reject });
      this.#send({ t: 'status?', id });
    });
  }

  latestEnd(): number {
    return this.#status.ended;
  }

  writer({ sampleRate, capacity }: WriterSettings): PlaybackWriterDescriptor {
    const channel = new MessageChannel();
    this.#send({ t: 'attach', port: channel.port2 }, [channel.port2]);
    return {
      transport: 'port',
      port: channel.port1,
      writerId: ++this.#writerIds,
      maxQueuedFrames: capacity,
      maxChunks: 256,
      sampleRate,
    };
  }

  pause(paused: boolean): void {
    this.#send({ t: 'pause', paused });
  }

  stop(seq: number): void {
    this.#send({ t: 'stop', seq });
  }

  dispose(): void {
    this.#send({ t: 'dispose' });
    // the port stays open until the node is collected, so the `dispose` message above is surely delivered
    this.port.onmessage = null;
  }

  rejectPending(error: unknown): void {
    for (const request of this.#requests.values()) request.reject(error);
    this.#requests.clear();
  }

  #send(message: ControlMessage, transfer: Transferable[] = []): void {
    this.port.postMessage(message, transfer);
  }

  #onMessage(data: unknown): void {
    if (typeof data !== 'object' || data === null || (data as { t?: unknown }).t !== 'status') return;
    const m = data as Record<string, unknown>;
    const num = (key: string): number => (typeof m[key] === 'number' ? m[key] : 0);
    const status: PlaybackStatus = {
      state: PLAYBACK_STATES[num('state') as PlaybackStateCode],
      underruns: num('underruns'),
      framesPlayed: num('framesPlayed'),
      quanta: num('quanta'),
      bufferedFrames: num('bufferedFrames'),
      ended: num('ended'),
      drained: num('drained'),
      stopAck: num('stopAck'),
    };
    this.#status = status;
    this.onStatus(status);
    const reply = num('reply');
    const request = this.#requests.get(reply);
    if (request !== undefined) {
      this.#requests.delete(reply);
      request.resolve(status);
    }
  }
}
