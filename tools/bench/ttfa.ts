/**
 * `npx tsx tools/bench/ttfa.ts [--model build/full-size-package] [--lm int8] [--flow int8] [--threads 2] [--runs 2]`
 *
 * Time to first audio of `Engine.stream()` on the full-size random-weight package (the real model's shapes, so its
 * compute; build it with `.venv/bin/python -m tools.fixtures.full_size`), for the streaming schedules side by side in
 * one run: upstream's (first chunk = 25 + prompt pad + 3 look-ahead tokens, 10 Euler steps), a first hop equal to
 * the prompt pad (same mel as upstream, see src/models/chunk-policy.ts), and that hop with a 5-step first chunk.
 * Each run stops after the first chunk. One realm (Node): the LM, flow and HiFT take turns, whereas in the browser
 * they overlap in their workers, so this is an upper bound of the browser's TTFA on the same CPU. Prints figures
 * only; absolute times on these shared 2-core machines are indicative, the ratios are the point.
 */
import { parseArgs } from 'node:util';
import { Engine } from '../../src/engine/engine.ts';
import type { StreamingOptions } from '../../src/request/options.ts';
import type { Dtype } from '../../src/base/stages.ts';
import { configureOrt, loadOrt } from '../../src/runtime/ort.ts';
import { PROMPT_TOKENS, openBenchPackage, syntheticVoice } from './full-size.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'build/full-size-package' },
    lm: { type: 'string', default: 'int8' },
    flow: { type: 'string', default: 'int8' },
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '2' },
  },
});
const pkg = await openBenchPackage(values.model);
const ort = await loadOrt('wasm');
configureOrt(ort, { numThreads: Number(values.threads) });
const now = (): number => performance.now();
const sr = pkg.manifest.config.sampleRate;
const chunk = pkg.manifest.config.flow.chunkTokens;
const pad = Math.ceil(PROMPT_TOKENS / chunk) * chunk - PROMPT_TOKENS;

const t = now();
const engine = await Engine.create(pkg, ort, {
  device: 'wasm',
  dtype: { lm: values.lm as Dtype, flow: values.flow as Dtype, vocoder: 'fp32' },
});
console.error(`bench: engine ready in ${((now() - t) / 1000).toFixed(1)} s`);
const voice = syntheticVoice(pkg);
const text = 'The quick brown fox jumps over the lazy dog near the quiet river bank today.';

const schedules: Array<[string, StreamingOptions]> = [
  ['upstream (first chunk 25 + pad tokens, 10 steps)', {}],
  [`firstHop ${pad} (= pad, same mel)`, { firstHop: pad }],
  [`firstHop ${pad} + firstChunkFlowSteps 5`, { firstHop: pad, firstChunkFlowSteps: 5 }],
];

/** Milliseconds to the first chunk and its length; the request is cancelled after it. */
async function firstChunk(streaming: StreamingOptions, seed: number): Promise<{ ms: number; audioS: number }> {
  const start = now();
  for await (const c of engine.stream(text, { voice, seed, streaming })) {
    return { ms: now() - start, audioS: c.samples.length / sr };
  }
  throw new Error('no audio');
}

await firstChunk({ firstHop: pad, firstChunkFlowSteps: 1 }, 0); // warm-up (first-run kernel setup)
const rows: Array<Record<string, string | number>> = [];
for (const [name, streaming] of schedules) {
  const times: number[] = [];
  let audioS = 0;
  for (let run = 0; run < Number(values.runs); run++) {
    const r = await firstChunk(streaming, run + 1);
    times.push(r.ms);
    audioS = r.audioS;
  }
  const best = Math.min(...times);
  rows.push({ schedule: name, 'TTFA s (best)': best / 1000, 'first chunk audio s': audioS });
  console.error(`bench: ${name} done`);
}
const base = rows[0]?.['TTFA s (best)'];
console.log(
  `model ${pkg.manifest.modelId}, wasm EP, LM ${values.lm}, flow ${values.flow}, ${values.threads} thread(s), ` +
    `prompt ${PROMPT_TOKENS} tokens, Node ${process.version}`,
);
console.table(
  rows.map((r) => ({
    ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toPrecision(3)) : v])),
    'vs upstream': typeof base === 'number' ? Number(((r['TTFA s (best)'] as number) / base).toFixed(2)) : '',
  })),
);
await engine.dispose();
