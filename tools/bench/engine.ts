/**
 * `npx tsx tools/bench/engine.ts [--model build/full-size-package] [--lm int8,q4] [--flow fp32,int8,q4]
 *   [--flow-steps 10,5] [--vocoder fp32,fp16w] [--threads 2]`
 *
 * Speed of the three stages on onnxruntime-web's wasm EP in Node, per weight variant, measured side by side in one
 * run: LM prefill and decode tokens/s, flow (encoder + N CFG Euler steps, for each `--flow-steps`) and HiFT per second
 * of audio (with its session's load time: fp16w's casts are folded into fp32 weights there, so its runs should cost
 * fp32's). An empty list (`--lm ''`) skips a stage; variants the package does not ship are skipped. Build the
 * full-size random-weight package first with `.venv/bin/python -m tools.fixtures.full_size` (the real model's shapes,
 * so its compute cost). Prints figures only; absolute times on these shared 2-core machines are indicative, the
 * ratios between variants are the point. Real time needs ≥ 25 LM tokens/s and flow + vocoder < 1 s per audio second.
 *
 * The fp32 LM is not benchmarked by default: its 1.46 GB graph does not fit the 4 GB wasm32 heap next to its own
 * parsed weights and the text-embedding table (std::bad_alloc), so browsers can only run the LM quantised on wasm.
 */
import { parseArgs } from 'node:util';
import { stageDtypes } from '../../src/loader/manifest.ts';
import { FlowMatcher } from '../../src/models/flow/flow-matcher.ts';
import { Xoshiro128 } from '../../src/models/lm/rng.ts';
import { SpeechLm } from '../../src/models/lm/speech-lm.ts';
import { Vocoder } from '../../src/models/vocoder/vocoder.ts';
import type { Dtype } from '../../src/base/stages.ts';
import { configureOrt, loadOrt } from '../../src/runtime/ort.ts';
import { openBenchPackage, syntheticVoice } from './full-size.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'build/full-size-package' },
    lm: { type: 'string', default: 'int8,q4' },
    flow: { type: 'string', default: 'fp32,int8,q4' },
    'flow-steps': { type: 'string', default: '10,5' },
    vocoder: { type: 'string', default: 'fp32,fp16w' },
    threads: { type: 'string', default: '2' },
    tokens: { type: 'string', default: '30' },
  },
});
const pkg = await openBenchPackage(values.model);
const { manifest } = pkg;
const ort = await loadOrt('wasm');
configureOrt(ort, { numThreads: Number(values.threads) });
const now = (): number => performance.now();
const sr = manifest.config.sampleRate;
const { promptTokens, promptFeat, embedding } = syntheticVoice(pkg);
const rng = new Xoshiro128(2);
const textIds = Array.from({ length: 20 }, (_, i) => 100 + i);
const tokens = Array.from({ length: 100 }, () => Math.floor(rng.uniform() * 6561));

interface Row {
  stage: string;
  dtype: string;
  [k: string]: string | number;
}
const rows: Row[] = [];
const maxTokens = Number(values.tokens);
const list = (value: string): string[] => value.split(',').filter((v) => v !== '');
for (const dtype of list(values.lm) as Dtype[]) {
  let t = now();
  const lm = await SpeechLm.create(pkg, ort, { device: 'wasm', dtype });
  const loadS = (now() - t) / 1000;
  let first = 0;
  t = now();
  await lm.generate(
    { mode: 'zero-shot', textIds, promptTextIds: textIds.slice(0, 10), promptSpeechIds: Array.from(promptTokens) },
    {
      seed: 1,
      maxTokens,
      onToken: (_tok, i) => {
        if (i === 0) first = now();
      },
    },
  );
  const end = now();
  rows.push({
    stage: 'lm',
    dtype,
    'load s': loadS,
    'prefill ms (119 rows)': first - t,
    'tokens/s': ((maxTokens - 1) * 1000) / (end - first),
  });
  await lm.dispose();
  console.error(`bench: lm ${dtype} done`);
}
let mel: Awaited<ReturnType<FlowMatcher['decode']>>['mel'] | undefined;
for (const dtype of list(values.flow) as Dtype[]) {
  let t = now();
  const flow = await FlowMatcher.create(pkg, ort, { device: 'wasm', dtype });
  const loadS = (now() - t) / 1000;
  // warm-up (first-run kernel setup), so the step counts compare fairly
  await flow.decode({ promptTokens, promptFeat, embedding }, tokens.slice(0, 10), {
    streaming: false,
    finalize: true,
    steps: 1,
  });
  for (const steps of list(values['flow-steps']).map(Number)) {
    t = now();
    const decoded = await flow.decode({ promptTokens, promptFeat, embedding }, tokens, {
      streaming: false,
      finalize: true,
      steps,
    });
    mel ??= decoded.mel;
    const audioSeconds = (decoded.mel.frames * manifest.config.samplesPerMelFrame) / sr;
    rows.push({ stage: 'flow', dtype, steps, 'load s': loadS, 's per audio s': (now() - t) / 1000 / audioSeconds });
  }
  await flow.release();
  console.error(`bench: flow ${dtype} done`);
}
const vocoderDtypes = (list(values.vocoder) as Dtype[]).filter((d) => stageDtypes(manifest, 'vocoder').includes(d));
for (const dtype of mel === undefined ? [] : vocoderDtypes) {
  const loadStart = now();
  const vocoder = await Vocoder.create(pkg, ort, { device: 'wasm', dtype });
  const loadS = (now() - loadStart) / 1000;
  const audioSeconds = ((mel?.frames ?? NaN) * manifest.config.samplesPerMelFrame) / sr;
  for (let run = 0; run < 2; run++) {
    // the second run is the one a stream sees: the first also pays the kernels' first-use costs
    const t = now();
    if (mel !== undefined) await vocoder.synthesize(mel, { rng: new Xoshiro128(run + 1) });
    const s = (now() - t) / 1000 / audioSeconds;
    if (run === 1) rows.push({ stage: 'vocoder', dtype, 'load s': loadS, 's per audio s': s });
  }
  await vocoder.release();
}

// ratios within a stage, measured in this run: LM tokens/s vs its first variant, flow time vs its first row
const firstOf = (stage: string): Row | undefined => rows.find((r) => r.stage === stage);
const ratio = (r: Row): number | string => {
  const base = firstOf(r.stage);
  const key = r.stage === 'lm' ? 'tokens/s' : 's per audio s';
  const [a, b] = [r[key], base?.[key]];
  return typeof a === 'number' && typeof b === 'number' ? Number((a / b).toFixed(2)) : '';
};
console.log(`model ${manifest.modelId}, wasm EP, ${values.threads} thread(s), Node ${process.version}`);
console.table(
  rows.map((r) => ({
    ...Object.fromEntries(Object.entries(r).map(([k, v]) => [k, typeof v === 'number' ? Number(v.toPrecision(3)) : v])),
    'vs first of stage': ratio(r),
  })),
);
