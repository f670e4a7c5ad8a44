/**
 * `npx tsx tools/bench/ttfa.ts [--model build/full-size-package] [--lm int8] [--flow int8] [--threads 2] [--runs 2]
 * [--resolve-chunks 6] [--seconds 60] [--flow-cache-mb 1024] [--flow-schedules upstream,pad,pad-5] [--json FILE]`
 *
 * Time to first audio of `Engine.stream()` on the full-size random-weight package (the real model's shapes, so its
 * compute; build it with `.venv/bin/python -m tools.fixtures.full_size`), for the streaming schedules side by side in
 * one run: upstream's (first chunk = 25 + prompt pad + 3 look-ahead tokens, 10 Euler steps), a first hop equal to
 * the prompt pad (same mel as upstream, see src/models/chunk-policy.ts), and that hop with a 5-step first chunk.
 * Each schedule runs with today's re-solving flow (`incrementalFlow: false`, the baseline) and with the incremental
 * flow, its prompt cache warm (issue #11). Each run stops after the first chunk. One realm (Node): the LM, flow and
 * HiFT take turns, whereas in the browser they overlap in their workers, so this is an upper bound of the browser's
 * TTFA on the same CPU.
 *
 * Per schedule it also measures the flow alone (a `FlowStream` over random tokens, as long as `--seconds` or the noise
 * buffer allows): the incremental flow's time per chunk (`chunkFlowMs`; `chunkCostRatio` = last non-final chunk /
 * second chunk, both of `tokenHop` new tokens: the hops are held at `tokenHop` here so the ratio shows the growth with
 * the prefix, not the hop), and the voice's prompt cache (MB, one-time build ms). The stream's caches are capped by
 * `--flow-cache-mb` (the request option `flowCacheMB`, prompt cache included; default the library's 1024): a chunk
 * starting within the first `exactStreamSeconds` of the stream's audio is exact, a later one is solved on a window
 * (`IncrementalFlow.windowPrefix`: an approximation), so its time is that of the bounded-memory stream;
 * `streamCacheMBPerSecond` is what an exact stream's caches grow by per second of audio. The re-solving stream it is
 * compared with (`baselineChunkFlowMs`, printed) is timed for its first `--resolve-chunks` chunks only: each of its
 * chunks re-solves prompt ⊕ all tokens, so 60 s of them take hours on 2 cores. Those chunks are also compared
 * (`chunkMelMaxDiff`, max |Δmel| of each cached chunk against the re-solving one): within 1e-5 while the cached stream
 * is exact — the full-size exactness check (e.g. `--seconds 8 --flow-cache-mb 4096 --runs 0`). `--json FILE`
 * writes `{ schedules: [{ name, ttfaMs: { baseline, cached }, ttfaRatio, chunkFlowMs, baselineChunkFlowMs,
 * chunkMelMaxDiff, chunkCostRatio, promptCacheMB, promptCacheBuildMs, streamCacheMBPerSecond, exactStreamSeconds }] }`
 * (ratios cached / baseline).
 * `--runs 0` measures the flow alone (no TTFA, `ttfaMs` null). `--flow-schedules` picks the schedules whose flow is
 * measured alone (each takes about half an hour for 60 s on 2 cores; `--flow-schedules ''`: none); the others get
 * `null` flow figures.
 * Absolute times on these shared 2-core machines are indicative, the ratios are the point.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import { Engine } from '../../src/engine/engine.ts';
import { FlowMatcher } from '../../src/models/flow/flow-matcher.ts';
import { DEFAULT_FLOW_CACHE_BYTES, IncrementalFlow } from '../../src/models/flow/incremental-flow.ts';
import { Xoshiro128 } from '../../src/models/lm/rng.ts';
import { FlowStream } from '../../src/models/token2wav.ts';
import type { MelChunk } from '../../src/models/token2wav.ts';
import type { StreamingOptions } from '../../src/request/options.ts';
import { chunkPolicyOptions, streamFlowSteps } from '../../src/request/options.ts';
import type { Dtype } from '../../src/base/stages.ts';
import { configureOrt, loadOrt } from '../../src/runtime/ort.ts';
import { maxAbsDiff } from '../../test/helpers/npz.ts';
import { PROMPT_TOKENS, openBenchPackage, syntheticVoice } from './full-size.ts';
import { benchSchedules, pickSchedules, promptPad, SCHEDULE_TEXT } from './schedules.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'build/full-size-package' },
    lm: { type: 'string', default: 'int8' },
    flow: { type: 'string', default: 'int8' },
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '2' },
    'resolve-chunks': { type: 'string', default: '6' },
    seconds: { type: 'string', default: '60' },
    'flow-cache-mb': { type: 'string', default: String(DEFAULT_FLOW_CACHE_BYTES / 2 ** 20) },
    'flow-schedules': { type: 'string', default: 'upstream,pad,pad-5' },
    json: { type: 'string' },
  },
});
const pkg = await openBenchPackage(values.model);
const ort = await loadOrt('wasm');
configureOrt(ort, { numThreads: Number(values.threads) });
const now = (): number => performance.now();
const sr = pkg.manifest.config.sampleRate;
const chunk = pkg.manifest.config.flow.chunkTokens;
const pad = promptPad(PROMPT_TOKENS, chunk);

const flowDtype = values.flow as Dtype;
const maxCacheBytes = Number(values['flow-cache-mb']) * 2 ** 20;
const voice = syntheticVoice(pkg);
const schedules = benchSchedules(PROMPT_TOKENS, chunk);
const flowSchedules = new Set(pickSchedules(schedules, values['flow-schedules']).map(([key]) => key));

interface FlowFigures {
  readonly chunkFlowMs: number[];
  readonly baselineChunkFlowMs: number[];
  /** Per chunk both streams produced: max |Δmel| of the incremental stream's chunk against the re-solving one's. */
  readonly chunkMelMaxDiff: number[];
  readonly chunkCostRatio: number;
  readonly promptCacheMB: number;
  readonly promptCacheBuildMs: number;
  readonly streamCacheMBPerSecond: number;
  readonly exactStreamSeconds: number;
}

