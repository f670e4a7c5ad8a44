/**
 * `npx tsx tools/bench/flow-window.ts [--model test/fixtures/tiny-package] [--flow fp32] [--threads 2] [--json FILE]`
 *
 * Bounded memory for long streams (issue #11 items 3–4), accuracy against cost: one long utterance (random tokens, as
 * long as the package's noise buffer allows after a synthetic 87-token voice) streamed with upstream's schedule by
 * - today's re-solving flow (the reference every row is compared with),
 * - the incremental flow with no limit, and under budgets holding the voice's prompt chunks plus the last W chunks
 *   (`flowCacheMB`; older keys/values dropped),
 * - today's bounded context (`streaming.contextTokens` K: every call re-solves from K tokens back),
 * - the incremental flow with a chunk-causal final chunk (`finalChunkAttention: 'chunk-causal'`).
 * Per row: the largest mel difference from the reference over the non-final chunks and on the final chunk, the frames
 * the flow solved and the tokens it encoded in all, the flow time, and the cache the stream held at most. Prints a
 * Markdown table (the one in docs/architecture.md); `--json FILE` writes the rows. On the tiny random-weight package
 * the differences show the mechanism, not the audible effect (that needs the real weights); times on a shared 2-core
 * machine are indicative.
 */
import { writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import type { Dtype } from '../../src/base/stages.ts';
import { FlowMatcher } from '../../src/models/flow/flow-matcher.ts';
import { IncrementalFlow } from '../../src/models/flow/incremental-flow.ts';
import { promptCacheFrames } from '../../src/models/flow/incremental-plan.ts';
import { Xoshiro128 } from '../../src/models/lm/rng.ts';
import type { FlowStreamOptions, MelChunk } from '../../src/models/token2wav.ts';
import { FlowStream } from '../../src/models/token2wav.ts';
import { configureOrt, loadOrt } from '../../src/runtime/ort.ts';
import { maxAbsDiff } from '../../test/helpers/npz.ts';
import { openBenchPackage, syntheticVoice } from './full-size.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'test/fixtures/tiny-package' },
    flow: { type: 'string', default: 'fp32' },
    threads: { type: 'string', default: '2' },
    json: { type: 'string' },
  },
});
const pkg = await openBenchPackage(values.model);
const ort = await loadOrt('wasm');
configureOrt(ort, { numThreads: Number(values.threads) });
const placement = { device: 'wasm' as const, dtype: values.flow as Dtype };
const flow = await FlowMatcher.create(pkg, ort, placement);
const created = await IncrementalFlow.create(flow, pkg, ort, placement);
if (created === undefined) throw new Error(`${values.model} has no flow_step_incremental (${values.flow})`);
const incremental: IncrementalFlow = created;

const voice = syntheticVoice(pkg);
const { chunkTokens, preLookahead, noiseFrames, nTimesteps } = pkg.manifest.config.flow;
const { tokenMelRatio } = pkg.manifest.config;
const rng = new Xoshiro128(7);
const speechTokens = voice.model.speechTokenSize;
const count = noiseFrames / tokenMelRatio - voice.promptTokens.length;
const utterance = Array.from({ length: count }, () => Math.floor(rng.uniform() * speechTokens));
const head = promptCacheFrames({
  promptTokens: voice.promptTokens.length,
  chunkTokens,
  lookahead: preLookahead,
  tokenMelRatio,
});
const chunk = incremental.chunkFrames;
const MiB = 2 ** 20;

async function stream(options: FlowStreamOptions): Promise<{ chunks: MelChunk[]; ms: number }> {
  const s = new FlowStream(flow, voice, options);
  s.push(utterance);
  s.end();
  const chunks: MelChunk[] = [];
  const start = performance.now();
  for (let c = await s.next(); c !== undefined; c = await s.next()) chunks.push(c);
  return { chunks, ms: performance.now() - start };
}

