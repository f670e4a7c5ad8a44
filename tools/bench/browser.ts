/**
 * `npm run bench:browser -- [--browser PATH] [--device wasm|webgpu] [--model DIR] [--dtype auto] [--runs 1]
 * [--policies on,off] [--schedules upstream,pad,pad-5] [--text "…"] [--json FILE]`
 *
 * Time to first audio and real-time factor of `stream()` through the public `CosyVoice` API in a real browser (headless
 * Chromium driven by Playwright, its stages in their workers, cross-origin isolated), with and without the LM pacing
 * (`schedule`, issue #11 item 5) side by side in one run. Policies: `on` (the default: priority to the flow until
 * first audio, then a bounded lead), `off` (`schedule: false`), `first-audio` (only the first-audio priority) and
 * `lead` (only the bound). Each run plays the policies in turn with the same seed (so the same tokens and audio),
 * alternating their order from run to run so that drifting machine load touches all alike, after one warm-up request
 * (first chunk only) that builds the voice's flow prompt cache. `stall` is the silence a player starting at the first
 * chunk would insert while waiting for later ones.
 *
 * Then, per streaming schedule (`--schedules`, the rows of tools/bench/ttfa.ts: tools/bench/schedules.ts), the time to
 * first audio with the re-solving flow (`incrementalFlow: false`, the baseline) and with the incremental flow on the
 * voice's warm prompt cache, side by side in each run (order alternating), after a warm-up of the schedule's step
 * counts, on ttfa.ts's sentence (`SCHEDULE_TEXT`; `--text` is the policies' request): the `schedules` rows of
 * ttfa.ts's JSON, `{ name, ttfaMs: { baseline, cached }, ttfaRatio, … }` (medians; ratio cached / baseline). The flow-alone figures of those rows (`chunkFlowMs`, `chunkCostRatio`, `promptCacheMB`,
 * `promptCacheBuildMs`, …) need the flow runner itself, which the public API does not expose: they are `[]` / `null`
 * here and measured by ttfa.ts in Node (the same onnxruntime-web wasm kernels).
 *
 * `--model` defaults to the tiny test package (random weights, tiny nets: the figures mean nothing, the path is
 * proven); the full-size random-weight package (`.venv/bin/python -m tools.fixtures.full_size`) has the real model's
 * compute. The page is built and served by the browser tests' own code (test/browser/build-pages.ts, server.ts) and
 * Chromium starts with their launch options (playwright.config.ts). Absolute times on shared machines are indicative;
 * the load average is printed with them. `--policies ''` or `--schedules ''` skips that part.
 */
import { loadavg } from 'node:os';
import { readFile, writeFile } from 'node:fs/promises';
import { join, resolve } from 'node:path';
import { parseArgs } from 'node:util';
import { chromium } from '@playwright/test';
import config from '../../playwright.config.ts';
import { buildPages } from '../../test/browser/build-pages.ts';
import { DEFAULT_MOUNTS, ROOT, startServer } from '../../test/browser/server.ts';
import { parseManifest } from '../../src/loader/manifest.ts';
import type { SynthesisOptions } from '../../src/request/options.ts';
import { PROMPT_TOKENS } from './synthetic-voice.ts';
import { benchSchedules, pickSchedules, SCHEDULE_TEXT } from './schedules.ts';
import type { BenchSchedule } from './schedules.ts';
import type { BenchCreated, BenchCreateOptions, BenchPageApi, BenchRun, BenchRunOptions } from './browser-page/api.ts';

const POLICIES: Readonly<Record<string, Pick<SynthesisOptions, 'schedule'>>> = {
  on: {},
  off: { schedule: false },
  'first-audio': { schedule: { lmLeadTokens: Infinity } },
  lead: { schedule: { firstAudioPriority: false } },
};

