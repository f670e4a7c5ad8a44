/**
 * The shipped `'tts-playback-v1'` processor (the generated worklet source) driven quantum by quantum in Node:
 * pre-roll, underrun fade and count, no stale replay, fade-in on resume, end/drained, pause/resume, stop with
 * producer invalidation, linear resampling, option validation, the port transport, and a check that `process()`
 * allocates nothing on the ring transport.
 */
import v8 from 'node:v8';
import { describe, expect, it } from 'vitest';
import {
  END_TOKEN_STRIDE,
  openPlaybackWriter,
  type PlaybackWriter,
  type PlaybackWriterDescriptor,
} from '../../../src/audio/port-transport.ts';
import { PROCESSOR_NAME, SLOT, type StatusMessage } from '../../../src/audio/playback-protocol.ts';
import { RingBuffer } from '../../../src/audio/ring-buffer.ts';
import { seq, seqArray } from './helpers.ts';
import { loadWorklet, settleMessages, type Harness } from './worklet-harness.ts';

const IDLE = 0;
const BUFFERING = 1;
const PLAYING = 2;
const PAUSED = 3;

/** What the processor outputs at the k-th frame of a fade-out from `from` over `fade` frames. */
function fadeOut(from: number, fade: number, k: number): number {
  return Math.fround(from * ((fade - k - 1) / fade));
}
/** The k-th frame after a restart with fade-in. */
function fadeIn(x: number, fade: number, k: number): number {
  return k < fade ? Math.fround(x * ((k + 1) / fade)) : x;
}

function sabSetup(options: { preroll: number; fade: number; capacity?: number; sampleRate?: number }): {
  h: Harness;
  ring: RingBuffer;
  header: Int32Array;
  writer: (epoch?: number) => PlaybackWriter;
} {
  const buffer = RingBuffer.allocate(options.capacity ?? 4096) as SharedArrayBuffer;
  const worklet = loadWorklet(options.sampleRate ?? 24000);
  const h = worklet.create({
    transport: 'sab',
    buffer,
    sourceRate: 24000,
    prerollFrames: options.preroll,
    fadeFrames: options.fade,
  });
  const ring = new RingBuffer(buffer);
  return {
    h,
    ring,
    header: ring.header,
    writer: (epoch = 0) => openPlaybackWriter({ transport: 'sab', buffer, epoch, sampleRate: 24000 }),
  };
}

function expectAll(actual: Float32Array, expected: (i: number) => number, from = 0, to = actual.length): void {
  for (let i = from; i < to; i++) {
    if (actual[i] !== expected(i)) expect.fail(`frame ${i}: got ${actual[i]}, expected ${expected(i)}`);
  }
}

