/**
 * `npx tsx tools/bench/flow-step.ts [--model build/full-size-package] [--dtype int8] [--kept 150] [--new 100]
 * [--threads 2] [--runs 3]`
 *
 * Cost of one CFG Euler step of the flow estimator on onnxruntime-web's wasm EP in Node (the browser's kernels), the
 * two graphs side by side: `flow_step` re-solving `kept + new` frames (what a re-solving stream's call integrates)
 * against `flow_step_incremental` solving the `new` frames on `kept` frames of keys/values (what the incremental
 * flow's call does; issue #11), and both on the `new` frames alone (the incremental graph's own overhead). A solve is
 * `flowSteps` (10) of these. Defaults: upstream's first call after a 3.5 s prompt — the prompt cache's 150 frames, 100
 * frames solved. Inputs are seeded noise and a constant cache (the cost does not depend on the values). Best of
 * `--runs` after one warm-up run each.
 */
import { parseArgs } from 'node:util';
import type { Dtype } from '../../src/base/stages.ts';
import { Xoshiro128 } from '../../src/models/lm/rng.ts';
import type { GraphSession } from '../../src/runtime/session.ts';
import { configureOrt, loadOrt } from '../../src/runtime/ort.ts';
import { openBenchPackage } from './full-size.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'build/full-size-package' },
    dtype: { type: 'string', default: 'int8' },
    kept: { type: 'string', default: '150' },
    new: { type: 'string', default: '100' },
    threads: { type: 'string', default: '2' },
    runs: { type: 'string', default: '3' },
  },
});
const [kept, fresh, runs] = [Number(values.kept), Number(values.new), Number(values.runs)];
const pkg = await openBenchPackage(values.model);
const ort = await loadOrt('wasm');
configureOrt(ort, { numThreads: Number(values.threads) });
const options = { device: 'wasm' as const, dtype: values.dtype as Dtype };
const full = await pkg.session(ort, 'flow_step', options);
const incremental = await pkg.session(ort, 'flow_step_incremental', options);
const mels = pkg.manifest.config.melBins;
const rng = new Xoshiro128(1);

/** The feeds both graphs share, for `frames` frames. */
function stepFeeds(s: GraphSession, frames: number): Record<string, ReturnType<GraphSession['tensor']>> {
  const noise = (): Float32Array => Float32Array.from({ length: mels * frames }, () => rng.uniform() - 0.5);
  return {
    x: s.tensor('float32', noise(), [1, mels, frames]),
    mu: s.tensor('float32', noise(), [1, mels, frames]),
    cond: s.tensor('float32', noise(), [1, mels, frames]),
    spks: s.tensor('float32', new Float32Array(mels).fill(0.1), [1, mels]),
    t: s.tensor('float32', Float32Array.of(0.3), [1]),
    dt: s.tensor('float32', Float32Array.of(0.1), [1]),
  };
}

/** Feeds of the incremental graph: its cache dimensions are read from the graph. */
function incrementalFeeds(frames: number, keptFrames: number): Record<string, ReturnType<GraphSession['tensor']>> {
  const kv = incremental.inputShape('past_kv');
  const conv = incremental.inputShape('conv_state');
  if (kv === undefined || conv === undefined) throw new Error('flow_step_incremental has no past_kv / conv_state');
  // the one symbolic dimension of past_kv is its frame axis (docs/model-package.md)
  if (kv.filter((d) => typeof d === 'string').length !== 1) throw new Error(`past_kv dims ${kv.join(', ')}`);
  const kvDims = kv.map((d) => (typeof d === 'string' ? keptFrames : d));
  const convDims = conv.map(Number);
  return {
    ...stepFeeds(incremental, frames),
    past_kv: incremental.tensor('float32', new Float32Array(kvDims.reduce((a, b) => a * b, 1)).fill(0.01), kvDims),
    conv_state: incremental.tensor('float32', new Float32Array(convDims.reduce((a, b) => a * b, 1)), convDims),
  };
}

/** Best wall time of `runs` runs after a warm-up. */
async function best(session: GraphSession, feeds: Record<string, ReturnType<GraphSession['tensor']>>): Promise<number> {
  await session.run(feeds);
  let ms = Infinity;
  for (let i = 0; i < runs; i++) {
    const start = performance.now();
    await session.run(feeds);
    ms = Math.min(ms, performance.now() - start);
  }
  return ms;
}

const streaming = (frames: number): Record<string, ReturnType<GraphSession['tensor']>> => ({
  ...stepFeeds(full, frames),
  streaming: full.tensor('bool', Uint8Array.of(1), [1]),
});
const rows = {
  [`re-solve ${kept + fresh} frames (flow_step)`]: await best(full, streaming(kept + fresh)),
  [`incremental ${fresh} new on ${kept} kept`]: await best(incremental, incrementalFeeds(fresh, kept)),
  [`incremental ${fresh} new on 0 kept`]: await best(incremental, incrementalFeeds(fresh, 0)),
  [`flow_step on ${fresh} frames`]: await best(full, streaming(fresh)),
};
await Promise.all([full.release(), incremental.release()]);
const baseline = Object.values(rows)[0] ?? NaN;
console.log(`${pkg.manifest.modelId}, ${values.dtype}, wasm EP, ${values.threads} thread(s): one CFG Euler step`);
console.table(
  Object.entries(rows).map(([call, ms]) => ({
    call,
    ms: Math.round(ms),
    'vs re-solve': Number((ms / baseline).toFixed(2)),
  })),
);