const { values } = parseArgs({
  options: {
    browser: { type: 'string' },
    device: { type: 'string', default: 'wasm' },
    model: { type: 'string', default: join(ROOT, 'test/fixtures/tiny-package') },
    dtype: { type: 'string', default: 'auto' },
    runs: { type: 'string', default: '1' },
    policies: { type: 'string', default: 'on,off' },
    schedules: { type: 'string', default: 'upstream,pad,pad-5' },
    text: { type: 'string', default: 'The quick brown fox jumps over the lazy dog near the quiet river bank today.' },
    seed: { type: 'string', default: '1' },
    json: { type: 'string' },
  },
});
const device = values.device;
if (device !== 'wasm' && device !== 'webgpu') throw new Error(`--device must be wasm or webgpu, got ${device}`);
const policies = values.policies.split(',').filter((p) => p !== '');
for (const p of policies) {
  if (!(p in POLICIES)) throw new Error(`unknown policy ${p}; known: ${Object.keys(POLICIES).join(', ')}`);
}
const manifest = parseManifest(JSON.parse(await readFile(join(resolve(values.model), 'manifest.json'), 'utf8')));
const schedules = pickSchedules(benchSchedules(PROMPT_TOKENS, manifest.config.flow.chunkTokens), values.schedules);
const runs = Number(values.runs);
const seed = Number(values.seed);
const log = (message: string): void => {
  console.error(`bench: ${message}`);
};

const pagesOut = join(ROOT, 'build/bench-pages');
await buildPages(join(ROOT, 'tools/bench/browser-page'), pagesOut);
const server = await startServer({
  isolated: true,
  mounts: { ...DEFAULT_MOUNTS, '/pages/': pagesOut, '/model/': resolve(values.model) },
});
const launch = config.use?.launchOptions ?? {};
const browser = await chromium.launch({
  ...launch,
  ...(values.browser === undefined ? {} : { executablePath: values.browser }),
  headless: true,
});
const loadBefore = loadavg();
try {
  const page = await browser.newPage();
  page.on('console', (message) => {
    if (message.type() === 'error' || message.type() === 'warning')
      log(`page console ${message.type()}: ${message.text()}`);
  });
  page.on('response', (response) => {
    if (response.status() >= 400) log(`page fetch ${response.status()}: ${response.url()}`);
  });
  page.on('pageerror', (error) => {
    log(`page error: ${error.message}`);
  });
  await page.goto(`${server.url}/page/bench`);
  await page.waitForFunction(() => (globalThis as { benchReady?: boolean }).benchReady === true);
  // the page's API (these functions run in the page: they may use only their argument and the page's globals)
  const created: BenchCreated = await page.evaluate(
    (options) => (globalThis as unknown as { bench: BenchPageApi }).bench.create(options),
    { model: '/model/', device, dtype: values.dtype } satisfies BenchCreateOptions,
  );
  log(`loaded in ${(created.loadMs / 1000).toFixed(1)} s: ${JSON.stringify(created.placement)}`);
  const request = (
    options: Pick<SynthesisOptions, 'schedule' | 'streaming' | 'incrementalFlow'>,
    firstChunkOnly = false,
    runSeed = seed,
    text = values.text,
  ): Promise<BenchRun> =>
    page.evaluate((options) => (globalThis as unknown as { bench: BenchPageApi }).bench.run(options), {
      text,
      seed: runSeed,
      ...options,
      firstChunkOnly,
    } satisfies BenchRunOptions);
  const warm = await request({}, true);
  log(`warm-up: first chunk after ${(warm.ttfaMs / 1000).toFixed(1)} s`);
  const results: { policy: string; run: number; figures: BenchRun }[] = [];
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? policies : [...policies].reverse();
    for (const policy of order) {
      const figures = await request(POLICIES[policy] ?? {});
      results.push({ policy, run, figures });
      log(
        `run ${run + 1}/${runs} ${policy}: TTFA ${(figures.ttfaMs / 1000).toFixed(2)} s, RTF ${figures.rtf.toFixed(2)}`,
      );
    }
  }
  const scheduleRows = [];
  const firstChunk: FirstChunk = (options, runSeed) => request(options, true, runSeed, SCHEDULE_TEXT);
  for (const schedule of schedules) scheduleRows.push(await firstAudio(schedule, firstChunk));
  await page.evaluate(() => (globalThis as unknown as { bench: BenchPageApi }).bench.dispose());
  const loadAfter = loadavg();
  const summary = policies.map((policy) => {
    const mine = results.filter((r) => r.policy === policy).map((r) => r.figures);
    const of = (key: Exclude<keyof BenchRun, 'firstChunkFinal'>): number => median(mine.map((f) => f[key]));
    return {
      policy,
      runs: mine.length,
      ttfaMs: of('ttfaMs'),
      rtf: of('rtf'),
      stallMs: of('stallMs'),
      audioSeconds: of('audioSeconds'),
      tokens: of('tokens'),
      lmTokensPerSecond: of('tokensPerSecond'),
    };
  });
  console.log(
    `${created.userAgent}\ndevice ${device}, placement ${JSON.stringify(created.placement)}, ` +
      `crossOriginIsolated ${created.crossOriginIsolated}, hardwareConcurrency ${created.hardwareConcurrency}, ` +
      `load average ${loadBefore.map((l) => l.toFixed(2)).join(' ')} → ${loadAfter.map((l) => l.toFixed(2)).join(' ')}`,
  );
  if (summary.length > 0) {
    console.table(
      summary.map((s) => ({
        policy: s.policy,
        runs: s.runs,
        'TTFA s': Number((s.ttfaMs / 1000).toFixed(2)),
        RTF: Number(s.rtf.toFixed(2)),
        'stall s': Number((s.stallMs / 1000).toFixed(2)),
        'audio s': Number(s.audioSeconds.toFixed(2)),
        tokens: s.tokens,
        'LM tokens/s': Number(s.lmTokensPerSecond.toFixed(1)),
      })),
    );
  }
  if (scheduleRows.length > 0) {
    console.table(
      scheduleRows.map((r) => ({
        schedule: r.name,
        'TTFA s re-solving': Number((r.ttfaMs.baseline / 1000).toFixed(2)),
        'TTFA s cached': Number((r.ttfaMs.cached / 1000).toFixed(2)),
        'cached/re-solving': Number(r.ttfaRatio.toFixed(3)),
      })),
    );
  }
  if (values.json !== undefined) {
    const report = {
      date: new Date().toISOString(),
      model: resolve(values.model),
      device,
      text: values.text,
      seed,
      created,
      loadAverage: { before: loadBefore, after: loadAfter },
      summary,
      results,
      schedules: scheduleRows,
    };
    await writeFile(values.json, `${JSON.stringify(report, null, 2)}\n`);
    log(`wrote ${values.json}`);
  }
} finally {
  await browser.close();
  await server.close();
}

