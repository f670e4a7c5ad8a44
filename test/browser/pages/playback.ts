/**
 * Test page for playback: drives the real `AudioPlayer` (and through it the shipped worklet) in an
 * `OfflineAudioContext` (deterministic renders) and in a live `AudioContext`, and taps its output with a tiny
 * recorder worklet. Exposes `window.playback` (see api.ts); the Playwright tests assert on the results.
 */
import { AudioPlayer } from '../../../src/audio/player.ts';
import type { PlaybackStatus } from '../../../src/audio/playback-protocol.ts';
import { openPlaybackWriter, transferablesOf, type PlaybackWriter } from '../../../src/audio/port-transport.ts';
import { RingBuffer } from '../../../src/audio/ring-buffer.ts';
import { seq, seqArray } from '../../unit/audio/helpers.ts';
import type {
  CrashResult,
  LiveControlResult,
  LiveStreamResult,
  OfflineAction,
  OfflineResult,
  OfflineScenario,
  PlaybackApi,
} from './api.ts';

const QUANTUM = 128;

/** Polls `condition` every 10 ms; a hang guard (fails after `limit` polls), not a timing assertion. */
async function until(condition: () => boolean | Promise<boolean>, what: string, limit = 1000): Promise<void> {
  for (let i = 0; i < limit; i++) {
    if (await condition()) return;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  throw new Error(`timed out waiting for ${what}`);
}

/** Resolves `true` if `promise` settles fulfilled within the guard, `false` otherwise. */
async function resolves(promise: Promise<unknown>, limit = 300): Promise<boolean> {
  let done = false;
  promise.then(
    () => (done = true),
    () => undefined,
  );
  try {
    await until(() => done, 'promise', limit);
    return true;
  } catch {
    return false;
  }
}

/** Makes sure control messages posted so far have reached the worklet (a `status?` round trip on the same port). */
async function delivered(player: AudioPlayer, writer: PlaybackWriter | null): Promise<void> {
  await player.status();
  await writer?.flush();
}

async function offline(scenario: OfflineScenario): Promise<OfflineResult> {
  const context = new OfflineAudioContext({
    numberOfChannels: 1,
    length: scenario.frames,
    sampleRate: scenario.contextRate,
  });
  const underrunEvents: number[] = [];
  const player = await AudioPlayer.create({
    context,
    transport: scenario.transport,
    sampleRate: 24000,
    prerollMs: scenario.prerollMs,
    fadeMs: scenario.fadeMs,
    bufferSeconds: scenario.bufferSeconds,
    onUnderrun: (event) => underrunEvents.push(event.count),
  });
  let writer: PlaybackWriter | null = null;
  let stale: PlaybackWriter | null = null;
  let staleBuffer: SharedArrayBuffer | null = null;
  const current = (): PlaybackWriter => {
    if (writer === null) {
      const descriptor = player.writer();
      if (descriptor.transport === 'sab') staleBuffer = descriptor.buffer;
      writer = openPlaybackWriter(descriptor);
    }
    return writer;
  };
  const written: number[] = [];
  const staleResults: [number, boolean][] = [];
  const endTokens: number[] = [];
  const stops: Promise<void>[] = [];
  const run = async (action: OfflineAction): Promise<void> => {
    switch (action.do) {
      case 'write':
        written.push((await current().write(seqArray(action.start, action.length))) ? action.length : 0);
        break;
      case 'end':
        endTokens.push(current().end());
        break;
      case 'pause':
        player.pause();
        break;
      case 'resume':
        void player.resume();
        break;
      case 'stop':
        stale = writer;
        writer = null;
        stops.push(player.stop());
        break;
      case 'stale-write': {
        if (stale === null) throw new Error('stale-write needs a writer opened before a stop');
        const data = seqArray(action.start, action.length);
        staleResults.push([stale.tryWrite(data), await stale.write(data)]);
        // A producer racing the stop would not even have checked: push raw into the ring.
        if (staleBuffer !== null) new RingBuffer(staleBuffer).push(data);
        break;
      }
    }
    await delivered(player, writer);
  };
  const byFrame = new Map<number, OfflineAction[]>();
  for (const action of scenario.actions) {
    if (action.at % QUANTUM !== 0) throw new Error(`action at ${action.at} is not quantum-aligned`);
    byFrame.set(action.at, [...(byFrame.get(action.at) ?? []), action]);
  }
  for (const action of byFrame.get(0) ?? []) await run(action);
  for (const [frame, actions] of byFrame) {
    if (frame === 0) continue;
    void context.suspend(frame / scenario.contextRate).then(async () => {
      for (const action of actions) await run(action);
      await context.resume();
    });
  }
  const rendered = await context.startRendering();
  const status = await player.status();
  await until(() => (underrunEvents.at(-1) ?? 0) === status.underruns, 'underrun events');
  const lastToken = endTokens.at(-1);
  const drained = lastToken === undefined ? false : await resolves(player.drained(lastToken));
  await Promise.all(stops);
  const result: OfflineResult = {
    output: Array.from(rendered.getChannelData(0)),
    status,
    prerollFrames: player.prerollFrames,
    fadeFrames: player.fadeFrames,
    capacity: player.capacity,
    written,
    stale: staleResults,
    endTokens,
    underrunEvents,
    drained,
  };
  await player.dispose();
  return result;
}

const RECORDER_SOURCE = `registerProcessor('test-recorder', class extends AudioWorkletProcessor {
  process(inputs) {
    const channel = inputs[0] && inputs[0][0];
    if (channel) this.port.postMessage(channel.slice());
    return true;
  }
});`;

/** Taps a node: collects the non-silent samples that pass through it (tests write data that is never 0). */
async function recorder(context: AudioContext): Promise<{ node: AudioWorkletNode; samples: number[] }> {
  const url = URL.createObjectURL(new Blob([RECORDER_SOURCE], { type: 'text/javascript' }));
  await context.audioWorklet.addModule(url);
  URL.revokeObjectURL(url);
  const node = new AudioWorkletNode(context, 'test-recorder', { numberOfInputs: 1, numberOfOutputs: 1 });
  node.connect(context.destination);
  const samples: number[] = [];
  node.port.onmessage = (event: MessageEvent<Float32Array>) => {
    for (const x of event.data) if (x !== 0) samples.push(x);
  };
  return { node, samples };
}

function firstMismatch(samples: number[], count: number): number {
  for (let i = 0; i < Math.max(samples.length, count); i++) if (samples[i] !== seq(i)) return i;
  return -1;
}

async function liveStream(options: {
  chunkSeconds: number[];
  contextRate?: number;
  workletUrl?: string;
}): Promise<LiveStreamResult> {
  const context = new AudioContext({ sampleRate: options.contextRate ?? 24000 });
  const tap = await recorder(context);
  const underrunEvents: number[] = [];
  const player = await AudioPlayer.create({
    context,
    fadeMs: 0,
    prerollMs: 100,
    destination: tap.node,
    onUnderrun: (event) => underrunEvents.push(event.count),
    ...(options.workletUrl === undefined ? {} : { workletUrl: options.workletUrl }),
  });
  let offset = 0;
  let playedBeforeSecondWrite = -1;
  let stateBeforeSecondWrite = '';
  for (const [index, seconds] of options.chunkSeconds.entries()) {
    const length = Math.round(seconds * 24000);
    if (index === 1) {
      // The first chunk must already be playing before any later chunk exists.
      await until(async () => (await player.status()).framesPlayed > 0, 'the first chunk to play');
      const status = await player.status();
      playedBeforeSecondWrite = status.framesPlayed;
      stateBeforeSecondWrite = status.state;
    }
    if (!(await player.write(seqArray(offset, length)))) throw new Error('write refused');
    offset += length;
  }
  await player.drained(player.end());
  await until(() => tap.samples.length >= offset, 'the recorder to receive every frame');
  const status = await player.status();
  // A few more quanta: nothing else may come out (no stale replay after the end).
  const quanta = status.quanta;
  await until(async () => (await player.status()).quanta > quanta + 20, 'more quanta');
  const result: LiveStreamResult = {
    transport: player.transport,
    crossOriginIsolated,
    contextRate: context.sampleRate,
    totalFrames: offset,
    playedBeforeSecondWrite,
    stateBeforeSecondWrite,
    status: await player.status(),
    recorded: { count: tap.samples.length, firstMismatch: firstMismatch(tap.samples, offset) },
    underrunEvents,
  };
  await player.dispose();
  await context.close();
  return result;
}

async function liveControl(): Promise<LiveControlResult> {
  // No context passed: the player creates (and on dispose closes) its own, at the source rate.
  const player = await AudioPlayer.create({ prerollMs: 50, fadeMs: 5 });
  const context = player.context as AudioContext;
  const total = 3 * 24000;
  const stale = openPlaybackWriter(player.writer());
  stale.tryWrite(seqArray(0, total));
  await until(async () => (await player.status()).framesPlayed > 0, 'playback to start');
  player.pause();
  await until(async () => (await player.status()).state === 'paused', 'the pause');
  const paused = await player.status();
  await until(async () => (await player.status()).quanta >= paused.quanta + 50, '50 quanta while paused');
  const afterWait = await player.status();
  await player.resume();
  await until(async () => (await player.status()).framesPlayed > afterWait.framesPlayed, 'playback to resume');
  const resumed = await player.status();
  await player.stop();
  const afterStop = await player.status();
  const staleWriteAccepted = await stale.write(seqArray(0, 100));
  const drainedAfterStop = await resolves(player.drained());
  const restartFrames = 4800;
  await player.write(seqArray(0, restartFrames));
  await player.drained(player.end());
  const afterRestart = await player.status();
  const result: LiveControlResult = {
    transport: player.transport,
    pausedState: paused.state,
    playedAtPause: paused.framesPlayed,
    playedAfterPauseWait: afterWait.framesPlayed,
    quantaDuringPause: afterWait.quanta - paused.quanta,
    playedAfterResume: resumed.framesPlayed,
    afterStop,
    staleWriteAccepted,
    drainedAfterStop,
    afterRestart,
    restartFrames,
    contextRate: context.sampleRate,
    contextStateAfterDispose: '',
  };
  await player.dispose();
  return { ...result, contextStateAfterDispose: context.state };
}

async function workerRing(options: {
  seconds: number;
  bufferSeconds: number;
  seed: number;
}): Promise<LiveStreamResult> {
  const context = new AudioContext({ sampleRate: 24000 });
  const tap = await recorder(context);
  const underrunEvents: number[] = [];
  const player = await AudioPlayer.create({
    context,
    fadeMs: 0,
    prerollMs: 50,
    bufferSeconds: options.bufferSeconds,
    destination: tap.node,
    onUnderrun: (event) => underrunEvents.push(event.count),
  });
  const total = Math.round(options.seconds * 24000);
  const worker = new Worker(new URL('./producer.worker.js', import.meta.url), {
    type: 'module',
    name: 'tts-test-producer',
  });
  const descriptor = player.writer();
  const reply = new Promise<{ token: number; waits: number; written: number; transport: string }>((resolve, reject) => {
    worker.onmessage = (event: MessageEvent<{ token: number; waits: number; written: number; transport: string }>) => {
      resolve(event.data);
    };
    worker.onerror = (event) => {
      reject(new Error(event.message));
    };
  });
  worker.postMessage({ descriptor, total, seed: options.seed, maxChunk: 3000 }, transferablesOf(descriptor));
  const producer = await reply;
  await player.drained(producer.token);
  await until(() => tap.samples.length >= total, 'the recorder to receive every frame');
  const status: PlaybackStatus = await player.status();
  const result: LiveStreamResult = {
    transport: player.transport,
    crossOriginIsolated,
    contextRate: context.sampleRate,
    totalFrames: total,
    playedBeforeSecondWrite: -1,
    stateBeforeSecondWrite: '',
    status,
    recorded: { count: tap.samples.length, firstMismatch: firstMismatch(tap.samples, total) },
    underrunEvents,
    producer: { waits: producer.waits, written: producer.written, transport: producer.transport },
  };
  worker.terminate();
  await player.dispose();
  await context.close();
  return result;
}

const FAILING_PROCESSOR = `registerProcessor('tts-playback-v1', class extends AudioWorkletProcessor {
  process() { throw new Error('boom'); }
});`;

async function crash(): Promise<CrashResult> {
  const context = new AudioContext();
  const url = URL.createObjectURL(new Blob([FAILING_PROCESSOR], { type: 'text/javascript' }));
  let onErrorCode: string | null = null;
  const player = await AudioPlayer.create({
    context,
    workletUrl: url,
    onError: (error) => (onErrorCode = error.code),
  });
  const drained = player.drained(player.end()).then(
    () => null,
    (error: unknown) => (error as { code?: string }).code ?? String(error),
  );
  await until(() => onErrorCode !== null, 'processorerror');
  const drainedRejection = await drained;
  let writeRejection: string | null = null;
  try {
    await player.write(new Float32Array(10));
  } catch (error) {
    writeRejection = (error as { code?: string }).code ?? String(error);
  }
  URL.revokeObjectURL(url);
  await player.dispose();
  await context.close();
  return { onErrorCode, drainedRejection, writeRejection };
}

/**
 * `create` must build (and resume) its context synchronously, before its first `await`, so that it can run inside
 * a user gesture: count constructions made before `create` returns its promise.
 */
async function createIsSynchronous(): Promise<{ constructedBeforeAwait: number; same: boolean; rate: number }> {
  const Original = window.AudioContext;
  const made: AudioContext[] = [];
  window.AudioContext = class extends Original {
    constructor(options?: AudioContextOptions) {
      super(options);
      made.push(this);
    }
  };
  try {
    const creating = AudioPlayer.create();
    const constructedBeforeAwait = made.length;
    const player = await creating;
    const result = { constructedBeforeAwait, same: made[0] === player.context, rate: player.context.sampleRate };
    await player.dispose();
    return result;
  } finally {
    window.AudioContext = Original;
  }
}

/** `create` failures that must surface as typed errors: a missing worklet file and a module without our processor. */
async function loadFailures(): Promise<{ missing: string; wrongName: string }> {
  const codeOf = async (workletUrl: string): Promise<string> => {
    const context = new AudioContext();
    try {
      await AudioPlayer.create({ context, workletUrl });
      return 'resolved';
    } catch (error) {
      return (error as { code?: string }).code ?? String(error);
    } finally {
      await context.close();
    }
  };
  const url = URL.createObjectURL(
    new Blob(
      ["registerProcessor('something-else', class extends AudioWorkletProcessor { process() { return true; } });"],
      {
        type: 'text/javascript',
      },
    ),
  );
  const result = { missing: await codeOf('/pages/no-such-worklet.js'), wrongName: await codeOf(url) };
  URL.revokeObjectURL(url);
  return result;
}

const api: PlaybackApi = { offline, liveStream, liveControl, workerRing, crash, createIsSynchronous, loadFailures };
window.playback = api;
window.testReady = true;
