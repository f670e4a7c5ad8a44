/**
 * Test page for the public API end to end: `CosyVoice` with its real workers (bundled from workers/*.worker.ts) on
 * the tiny fixture package. Exposes `window.tts`; every result is plain JSON.
 */
import { CosyVoice } from '../../../src/index.ts';
import type { DeviceRequest, DtypeRequest, LoadProgressEvent, RuntimeEvent, VoiceProfile } from '../../../src/index.ts';
import type { Attempt, RecoveredSeen, TtsPageApi } from './api.ts';
import { heldText } from '../../helpers/held-text.ts';
import { joinSamples, strided } from '../../helpers/audio.ts';
import type { CacheFault } from './cache-fault.ts';
import { installCacheFault } from './cache-fault.ts';
import { capturePlayback } from '../../helpers/playback-capture.ts';

/** Every worker the page created, by role (the crash test makes one throw; see tts-flow.worker.ts). */
const created = new Map<string, Worker[]>();
/** Sessions the stage workers announced (see session-count.ts). */
let sessionsCreated = 0;
/** Query of the worker URLs: `?cacheFault=…` makes the workers' Cache API fail (see worker-hooks.ts). */
let workerQuery = '';
/** Workers still to be started per role with `?crashOnStart` (they crash while initialising; see tts-flow.worker.ts). */
const crashingStarts = new Map<string, number>();
/** Roles whose next worker starts with `?noWebGpu` (it sees no `navigator.gpu`; see tts-vocoder.worker.ts). */
const gpulessStarts = new Set<string>();
const worker = (file: string, name: string) => () => {
  const crashes = crashingStarts.get(name) ?? 0;
  crashingStarts.set(name, Math.max(0, crashes - 1));
  const flags = [...(crashes > 0 ? ['crashOnStart'] : []), ...(gpulessStarts.delete(name) ? ['noWebGpu'] : [])];
  const query = [workerQuery.replace(/^\?/, ''), ...flags].filter((q) => q !== '').join('&');
  const w = new Worker(new URL(file + (query === '' ? '' : `?${query}`), import.meta.url), { type: 'module', name });
  created.set(name, [...(created.get(name) ?? []), w]);
  w.addEventListener('message', (event: MessageEvent<unknown>) => {
    if ((event.data as { sessionCreatedForTest?: unknown } | null)?.sessionCreatedForTest === true) sessionsCreated++;
  });
  return w;
};
const workers = {
  lm: worker('./tts-lm.worker.js', 'tts-lm'),
  flow: worker('./tts-flow.worker.js', 'tts-flow'),
  vocoder: worker('./tts-vocoder.worker.js', 'tts-vocoder'),
  acoustic: worker('./tts-acoustic.worker.js', 'tts-acoustic'),
  voice: worker('./tts-voice.worker.js', 'tts-voice'),
};

let tts: CosyVoice | undefined;

/** A `recovered` event as the tests compare it (plain data across the page boundary). */
function seenRecovered(e: Extract<RuntimeEvent, { type: 'recovered' }>): RecoveredSeen {
  return { stages: [...e.stages], devices: { ...e.devices }, attempts: e.attempts };
}
let voice: VoiceProfile | undefined;

function need(): CosyVoice {
  if (tts === undefined) throw new Error('call create() first');
  return tts;
}

/** A TTSError's code, or the name of other errors (a DOMException's numeric `code` is not what we want). */
function errorCode(error: unknown): string {
  if (error instanceof DOMException) return error.name;
  return (error as { code?: string; name?: string }).code ?? (error as { name?: string }).name ?? String(error);
}

/** Runs `run`; a failure is reported as its code and message (plain JSON for the test). */
async function attempt<T>(run: () => Promise<T>): Promise<Attempt<T>> {
  try {
    return { ok: true, value: await run() };
  } catch (error) {
    return { ok: false, code: errorCode(error), message: (error as Error).message };
  }
}

/** The moments of a load at which `create({ abortOn })` aborts. */
function loadAborter(abortOn: 'start' | 'download' | 'sessions' | undefined, controller: AbortController) {
  if (abortOn === 'start') controller.abort();
  return (e: LoadProgressEvent): void => {
    if (abortOn === 'download' && e.type === 'file-progress') controller.abort();
    // every byte is in: the workers are creating their sessions
    if (abortOn === 'sessions' && e.type === 'load-progress' && e.fraction === 1) controller.abort();
  };
}