/** A request on ttfa.ts's sentence stopped after its first chunk (the rest is cancelled). */
type FirstChunk = (
  options: Pick<SynthesisOptions, 'streaming' | 'incrementalFlow'>,
  runSeed: number,
) => Promise<BenchRun>;

function median(xs: readonly number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 === 1 ? (s[mid] ?? NaN) : ((s[mid - 1] ?? NaN) + (s[mid] ?? NaN)) / 2;
}

/**
 * One schedule's row of ttfa.ts's JSON: first audio re-solving vs cached (medians over `runs`, the same seed for
 * both in a run, order alternating), after a cached warm-up that builds the prompt cache of the schedule's step counts.
 * The flow-alone fields are empty: the public API does not expose the flow runner (module comment).
 *
 * @throws {Error} when a first chunk is the request's last (a full-attention re-solve, not a stream's first chunk)
 */
async function firstAudio([, name, streaming]: BenchSchedule, firstChunk: FirstChunk) {
  await firstChunk({ streaming, incrementalFlow: true }, seed);
  const times = { baseline: [] as number[], cached: [] as number[] };
  for (let run = 0; run < runs; run++) {
    const order = run % 2 === 0 ? (['baseline', 'cached'] as const) : (['cached', 'baseline'] as const);
    for (const path of order) {
      const figures = await firstChunk({ streaming, incrementalFlow: path === 'cached' }, seed + 1 + run);
      if (figures.firstChunkFinal) {
        throw new Error(`${name}: the first chunk is the utterance's last; this model needs a longer SCHEDULE_TEXT`);
      }
      times[path].push(figures.ttfaMs);
      log(`${name}, run ${run + 1}/${runs}, ${path}: first audio after ${(figures.ttfaMs / 1000).toFixed(2)} s`);
    }
  }
  const ttfaMs = { baseline: median(times.baseline), cached: median(times.cached) };
  return {
    name,
    ttfaMs,
    ttfaRatio: ttfaMs.cached / ttfaMs.baseline,
    chunkFlowMs: [] as number[],
    baselineChunkFlowMs: [] as number[],
    chunkMelMaxDiff: [] as number[],
    chunkCostRatio: null,
    promptCacheMB: null,
    promptCacheBuildMs: null,
    streamCacheMBPerSecond: null,
    exactStreamSeconds: null,
  };
}