// warm the voice's prompt cache so the rows compare streams, not its one-time build
await incremental.promptPrefix(voice, nTimesteps);
const reference = await stream({});
const finalStart = tokenMelRatio * (voice.promptTokens.length + (reference.chunks.at(-1)?.tokenOffset ?? 0));
const fullKept = Math.floor(finalStart / chunk) * chunk;

interface Row {
  readonly name: string;
  readonly nonFinalMaxDiff: number;
  readonly finalMaxDiff: number;
  readonly solvedFrames: number;
  /** Tokens encoded in all (the encoder's cost driver). */
  readonly encodedTokens: number;
  readonly flowMs: number;
  readonly cacheMiB: number;
}

const rows: Row[] = [];
/** `heldFrames`: frames of keys/values the stream holds at most (`undefined`: no cache). */
async function measure(name: string, options: FlowStreamOptions, heldFrames?: number): Promise<void> {
  const { chunks, ms } = await stream(options);
  const diffs = chunks.map((c, i) => maxAbsDiff(c.mel.data, reference.chunks[i]?.mel.data ?? []));
  rows.push({
    name,
    nonFinalMaxDiff: Math.max(0, ...diffs.slice(0, -1)),
    finalMaxDiff: diffs.at(-1) ?? 0,
    solvedFrames: chunks.reduce((n, c) => n + c.solvedFrames, 0),
    encodedTokens: chunks.reduce((n, c) => n + c.encodedTokens, 0),
    flowMs: ms,
    cacheMiB: heldFrames === undefined ? 0 : incremental.cacheBytes(heldFrames, nTimesteps) / MiB,
  });
}

rows.push({
  name: 're-solve (today, reference)',
  nonFinalMaxDiff: 0,
  finalMaxDiff: 0,
  solvedFrames: reference.chunks.reduce((n, c) => n + c.solvedFrames, 0),
  encodedTokens: reference.chunks.reduce((n, c) => n + c.encodedTokens, 0),
  flowMs: reference.ms,
  cacheMiB: 0,
});
await measure('incremental, no limit', { incremental, maxCacheBytes: Infinity }, fullKept);
for (const w of [1, 2]) {
  const held = head + w * chunk;
  const budget = incremental.cacheBytes(held, nTimesteps);
  await measure(
    `incremental, budget = prompt + ${w} chunk${w > 1 ? 's' : ''}`,
    { incremental, maxCacheBytes: budget },
    Math.min(held, fullKept),
  );
}
for (const k of [chunkTokens, 2 * chunkTokens]) {
  await measure(`re-solve, contextTokens ${k}`, { policy: { contextTokens: k } });
}
await measure(
  "incremental, finalChunkAttention 'chunk-causal'",
  { incremental, finalChunkAttention: 'chunk-causal' },
  fullKept,
);
await Promise.all([flow.release(), incremental.release()]);

console.log(
  `${values.model} (${values.flow}), ${count} tokens after a ` +
    `${voice.promptTokens.length}-token voice (prompt cache ${head} frames), ${reference.chunks.length} chunks, ` +
    `${nTimesteps} steps; max |mel| ${Math.max(...reference.chunks.flatMap((c) => Array.from(c.mel.data, Math.abs))).toFixed(2)}\n`,
);
console.log(
  '| flow path | max \\|Δmel\\| non-final | max \\|Δmel\\| final | frames solved | tokens encoded | flow ms | ' +
    'cache held MiB |',
);
console.log('|---|---|---|---|---|---|---|');
for (const r of rows) {
  console.log(
    `| ${r.name} | ${r.nonFinalMaxDiff.toExponential(1)} | ${r.finalMaxDiff.toExponential(1)} | ${r.solvedFrames} | ` +
      `${r.encodedTokens} | ${r.flowMs.toFixed(0)} | ${r.cacheMiB.toFixed(2)} |`,
  );
}
if (values.json !== undefined) await writeFile(values.json, JSON.stringify({ rows }, null, 2));