describe(`${PROCESSOR_NAME} processor (ring transport, Node harness)`, () => {
  it('registers under the versioned name', () => {
    expect(loadWorklet(24000).name).toBe('tts-playback-v1');
  });

  it('waits for the pre-roll, then plays the samples exactly and in order', () => {
    const { h, header, writer } = sabSetup({ preroll: 300, fade: 0 });
    const w = writer();
    expect(w.tryWrite(seqArray(0, 200))).toBe(200);
    const q1 = h.quantum().out;
    expectAll(q1, () => 0);
    expect(header[SLOT.state]).toBe(BUFFERING);
    expect(header[SLOT.framesPlayed]).toBe(0);
    w.tryWrite(seqArray(200, 100));
    const out = h.render(2);
    expectAll(out, (i) => seq(i));
    expect(header[SLOT.state]).toBe(PLAYING);
    expect(header[SLOT.framesPlayed]).toBe(256);
    expect(header[SLOT.quanta]).toBe(3);
  });

  it('on underrun ramps the last sample to zero, counts it, outputs silence (never stale data), and fades back in', () => {
    const fade = 16;
    const { h, header, ring, writer } = sabSetup({ preroll: 100, fade, capacity: 256 });
    const w = writer();
    w.tryWrite(seqArray(0, 200));
    const events0 = Atomics.load(header, SLOT.events);
    const q1 = h.quantum().out;
    expectAll(q1, (i) => seq(i)); // a stream start is not faded in
    const q2 = h.quantum().out;
    expectAll(q2, (i) => seq(128 + i), 0, 72);
    expectAll(q2, (i) => fadeOut(seq(199), fade, i - 72), 72, 72 + fade);
    expectAll(q2, () => 0, 72 + fade);
    expect(header[SLOT.underruns]).toBe(1);
    expect(header[SLOT.state]).toBe(BUFFERING);
    expect(header[SLOT.events]).toBeGreaterThan(events0);
    // The ring's memory still holds the old samples, but nothing of them is heard again.
    expect(ring.data.some((x) => x !== 0)).toBe(true);
    expectAll(h.render(3), () => 0);
    expect(header[SLOT.underruns]).toBe(1); // silence while buffering is not another underrun
    expect(header[SLOT.framesPlayed]).toBe(200);
    // Below the pre-roll: still silent.
    w.tryWrite(seqArray(200, 60));
    expectAll(h.quantum().out, () => 0);
    w.tryWrite(seqArray(260, 90)); // 150 buffered (wrapping around the 257-slot region) ≥ 100
    const q = h.quantum().out;
    expectAll(q, (i) => fadeIn(seq(200 + i), fade, i));
    expect(header[SLOT.state]).toBe(PLAYING);
    expect(header[SLOT.framesPlayed]).toBe(328);
  });

  it('plays a stream shorter than the pre-roll once it ends, then reports it drained (not an underrun)', () => {
    const fade = 8;
    const { h, header, writer } = sabSetup({ preroll: 1000, fade });
    const w = writer();
    w.tryWrite(seqArray(0, 50));
    expectAll(h.quantum().out, () => 0);
    const token = w.end();
    expect(token).toBe(1);
    const q = h.quantum().out;
    expectAll(q, (i) => seq(i), 0, 50);
    expectAll(q, (i) => fadeOut(seq(49), fade, i - 50), 50, 50 + fade);
    expectAll(q, () => 0, 50 + fade);
    expect(header[SLOT.drained]).toBe(1);
    expect(header[SLOT.state]).toBe(IDLE);
    expect(header[SLOT.underruns]).toBe(0);
    expect(header[SLOT.framesPlayed]).toBe(50);
    // The next stream pre-rolls again.
    w.tryWrite(seqArray(50, 500));
    expectAll(h.quantum().out, () => 0);
    expect(header[SLOT.state]).toBe(BUFFERING);
  });

  it('an end arriving after an underrun drains without counting another underrun', () => {
    const { h, header, writer } = sabSetup({ preroll: 10, fade: 0 });
    const w = writer();
    w.tryWrite(seqArray(0, 100));
    h.render(2);
    expect(header[SLOT.underruns]).toBe(1);
    w.end();
    h.quantum();
    expect(header[SLOT.drained]).toBe(1);
    expect(header[SLOT.state]).toBe(IDLE);
    expect(header[SLOT.underruns]).toBe(1);
  });

  it('pause fades out and consumes nothing; resume fades in exactly where it left off', () => {
    const fade = 8;
    const { h, header, writer } = sabSetup({ preroll: 64, fade });
    writer().tryWrite(seqArray(0, 1000));
    expectAll(h.quantum().out, (i) => seq(i));
    Atomics.store(header, SLOT.pause, 1);
    const q2 = h.quantum().out;
    expectAll(q2, (i) => fadeOut(seq(127), fade, i), 0, fade);
    expectAll(q2, () => 0, fade);
    expect(header[SLOT.state]).toBe(PAUSED);
    expectAll(h.render(5), () => 0);
    expect(header[SLOT.framesPlayed]).toBe(128);
    expect(header[SLOT.underruns]).toBe(0);
    Atomics.store(header, SLOT.pause, 0);
    const q = h.quantum().out;
    expectAll(q, (i) => fadeIn(seq(128 + i), fade, i));
    expect(header[SLOT.state]).toBe(PLAYING);
    expect(header[SLOT.framesPlayed]).toBe(256);
  });

  it('stop fades out, flushes, acknowledges, closes older producers and drops what they still write', async () => {
    const fade = 8;
    const { h, header, ring, writer } = sabSetup({ preroll: 64, fade });
    const old = writer(0);
    old.tryWrite(seqArray(0, 1000));
    h.quantum();
    const ended = old.end();
    // What the player's stop() does:
    Atomics.store(header, SLOT.pause, 0);
    Atomics.store(header, SLOT.stop, 1);
    expect(old.closed).toBe(true);
    expect(old.tryWrite(seqArray(0, 10))).toBe(0);
    expect(await old.write(seqArray(0, 10))).toBe(false);
    expect(old.end()).toBe(0);
    const q = h.quantum().out;
    expectAll(q, (i) => fadeOut(seq(127), fade, i), 0, fade);
    expectAll(q, () => 0, fade);
    expect(header[SLOT.stopAck]).toBe(1);
    expect(header[SLOT.drained]).toBe(ended);
    expect(header[SLOT.state]).toBe(IDLE);
    expect(ring.availableRead()).toBe(0);
    // A producer that raced the stop (still claiming epoch 0) is never heard.
    ring.push(seqArray(5000, 300));
    expectAll(h.render(2), () => 0);
    expect(ring.availableRead()).toBe(0);
    expect(header[SLOT.framesPlayed]).toBe(128);
    // A writer opened after the stop plays.
    const fresh = writer(1);
    expect(fresh.closed).toBe(false);
    expect(header[SLOT.writerEpoch]).toBe(1);
    fresh.tryWrite(seqArray(9000, 200));
    expectAll(h.quantum().out, (i) => seq(9000 + i));
  });

  it('dispose makes process() return false', () => {
    const { h, header } = sabSetup({ preroll: 0, fade: 0 });
    expect(h.quantum().alive).toBe(true);
    Atomics.store(header, SLOT.dispose, 1);
    expect(h.quantum().alive).toBe(false);
  });

  it('writes every output frame of every quantum (odd sizes, multiple channels)', () => {
    const { h, writer } = sabSetup({ preroll: 10, fade: 4 });
    writer().tryWrite(seqArray(0, 300));
    for (const size of [128, 1, 77, 128, 256]) expect(h.quantum(size).out.some(Number.isNaN)).toBe(false);
    const left = new Float32Array(128).fill(Number.NaN);
    const right = new Float32Array(128).fill(Number.NaN);
    h.processor.process([], [[left, right]], {});
    expect(Array.from(right)).toEqual(Array.from(left));
  });

  for (const contextRate of [48000, 16000]) {
    it(`resamples 24 kHz → ${contextRate} Hz by linear interpolation with a continuous phase`, () => {
      const ratio = 24000 / contextRate;
      const { h, header, writer } = sabSetup({ preroll: 10, fade: 0, sampleRate: contextRate });
      writer().tryWrite(seqArray(0, 2000));
      const out = h.render(3);
      expectAll(out, (j) => {
        const p = j * ratio;
        const i = Math.floor(p);
        const a = seq(i);
        return Math.fround(a + (seq(i + 1) - a) * (p - i));
      });
      // Frames consumed: the two primed ones plus one per whole source step taken.
      expect(header[SLOT.framesPlayed]).toBe(2 + Math.floor(384 * ratio));
    });
  }

  it('rejects invalid processor options in the constructor (surfacing as processorerror)', () => {
    const worklet = loadWorklet(24000);
    const good = {
      transport: 'sab',
      buffer: RingBuffer.allocate(16),
      sourceRate: 24000,
      prerollFrames: 0,
      fadeFrames: 0,
    };
    expect(() => worklet.create(good)).not.toThrow();
    expect(() => worklet.create(undefined)).toThrow(/processorOptions are required/);
    expect(() => worklet.create({ ...good, transport: 'x' })).toThrow(/transport must be/);
    expect(() => worklet.create({ ...good, buffer: new ArrayBuffer(8) })).toThrow(/SharedArrayBuffer/);
    expect(() => worklet.create({ ...good, sourceRate: 0 })).toThrow(/sourceRate/);
    expect(() => worklet.create({ ...good, prerollFrames: -1 })).toThrow(/prerollFrames/);
    expect(() => worklet.create({ ...good, fadeFrames: 1.5 })).toThrow(/fadeFrames/);
    expect(() => worklet.create({ ...good, buffer: new SharedArrayBuffer(256) })).toThrow(/bad magic/);
    expect(() => worklet.create({ ...good, transport: 'port', queueSlots: 0 })).toThrow(/queueSlots/);
  });

  for (const contextRate of [24000, 48000]) {
    it(`process() allocates nothing once warm (ring transport, ${contextRate} Hz context): no GC, flat heap`, () => {
      const { h, header, writer } = sabSetup({ preroll: 256, fade: 32, capacity: 2048, sampleRate: contextRate });
      const w = writer();
      const chunk = seqArray(0, 700);
      const out = new Float32Array(128);
      const outputs = [[out]];
      const inputs: Float32Array[][] = [];
      const params = {};
      const cycle = (quanta: number): void => {
        for (let q = 0; q < quanta; q++) {
          // Bursty producer: underruns, restarts with fade-in, and pauses all happen inside the measured loop.
          if (q % 40 === 0) w.tryWrite(chunk);
          if (q % 500 === 100) Atomics.store(header, SLOT.pause, 1);
          if (q % 500 === 130) Atomics.store(header, SLOT.pause, 0);
          h.processor.process(inputs, outputs, params);
        }
      };
      // Warm up until every path is optimised: rarely taken branches run unoptimised at first, where the engine
      // boxes doubles (that is the JIT's one-time cost, not the processor's steady state).
      cycle(150_000);
      // On a loaded machine the optimising compiler finishes on a background thread late and writes its metadata
      // into the heap during a window (up to ~260 KB seen, no GC). That is a one-time JIT cost, so measure up to
      // `MAX_WINDOWS` windows and take the first quiet one; a real per-quantum allocation shows in every window.
      const MAX_WINDOWS = 5;
      let window: { growth: number; gcs: number; underruns: number } | undefined;
      for (let attempt = 0; attempt < MAX_WINDOWS; attempt++) {
        const underrunsBefore = Atomics.load(header, SLOT.underruns);
        const profiler = new v8.GCProfiler();
        profiler.start();
        const before = v8.getHeapStatistics().used_heap_size;
        cycle(150_000);
        const after = v8.getHeapStatistics().used_heap_size;
        const gcs = profiler.stop().statistics.length;
        window = { growth: after - before, gcs, underruns: Atomics.load(header, SLOT.underruns) - underrunsBefore };
        if (window.gcs === 0 && window.growth < 32 * 1024) break;
      }
      expect(window?.underruns).toBeGreaterThan(1000); // transitions really happened
      expect(window?.gcs).toBe(0);
      // 150k quanta: even one 16-byte heap number per quantum would add 2.4 MB.
      expect(window?.growth).toBeLessThan(32 * 1024);
    });
  }
});

