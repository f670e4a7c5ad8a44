/**
 * `npx tsx --expose-gc tools/bench/soak.ts [--model test/fixtures/tiny-package] [--utterances 100] [--aborts 1000]`
 *
 * Soak of the one-realm `Engine` (issue #13.6): memory after `--utterances` consecutive syntheses, and after
 * `--aborts` abort cycles (a request aborted by a timer 0–7 event-loop turns after it starts, i.e. before or within its
 * first steps; which stage each abort lands in is not recorded), then one good request on the same engine. Memory is sampled after a forced GC (run with
 * `--expose-gc`; without it the figures include garbage) and reported as growth from the first sample (taken after a
 * warm-up utterance). Prints figures only.
 */
import { parseArgs } from 'node:util';
import { Engine } from '../../src/engine/engine.ts';
import { openBenchPackage, syntheticVoice } from './full-size.ts';
import { loadOrt } from '../../src/runtime/ort.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'test/fixtures/tiny-package' },
    utterances: { type: 'string', default: '100' },
    aborts: { type: 'string', default: '1000' },
  },
});
const pkg = await openBenchPackage(values.model);
const engine = await Engine.create(pkg, await loadOrt('wasm'), { device: 'wasm', dtype: 'fp32' });
const voice = syntheticVoice(pkg);
const TEXT = 'Hello there, a short soak sentence.';
const gc = (globalThis as { gc?: () => void }).gc;

interface Sample {
  readonly rssMb: number;
  readonly heapMb: number;
  readonly arrayBuffersMb: number;
}
function sample(): Sample {
  gc?.();
  const m = process.memoryUsage();
  const mb = (n: number): number => Number((n / 2 ** 20).toFixed(1));
  return { rssMb: mb(m.rss), heapMb: mb(m.heapUsed), arrayBuffersMb: mb(m.arrayBuffers) };
}
const growth = (from: Sample, to: Sample): Sample => ({
  rssMb: Number((to.rssMb - from.rssMb).toFixed(1)),
  heapMb: Number((to.heapMb - from.heapMb).toFixed(1)),
  arrayBuffersMb: Number((to.arrayBuffersMb - from.arrayBuffersMb).toFixed(1)),
});

await engine.synthesize(TEXT, { voice, seed: 0 }); // warm-up
const base = sample();
const rows: Array<Record<string, string | number>> = [];
let audioSeconds = 0;
let start = performance.now();
const utterances = Number(values.utterances);
for (let i = 1; i <= utterances; i++) {
  audioSeconds += (await engine.synthesize(TEXT, { voice, seed: i })).metrics.audioSeconds;
  if (i % Math.max(1, Math.floor(utterances / 4)) === 0 || i === utterances) {
    rows.push({ phase: 'utterances', done: i, ...growth(base, sample()) });
  }
}
const utteranceMs = (performance.now() - start) / utterances;

const outcomes = new Map<string, number>();
const aborts = Number(values.aborts);
const afterUtterances = sample();
start = performance.now();
for (let i = 1; i <= aborts; i++) {
  const controller = new AbortController();
  // an abort armed 0, 1, 2 … 7 event-loop turns into the request (each step yields one turn or more)
  let turns = i % 8;
  const arm = (): void => {
    if (turns-- === 0) controller.abort(new DOMException('soak', 'AbortError'));
    else setImmediate(arm);
  };
  arm();
  const outcome = await engine.synthesize(TEXT, { voice, seed: i, signal: controller.signal }).then(
    () => 'finished',
    (error: unknown) => (error as { name?: string }).name ?? 'other',
  );
  outcomes.set(outcome, (outcomes.get(outcome) ?? 0) + 1);
  if (i % Math.max(1, Math.floor(aborts / 4)) === 0 || i === aborts) {
    rows.push({ phase: 'abort cycles', done: i, ...growth(base, sample()) });
  }
}
const abortMs = (performance.now() - start) / aborts;
const check = await engine.synthesize(TEXT, { voice, seed: 1 });
await engine.dispose();

console.log(
  `model ${pkg.manifest.modelId} (${values.model}), wasm EP, Node ${process.version}, gc ${gc === undefined ? 'NOT exposed (run with --expose-gc)' : 'forced before each sample'}`,
);
console.log(
  `baseline after warm-up: ${JSON.stringify(base)}; after the utterances: ${JSON.stringify(afterUtterances)}`,
);
console.log('growth from the baseline (MB):');
console.table(rows);
console.log(
  `${utterances} utterances: ${audioSeconds.toFixed(1)} s of audio, ${utteranceMs.toFixed(0)} ms each; ` +
    `${aborts} abort cycles: ${abortMs.toFixed(1)} ms each, outcomes ${JSON.stringify(Object.fromEntries(outcomes))}; ` +
    `afterwards a good request gave ${check.samples.length} samples, all finite: ${check.samples.every(Number.isFinite)}`,
);
