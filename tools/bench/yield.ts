/**
 * `npx tsx tools/bench/yield.ts [--model test/fixtures/tiny-package] [--dtype fp32] [--tokens 200] [--rounds 5]
 *   [--threads 2]`
 *
 * What yielding to the event loop between LM steps (so an abort lands within one step, `runtime/yield.ts`) costs in
 * decode speed: the same seeded request with and without yielding, alternated round by round so machine load hits
 * both alike, LM calls per second side by side (median of the rounds). The tiny fixture shows the worst case (its
 * steps take well under a millisecond, so the fixed cost of a yield weighs most); the full-size package
 * (`--model build/full-size-package --dtype int8`) shows the real one. Prints figures only.
 */
import { parseArgs } from 'node:util';
import { SpeechLm } from '../../src/models/lm/speech-lm.ts';
import type { Dtype } from '../../src/base/stages.ts';
import { configureOrt, loadOrt } from '../../src/runtime/ort.ts';
import { openBenchPackage, syntheticVoice } from './full-size.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'test/fixtures/tiny-package' },
    dtype: { type: 'string', default: 'fp32' },
    tokens: { type: 'string', default: '200' },
    rounds: { type: 'string', default: '5' },
    threads: { type: 'string', default: '2' },
  },
});
const pkg = await openBenchPackage(values.model);
const ort = await loadOrt('wasm');
configureOrt(ort, { numThreads: Number(values.threads) });
const lm = await SpeechLm.create(pkg, ort, { device: 'wasm', dtype: values.dtype as Dtype });
const voice = syntheticVoice(pkg);
const request = {
  mode: 'zero-shot',
  textIds: Array.from({ length: 40 }, (_, i) => 100 + i),
  promptTextIds: Array.from(voice.promptTextIds),
  promptSpeechIds: Array.from(voice.promptTokens),
} as const;
const maxTokens = Number(values.tokens);

/** LM calls per second of one request, and the calls made. */
async function callsPerSecond(yieldBetweenSteps: boolean): Promise<{ rate: number; calls: number }> {
  const start = performance.now();
  const result = await lm.generate(request, { seed: 1, maxTokens, yieldBetweenSteps });
  return { rate: (result.calls * 1000) / (performance.now() - start), calls: result.calls };
}

const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? Number.NaN;
};
await callsPerSecond(true); // warm-up: first-run kernel setup
const rates = { yielding: [] as number[], 'not yielding': [] as number[] };
let calls = 0;
for (let round = 0; round < Number(values.rounds); round++) {
  const on = await callsPerSecond(true);
  const off = await callsPerSecond(false);
  rates.yielding.push(on.rate);
  rates['not yielding'].push(off.rate);
  calls = on.calls;
}
await lm.dispose();
const [withYield, without] = [median(rates.yielding), median(rates['not yielding'])];
console.log(
  `model ${pkg.manifest.modelId} (${values.model}), LM ${values.dtype}, wasm EP, ${values.threads} thread(s), ` +
    `${calls} LM calls per request, ${values.rounds} rounds, Node ${process.version}`,
);
console.table([
  { mode: 'yield between steps (default)', 'LM calls/s': Number(withYield.toPrecision(4)) },
  { mode: 'no yield', 'LM calls/s': Number(without.toPrecision(4)) },
]);
console.log(`yielding costs ${(100 * (1 - withYield / without)).toFixed(1)} % of decode speed (median of rounds)`);