/** The flow alone: per-chunk time with and without the incremental flow, and the prompt cache's size and build time. */
async function flowFigures(streaming: StreamingOptions): Promise<FlowFigures> {
  const placement = { device: 'wasm' as const, dtype: flowDtype };
  const flow = await FlowMatcher.create(pkg, ort, placement);
  const incremental = await IncrementalFlow.create(flow, pkg, ort, placement);
  if (incremental === undefined) throw new Error(`${values.model} has no flow_step_incremental (${flowDtype})`);
  try {
    const { noiseFrames, nTimesteps } = pkg.manifest.config.flow;
    const { tokenMelRatio } = pkg.manifest.config;
    const steps = streamFlowSteps({ streaming });
    const buildStart = now();
    const prefix = await incremental.promptPrefix(voice, steps.every ?? nTimesteps);
    const promptCacheBuildMs = now() - buildStart;
    if (steps.firstChunk !== undefined) await incremental.promptPrefix(voice, steps.firstChunk);
    const rng = new Xoshiro128(7);
    const { tokenFrameRate } = pkg.manifest.config;
    const count = Math.min(Number(values.seconds) * tokenFrameRate, noiseFrames / tokenMelRatio - PROMPT_TOKENS);
    const tokens = Array.from({ length: count }, () =>
      Math.floor(rng.uniform() * pkg.manifest.config.llm.speechTokenSize),
    );
    const perChunk = async (withCache: boolean, maxChunks = Infinity): Promise<MelChunk[]> => {
      const policy = { ...chunkPolicyOptions(streaming), maxTokenHop: pkg.manifest.config.streaming.tokenHop };
      const stream = new FlowStream(flow, voice, {
        policy,
        steps,
        maxCacheBytes,
        ...(withCache ? { incremental } : {}),
      });
      stream.push(tokens);
      stream.end();
      const chunks: MelChunk[] = [];
      for (
        let c = await stream.next();
        c !== undefined && !c.final && chunks.length < maxChunks;
        c = await stream.next()
      ) {
        chunks.push(c);
      }
      return chunks;
    };
    const cached = await perChunk(true);
    const baseline = await perChunk(false, Number(values['resolve-chunks']));
    const chunkFlowMs = cached.map((c) => c.flowMs);
    const baselineChunkFlowMs = baseline.map((c) => c.flowMs);
    const chunkMelMaxDiff = baseline.map((b, i) => maxAbsDiff(cached[i]?.mel.data ?? [], b.mel.data));
    const framesPerSecond = tokenFrameRate * tokenMelRatio;
    const perFrame = incremental.cacheBytes(1, prefix.steps) - incremental.cacheBytes(0, prefix.steps);
    // frames the budget holds (whole chunks, prompt chunks included): a chunk starting before them is solved exactly
    const chunkFrames = incremental.chunkFrames;
    const heldFrames = Math.floor((maxCacheBytes - incremental.cacheBytes(0, prefix.steps)) / perFrame);
    const exactFrames = Math.floor(heldFrames / chunkFrames) * chunkFrames - PROMPT_TOKENS * tokenMelRatio;
    return {
      chunkFlowMs,
      baselineChunkFlowMs,
      chunkMelMaxDiff,
      chunkCostRatio: (chunkFlowMs.at(-1) ?? NaN) / (chunkFlowMs[1] ?? NaN),
      promptCacheMB: incremental.cacheBytes(prefix.frames, prefix.steps) / 2 ** 20,
      promptCacheBuildMs,
      streamCacheMBPerSecond: (perFrame * framesPerSecond) / 2 ** 20,
      exactStreamSeconds: Math.min(count / tokenFrameRate, Math.max(0, exactFrames / framesPerSecond)),
    };
  } finally {
    await Promise.all([incremental.release(), flow.release()]);
  }
}