const api: TtsPageApi = {
  async create(options) {
    const events: LoadProgressEvent[] = [];
    const started = performance.now();
    if (options.cacheFault !== undefined) {
      installCacheFault(options.cacheFault);
      workerQuery = `?cacheFault=${options.cacheFault satisfies CacheFault}`;
    }
    const controller = new AbortController();
    const abortWhen = loadAborter(options.abortOn, controller);
    try {
      tts = await CosyVoice.create({
        model: new URL(options.model ?? '/fixtures/tiny-package/', location.href).href,
        device: (options.device ?? 'wasm') as DeviceRequest | Record<string, DeviceRequest>,
        dtype: (options.dtype ?? 'fp32') as DtypeRequest,
        topology: options.topology ?? 'split',
        cache: options.cache ?? 'none',
        assets: { workers, ortWasmPaths: '/node_modules/onnxruntime-web/dist/' },
        onProgress: (e) => {
          events.push(e);
          abortWhen(e);
        },
        signal: controller.signal,
      });
    } catch (error) {
      return { ok: false, code: errorCode(error), message: (error as Error).message, events: [] };
    } finally {
      workerQuery = '';
    }
    return {
      ok: true,
      placement: tts.placement,
      events: events.map((e) => JSON.parse(JSON.stringify(e)) as Record<string, unknown>),
      ms: performance.now() - started,
    };
  },

  loadVoice(bytes) {
    voice = need().loadVoice(Uint8Array.from(bytes));
    return { promptTokens: voice.promptTokens.length };
  },

  async clone(url, transcript) {
    const blob = await (await fetch(url)).blob();
    const cloned = await need().cloneVoice(blob, transcript === undefined ? {} : { transcript });
    return {
      promptTokens: Array.from(cloned.promptTokens),
      promptTextIds: Array.from(cloned.promptTextIds),
      embedding: Array.from(cloned.embedding),
    };
  },

  async synthesize(text, seed) {
    const audio = await need().synthesize(text, { voice: voice as VoiceProfile, seed });
    const wav = new Uint8Array(await audio.toWav().arrayBuffer());
    return {
      samples: Array.from(audio.samples),
      seed: audio.metrics.seed,
      wavBytes: wav.length,
      rtf: audio.metrics.rtf,
    };
  },

  async stream(text, seed) {
    const t = need();
    const chunks: number[][] = [];
    const meta: Array<{ text: string; startTime: number; final: boolean }> = [];
    const events: Array<{ text: string; startTime: number }> = [];
    const off = t.on('chunk', (e) => events.push({ text: e.text, startTime: e.startTime }));
    try {
      for await (const c of t.stream(text, { voice: voice as VoiceProfile, seed })) {
        chunks.push(Array.from(c.samples));
        meta.push({ text: c.text, startTime: c.startTime, final: c.final });
      }
    } finally {
      off();
    }
    return { chunks, meta, events };
  },

  async speak(text, seed, interrupt) {
    const t = need();
    const player = await t.unlockAudio();
    const controller = new AbortController();
    const chunkLog: Array<{ index: number; framesPlayed: number }> = [];
    let firstAudio = -1;
    const offs = [
      t.on('first-audio', (e) => (firstAudio = e.ttfaMs)),
      t.on('chunk', (e) => {
        chunkLog.push({ index: e.index, framesPlayed: player.lastStatus.framesPlayed });
        if (interrupt !== undefined && chunkLog.length === interrupt.afterChunks) {
          if (interrupt.by === 'abort') controller.abort();
          else void t.stop();
        }
      }),
    ];
    const before = (await player.status()).framesPlayed;
    let error: string | undefined;
    try {
      await t.speak(text, { voice: voice as VoiceProfile, seed, signal: controller.signal });
    } catch (e) {
      error = errorCode(e);
    } finally {
      for (const off of offs) off();
    }
    const after = await player.status();
    await new Promise((r) => setTimeout(r, 300));
    const later = await player.status();
    return {
      error,
      firstAudioMs: firstAudio,
      chunkLog,
      framesPlayed: after.framesPlayed - before,
      framesPlayedLater: later.framesPlayed - before,
      underruns: after.underruns,
      state: later.state,
      transport: player.transport,
    };
  },

  async speakCaptured(text, seed, tailQuanta) {
    const t = need();
    const player = await t.unlockAudio();
    const before = await player.status();
    const capture = await capturePlayback(player.node);
    let underrunsBeforeRelease = 0;
    let input: string | AsyncIterable<string> = typeof text === 'string' ? text : '';
    let offUnderrun = (): void => undefined;
    if (typeof text !== 'string') {
      const held = heldText(text.opening, text.rest);
      input = held.stream;
      offUnderrun = t.on('underrun', (e) => {
        if (held.released()) return;
        underrunsBeforeRelease = e.count - before.underruns;
        held.release();
      });
    }
    let error: string | undefined;
    try {
      await t.speak(input, { voice: voice as VoiceProfile, seed });
    } catch (e) {
      error = errorCode(e);
    } finally {
      offUnderrun();
    }
    const recorded = await capture.finish(tailQuanta);
    const after = await player.status();
    return {
      error,
      recorded: Array.from(recorded),
      transport: player.transport,
      contextRate: player.context.sampleRate,
      fadeFrames: player.fadeFrames,
      framesPlayed: after.framesPlayed - before.framesPlayed,
      underruns: after.underruns - before.underruns,
      underrunsBeforeRelease,
    };
  },

  async speakWhileBlocked(text, seed, deadlineMs) {
    const t = need();
    const player = await t.unlockAudio();
    const before = (await player.status()).framesPlayed;
    let error: string | undefined;
    const speaking = t.speak(text, { voice: voice as VoiceProfile, seed }).catch((e: unknown) => {
      error = errorCode(e);
    });
    // one task for speak() to hand the request to the workers (their jobs are posted synchronously in it)
    await new Promise((resolve) => setTimeout(resolve, 0));
    const start = performance.now();
    let playedWhileBlocked = 0;
    // Busy: no task, message or promise callback of this thread runs until the loop ends. The ring header is
    // shared memory, so the worklet's progress is visible here.
    while (performance.now() - start < deadlineMs) {
      playedWhileBlocked = player.lastStatus.framesPlayed - before;
      if (playedWhileBlocked > 0) break;
    }
    const blockedMs = performance.now() - start;
    await speaking;
    return { playedWhileBlocked, blockedMs, framesPlayed: (await player.status()).framesPlayed - before, error };
  },

  async memory() {
    const perf = performance as Performance & { measureUserAgentSpecificMemory?: () => Promise<{ bytes: number }> };
    if (perf.measureUserAgentSpecificMemory === undefined) return -1;
    return (await perf.measureUserAgentSpecificMemory()).bytes;
  },

  isolated: () => crossOriginIsolated,

  async crashDuringStream(text, seed) {
    const t = need();
    const flowWorker = created.get('tts-flow')?.at(-1);
    if (flowWorker === undefined) throw new Error('no flow worker');
    const recovered: RecoveredSeen[] = [];
    const offRecovered = t.on('recovered', (e) => recovered.push(seenRecovered(e)));
    // A text stream held open after its opening (see test/helpers/held-text.ts): the request, and the flow worker's
    // part in it, is provably still running when the crash lands, whatever the machine's speed.
    const held = heldText([text, ' '], [text]);
    const stream = t.stream(held.stream, { voice: voice as VoiceProfile, seed });
    const first = await stream.next();
    const firstWhileHeld = first.done !== true && first.value.samples.length > 0 && !held.released();
    const reported = new Promise<string>((resolve) => {
      flowWorker.addEventListener('error', (event) => {
        resolve(`${event.message} (handled: ${String(event.defaultPrevented)})`);
      });
    });
    // a genuine uncaught exception inside the flow worker (test hook of its test bundle)
    flowWorker.postMessage({ crashForTest: true });
    const workerError = await reported;
    held.release();
    let pending = 'none';
    let message = '';
    try {
      for (let s = await stream.next(); s.done !== true; s = await stream.next());
    } catch (error) {
      pending = errorCode(error);
      message = (error as Error).message;
    }
    const later = await attempt(() => t.synthesize(text, { voice: voice as VoiceProfile, seed }));
    offRecovered();
    return {
      firstWhileHeld,
      workerError,
      pending,
      message,
      later: later.ok ? 'resolved' : later.code,
      laterMessage: later.ok ? '' : later.message,
      recovered,
    };
  },

  crashNextStarts(role, count) {
    crashingStarts.set(`tts-${role}`, count);
  },

  hideWebGpuFromNextStart(role) {
    gpulessStarts.add(`tts-${role}`);
  },

  placement: () => Object.fromEntries(Object.entries(need().placement).map(([stage, p]) => [stage, p.device])),

  async goldenRequest(request, seed, stride) {
    const t = need();
    const options = { ...request.options, voice: voice as VoiceProfile, seed };
    const text =
      request.text ?? [...(request.segments ?? []), ...(request.opening ?? []), ...(request.rest ?? [])].join('');
    if (request.call === 'synthesize') {
      const audio = await t.synthesize(text, options);
      const segmentTokens = audio.segments.map((s) => Array.from(s.tokens));
      const wave = Array.from(strided(audio.samples, stride));
      return {
        chunkSamples: [audio.samples.length],
        wave,
        segmentTokens,
        tokens: audio.metrics.tokens,
        heldFirst: false,
      };
    }
    const held = request.opening === undefined ? undefined : heldText(request.opening, request.rest ?? []);
    const chunks: Float32Array[] = [];
    const stream = t.stream(held?.stream ?? text, options);
    let heldFirst = false;
    let step = await stream.next();
    for (; step.done !== true; step = await stream.next()) {
      if (chunks.length === 0 && held !== undefined) {
        heldFirst = !held.released();
        held.release();
      }
      chunks.push(step.value.samples);
    }
    const wave = Array.from(strided(joinSamples(chunks.map((samples) => ({ samples }))), stride));
    return { chunkSamples: chunks.map((c) => c.length), wave, segmentTokens: [], tokens: step.value.tokens, heldFirst };
  },

  tryClone(url, transcript, misuse) {
    return attempt(async () => {
      const blob = await (await fetch(url)).blob();
      const controller = new AbortController();
      if (misuse === 'aborted') controller.abort();
      const options =
        misuse === 'null-options'
          ? null
          : misuse === 'typo'
            ? { transcrpt: transcript }
            : { transcript, signal: controller.signal };
      const cloning = need().cloneVoice(blob, options as never);
      if (misuse === 'abort-during') {
        setTimeout(() => {
          controller.abort();
        }, 0);
      }
      return Array.from((await cloning).promptTokens);
    });
  },

  trySynthesize(text, seed, abortOn) {
    const t = need();
    const controller = new AbortController();
    if (abortOn === 'before') controller.abort();
    const offs = [
      t.on('first-audio', () => {
        if (abortOn === 'first-audio') controller.abort();
      }),
    ];
    const running = attempt(async () => {
      const audio = await t.synthesize(text, { voice: voice as VoiceProfile, seed, signal: controller.signal });
      return Array.from(audio.samples);
    });
    // the next task: the request has been handed to the workers and the LM is at work
    if (abortOn === 'started') {
      setTimeout(() => {
        controller.abort();
      }, 0);
    }
    return running.finally(() => {
      for (const off of offs) off();
    });
  },

  async killWorkerDuringStream(role, text, seed, { how = 'terminate', laterText = text } = {}) {
    const t = need();
    const killed = created.get(`tts-${role}`)?.at(-1);
    if (killed === undefined) throw new Error(`no ${role} worker`);
    const recovered: RecoveredSeen[] = [];
    const offRecovered = t.on('recovered', (e) => recovered.push(seenRecovered(e)));
    // held open after its opening, so the request is provably still running when the worker dies
    const held = heldText([text, ' '], [text]);
    const stream = t.stream(held.stream, { voice: voice as VoiceProfile, seed });
    const first = await stream.next();
    const firstWhileHeld = first.done !== true && first.value.samples.length > 0 && !held.released();
    // terminate: what the browser or app code does to a worker (no error event, it just stops)
    if (how === 'lose-device') killed.postMessage({ destroyDeviceForTest: true });
    else killed.terminate();
    held.release();
    const pending = await attempt(async () => {
      for (let s = await stream.next(); s.done !== true; s = await stream.next());
    });
    const later = await attempt(() => t.synthesize(laterText, { voice: voice as VoiceProfile, seed }));
    offRecovered();
    return {
      firstWhileHeld,
      pending: pending.ok ? 'resolved' : pending.code,
      message: pending.ok ? '' : pending.message,
      later: later.ok ? 'resolved' : later.code,
      laterMessage: later.ok ? '' : later.message,
      laterSamples: later.ok ? Array.from(later.value.samples) : [],
      recovered,
    };
  },

  sessionsCreated: () => sessionsCreated,

  async cachedEntries() {
    return (await (await caches.open('cosyvoice-web-models')).keys()).length;
  },

  async dispose() {
    await tts?.dispose();
    tts = undefined;
  },
};

window.tts = api;
window.testReady = true;