describe(`${PROCESSOR_NAME} processor (port transport, Node harness)`, () => {
  function portSetup(options: { preroll: number; fade: number; queueSlots?: number }): {
    h: Harness;
    statuses: StatusMessage[];
    attach: (writerId: number) => PlaybackWriter;
  } {
    const worklet = loadWorklet(24000);
    const h = worklet.create({
      transport: 'port',
      sourceRate: 24000,
      prerollFrames: options.preroll,
      fadeFrames: options.fade,
      queueSlots: options.queueSlots ?? 256,
    });
    const statuses: StatusMessage[] = [];
    h.nodePort.onmessage = (event: MessageEvent<StatusMessage>) => statuses.push(event.data);
    const attach = (writerId: number): PlaybackWriter => {
      const channel = new MessageChannel();
      h.nodePort.postMessage({ t: 'attach', port: channel.port2 }, [channel.port2]);
      const descriptor: PlaybackWriterDescriptor = {
        transport: 'port',
        port: channel.port1,
        writerId,
        maxQueuedFrames: 1000,
        maxChunks: 256,
        sampleRate: 24000,
      };
      return openPlaybackWriter(descriptor);
    };
    return { h, statuses, attach };
  }

  it('plays transferred chunks in order after the pre-roll, acknowledges them, and reports transitions', async () => {
    const { h, statuses, attach } = portSetup({ preroll: 300, fade: 0 });
    const w = attach(1);
    const source = seqArray(0, 900);
    const writing = w.write(source); // 900 > maxQueuedFrames/4: split into 250-frame chunks
    await settleMessages();
    expect(source[0]).toBe(seq(0)); // the caller's array is copied, not transferred
    const out = h.render(7);
    expectAll(out, (i) => (i < 896 ? seq(i) : 0), 0, 896);
    expect(await writing).toBe(true);
    const token = w.end();
    expect(token).toBe(END_TOKEN_STRIDE + 1);
    await w.flush(); // the end has reached the worklet
    h.quantum();
    await settleMessages();
    expect(statuses.at(-1)).toMatchObject({ state: IDLE, drained: token, framesPlayed: 900, underruns: 0 });
    expect(statuses.some((s) => s.state === PLAYING)).toBe(true);
    // Every chunk came back (credit restored): a full-capacity tryWrite fits again.
    expect(w.tryWrite(seqArray(0, 1000))).toBe(1000);
  });

  it('applies backpressure: write waits for acknowledgements instead of over-queueing', async () => {
    const { h, attach } = portSetup({ preroll: 0, fade: 0 });
    const w = attach(1);
    let done = false as boolean;
    const writing = w.write(seqArray(0, 3000)).then((ok) => {
      done = ok;
    });
    await settleMessages();
    expect(done).toBe(false); // only 1000 frames may be in flight
    expect(w.waits).toBeGreaterThan(0);
    for (let i = 0; i < 40 && !done; i++) {
      h.quantum();
      await settleMessages(1);
    }
    await writing;
    expect(done).toBe(true);
  });

  it('stop closes the producers, drops queued and later data, and answers status requests', async () => {
    const { h, statuses, attach } = portSetup({ preroll: 0, fade: 4 });
    const w = attach(1);
    w.tryWrite(seqArray(0, 1000));
    await settleMessages();
    h.quantum();
    h.nodePort.postMessage({ t: 'stop', seq: 1 });
    await settleMessages();
    expect(w.closed).toBe(true);
    expect(await w.write(seqArray(0, 10))).toBe(false);
    const q = h.quantum().out;
    expectAll(q, (i) => fadeOut(seq(127), 4, i), 0, 4);
    expectAll(q, () => 0, 4);
    h.nodePort.postMessage({ t: 'status?', id: 7 });
    await settleMessages();
    expect(statuses.find((s) => s.reply === 7)).toMatchObject({
      stopAck: 1,
      bufferedFrames: 0,
      framesPlayed: 128,
      state: IDLE,
    });
    // A new producer after the stop plays normally.
    const fresh = attach(2);
    fresh.tryWrite(seqArray(500, 128));
    await settleMessages();
    expectAll(h.quantum().out, (i) => seq(500 + i));
  });

  it('counts chunks dropped by a producer that ignores backpressure (queue full)', async () => {
    const { h, statuses } = portSetup({ preroll: 0, fade: 0, queueSlots: 2 });
    const channel = new MessageChannel();
    h.nodePort.postMessage({ t: 'attach', port: channel.port2 }, [channel.port2]);
    for (let i = 0; i < 3; i++) channel.port1.postMessage({ t: 'chunk', data: seqArray(i * 10, 10), length: 10 });
    await settleMessages();
    h.nodePort.postMessage({ t: 'status?', id: 1 });
    await settleMessages();
    expect(statuses.find((s) => s.reply === 1)?.overflows).toBe(1);
    expect(statuses.find((s) => s.reply === 1)?.bufferedFrames).toBe(20);
    channel.port1.close();
  });
});