const flowRows = new Map<string, FlowFigures>();
for (const [key, name, streaming] of schedules) {
  if (!flowSchedules.has(key)) continue;
  flowRows.set(name, await flowFigures(streaming));
  console.error(`bench: flow of ${name} done`);
}

const runs = Number(values.runs);
const t = now();
const engine =
  runs > 0
    ? await Engine.create(pkg, ort, {
        device: 'wasm',
        dtype: { lm: values.lm as Dtype, flow: values.flow as Dtype, vocoder: 'fp32' },
      })
    : undefined;
if (engine !== undefined) console.error(`bench: engine ready in ${((now() - t) / 1000).toFixed(1)} s`);

/** Milliseconds to the first chunk and its length; the request is cancelled after it. */
async function firstChunk(
  streaming: StreamingOptions,
  seed: number,
  incrementalFlow = true,
): Promise<{ ms: number; audioS: number }> {
  if (engine === undefined) throw new Error('no engine (--runs 0)');
  const start = now();
  for await (const c of engine.stream(SCHEDULE_TEXT, { voice, seed, streaming, incrementalFlow })) {
    const ms = now() - start;
    if (c.final)
      throw new Error("the first chunk is the utterance's last (a full-attention re-solve): use a longer text");
    return { ms, audioS: c.samples.length / sr };
  }
  throw new Error('no audio');
}

if (runs > 0) await firstChunk({ firstHop: pad, firstChunkFlowSteps: 1 }, 0); // warm-up (first-run kernel setup)
const rows: Array<Record<string, string | number>> = [];
const entries: Array<Record<string, unknown>> = [];
for (const [, name, streaming] of schedules) {
  if (runs > 0) await firstChunk(streaming, 0); // builds the voice's prompt caches for this schedule's step counts
  const best = { baseline: Infinity, cached: Infinity };
  let audioS = 0;
  for (let run = 0; run < runs; run++) {
    // the same seeds for both paths, alternating, so machine load drifts over both alike
    const baseline = await firstChunk(streaming, run + 1, false);
    const cached = await firstChunk(streaming, run + 1, true);
    best.baseline = Math.min(best.baseline, baseline.ms);
    best.cached = Math.min(best.cached, cached.ms);
    audioS = cached.audioS;
  }
  const flow = flowRows.get(name);
  const ttfaRatio = best.cached / best.baseline;
  rows.push({
    schedule: name,
    'TTFA s baseline': best.baseline / 1000,
    'TTFA s cached': best.cached / 1000,
    'cached/baseline': ttfaRatio,
    'first chunk audio s': audioS,
    'chunk cost last/2nd': flow?.chunkCostRatio ?? NaN,
    'prompt cache MB': flow?.promptCacheMB ?? NaN,
    'cache build ms': flow?.promptCacheBuildMs ?? NaN,
    'stream cache MB/s': flow?.streamCacheMBPerSecond ?? NaN,
  });
  entries.push({
    name,
    ttfaMs: runs > 0 ? { baseline: best.baseline, cached: best.cached } : null,
    ttfaRatio,
    chunkFlowMs: flow?.chunkFlowMs ?? [],
    baselineChunkFlowMs: flow?.baselineChunkFlowMs ?? [],
    chunkMelMaxDiff: flow?.chunkMelMaxDiff ?? [],
    chunkCostRatio: flow?.chunkCostRatio ?? null,
    promptCacheMB: flow?.promptCacheMB ?? null,
    promptCacheBuildMs: flow?.promptCacheBuildMs ?? null,
    streamCacheMBPerSecond: flow?.streamCacheMBPerSecond ?? null,
    exactStreamSeconds: flow?.exactStreamSeconds ?? null,
  });
  console.error(`bench: ${name} done`);
}
console.log(
  `model ${pkg.manifest.modelId}, wasm EP, LM ${values.lm}, flow ${values.flow}, ${values.threads} thread(s), ` +
    `prompt ${PROMPT_TOKENS} tokens, Node ${process.version}`,
);
console.table(
  rows.map((r) =>
    Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toPrecision(3)) : v])),
  ),
);
for (const [name, flow] of flowRows) {
  const ms = (xs: number[]): string => xs.map((x) => x.toFixed(0)).join(' ');
  console.log(
    `flow ms per non-final chunk, ${name}: cached ${ms(flow.chunkFlowMs)} (exact while starting ` +
      `within ${flow.exactStreamSeconds.toFixed(2)} s, then windowed) | re-solve, first chunks ${ms(flow.baselineChunkFlowMs)}`,
  );
  console.log(
    `mel max|Δ| cached vs re-solve, ${name}: ${flow.chunkMelMaxDiff.map((x) => x.toExponential(1)).join(' ')}`,
  );
}
if (values.json !== undefined) {
  await writeFile(values.json, `${JSON.stringify({ schedules: entries }, null, 2)}\n`);
  console.error(`bench: wrote ${values.json}`);
}
await engine?.dispose();
