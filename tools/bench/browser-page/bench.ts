/**
 * The browser benchmark page (tools/bench/browser.ts drives it): `CosyVoice` through its public API with the real
 * stage workers, a synthetic 3.5 s voice, and `stream()` requests whose figures come from the API itself (the
 * iteration's `RequestMetrics`, chunk arrival times). Exposes `window.bench` (see api.ts).
 */
import { CosyVoice, parseManifest } from '../../../src/index.ts';
import type { DtypeRequest, RequestMetrics, VoiceProfile } from '../../../src/index.ts';
import { playbackStallMs } from '../playback-stall.ts';
import type { ChunkArrival } from '../playback-stall.ts';
import { syntheticVoice } from '../synthetic-voice.ts';
import type { BenchPageApi } from './api.ts';

const worker = (file: string, name: string) => () =>
  new Worker(new URL(file, import.meta.url), { type: 'module', name });
const workers = {
  lm: worker('./bench-lm.worker.js', 'tts-lm'),
  flow: worker('./bench-flow.worker.js', 'tts-flow'),
  vocoder: worker('./bench-vocoder.worker.js', 'tts-vocoder'),
};

let tts: CosyVoice | undefined;
let voice: VoiceProfile | undefined;

const api: BenchPageApi = {
  async create(options) {
    const started = performance.now();
    const model = new URL(options.model, location.href).href;
    const manifest = parseManifest(await (await fetch(new URL('manifest.json', model))).json());
    voice = syntheticVoice({ manifest });
    tts = await CosyVoice.create({
      model,
      device: options.device,
      dtype: options.dtype as DtypeRequest,
      cache: 'none', // a benchmark of synthesis, and full-size files are GBs
      assets: { workers, ortWasmPaths: '/node_modules/onnxruntime-web/dist/' },
    });
    return {
      placement: JSON.parse(JSON.stringify(tts.placement)) as Record<string, { device: string; dtype: string }>,
      crossOriginIsolated,
      hardwareConcurrency: navigator.hardwareConcurrency,
      userAgent: navigator.userAgent,
      loadMs: performance.now() - started,
    };
  },

  async run(options) {
    if (tts === undefined || voice === undefined) throw new Error('call create() first');
    const started = performance.now();
    const arrivals: ChunkArrival[] = [];
    let firstChunkFinal = false;
    const iterator = tts.stream(options.text, {
      voice,
      seed: options.seed,
      ...(options.schedule === undefined ? {} : { schedule: options.schedule }),
      ...(options.streaming === undefined ? {} : { streaming: options.streaming }),
      ...(options.incrementalFlow === undefined ? {} : { incrementalFlow: options.incrementalFlow }),
    });
    let step = await iterator.next();
    for (; step.done !== true; step = await iterator.next()) {
      arrivals.push({ atMs: performance.now() - started, seconds: step.value.samples.length / step.value.sampleRate });
      if (arrivals.length === 1) firstChunkFinal = step.value.final;
      if (options.firstChunkOnly === true) {
        await iterator.return(undefined as unknown as RequestMetrics); // cancels the rest of the request
        return { ttfaMs: arrivals[0]?.atMs ?? NaN, firstChunkFinal, ...emptyFigures };
      }
    }
    const m = step.value;
    return {
      ttfaMs: m.ttfaMs,
      firstChunkFinal,
      totalMs: m.totalMs,
      rtf: m.rtf,
      audioSeconds: m.audioSeconds,
      stallMs: playbackStallMs(arrivals),
      chunks: arrivals.length,
      tokens: m.tokens,
      tokensPerSecond: m.tokensPerSecond,
      lmMs: m.lmMs,
      flowMs: m.flowMs,
      vocoderMs: m.vocoderMs,
    };
  },

  async dispose() {
    await tts?.dispose();
    tts = undefined;
  },
};

/** The figures a warm-up run (first chunk only) does not measure. */
const emptyFigures = {
  totalMs: NaN,
  rtf: NaN,
  audioSeconds: NaN,
  stallMs: NaN,
  chunks: 1,
  tokens: NaN,
  tokensPerSecond: NaN,
  lmMs: NaN,
  flowMs: NaN,
  vocoderMs: NaN,
};

(globalThis as unknown as { bench: BenchPageApi }).bench = api;
(globalThis as unknown as { benchReady: boolean }).benchReady = true;
