/**
 * Backend parity page: every quantised graph of the tiny fixture package runs on the WASM EP (the CPU-only build the
 * library ships for wasm) and on the WebGPU EP (`onnxruntime-web/webgpu`) with the same seeded inputs, once each.
 * Exposes `window.variants`; results are plain JSON (per output: max |WebGPU − WASM| and max |WASM|).
 */
import { parseManifest, variantFiles } from '../../../src/loader/manifest.ts';
import { Xoshiro128 } from '../../../src/models/lm/rng.ts';
import { configureOrt, loadOrt } from '../../../src/runtime/ort.ts';
import type { OrtModule, OrtTensor } from '../../../src/runtime/ort.ts';
import { ModelPackage } from '../../../src/runtime/model-package.ts';
import type { GraphSession } from '../../../src/runtime/session.ts';
import type { TensorMap } from '../../../src/runtime/session.ts';
import type { BackendDiff, ParityRequest, VariantsApi } from './api.ts';

const base = new URL('/fixtures/tiny-package/', location.href);
const fetchBytes = async (path: string): Promise<Uint8Array> =>
  new Uint8Array(await (await fetch(new URL(path, base))).arrayBuffer());

/**
 * Sizes of the symbolic axes: long enough to cross the flow's 25-token / 50-frame chunk and to attend over a
 * non-empty LM cache, small enough for SwiftShader.
 */
/** Rows already in the LM cache. */
const PAST = 5;
const AXES: Readonly<Record<string, number>> = {
  sequence: 12,
  past_sequence: PAST,
  total_sequence: 17,
  tokens: 30,
  context: 3,
  frames: 60,
  past_frames: 20,
};

/** Exclusive upper bound of the integer inputs (ids index embedding tables). */
const ID_LIMIT: Readonly<Record<string, number>> = { speech_ids: 6566, tokens: 6561, context: 6561 };

function dims(shape: ReadonlyArray<number | string>): number[] {
  return shape.map((d) => {
    if (typeof d === 'number') return d;
    const size = AXES[d];
    if (size === undefined) throw new Error(`no size for axis "${d}"`);
    return size;
  });
}

/** Seeded feeds for `session`, built from its input metadata; the same seed gives the same values on every EP. */
function seededFeeds(session: GraphSession, seed: number): TensorMap {
  const rng = new Xoshiro128(seed);
  const feeds: TensorMap = {};
  for (const name of session.inputNames) {
    const shape = dims(session.inputShape(name) ?? []);
    const size = shape.reduce((a, b) => a * b, 1);
    if (name === 'attention_mask') {
      feeds[name] = session.tensor('int64', new BigInt64Array(size).fill(1n), shape);
    } else if (name === 'position_ids') {
      feeds[name] = session.tensor(
        'int64',
        BigInt64Array.from({ length: size }, (_, i) => BigInt(PAST + i)),
        shape,
      );
    } else if (name === 'streaming') {
      feeds[name] = session.tensor('bool', new Uint8Array(size).fill(1), shape);
    } else if (name === 't' || name === 'dt') {
      // an interior Euler step: t in (0, 1), dt one tenth
      feeds[name] = session.tensor('float32', Float32Array.of(name === 't' ? 0.3 : 0.1), shape);
    } else if (ID_LIMIT[name] !== undefined) {
      const limit = ID_LIMIT[name];
      feeds[name] = session.tensor(
        'int64',
        BigInt64Array.from({ length: size }, () => BigInt(Math.floor(rng.uniform() * limit))),
        shape,
      );
    } else {
      feeds[name] = session.tensor(
        'float32',
        Float32Array.from({ length: size }, () => rng.normal()),
        shape,
      );
    }
  }
  return feeds;
}

async function outputData(tensor: OrtTensor): Promise<Float32Array> {
  return Float32Array.from((await tensor.getData()) as Float32Array);
}

async function runOn(
  ort: OrtModule,
  device: 'wasm' | 'webgpu',
  pkg: ModelPackage,
  request: ParityRequest,
): Promise<Record<string, Float32Array>> {
  // through the package, as the stages load graphs: a graph's external data (shared estimator weights) comes along
  const session = await pkg.session(ort, request.graph, { device, dtype: request.dtype });
  try {
    const feeds = seededFeeds(session, request.seed);
    const perturbed = request.perturbOnWebGpu;
    if (device === 'webgpu' && perturbed !== undefined) {
      // a stand-in for a kernel bug: one element of one input is wrong on this EP only
      const values = feeds[perturbed.input]?.data as Float32Array;
      values[perturbed.index] = (values[perturbed.index] ?? NaN) + perturbed.delta;
    }
    const outputs = await session.run(feeds);
    const data: Record<string, Float32Array> = {};
    for (const [name, tensor] of Object.entries(outputs)) data[name] = await outputData(tensor);
    return data;
  } finally {
    await session.release();
  }
}

async function compare(request: ParityRequest): Promise<BackendDiff[]> {
  const manifest = parseManifest(JSON.parse(new TextDecoder().decode(await fetchBytes('manifest.json'))));
  const [file] = variantFiles(manifest, request.graph, request.dtype);
  if (file === undefined) throw new Error(`no ${request.dtype} file for ${request.graph}`);
  const pkg = new ModelPackage(manifest, { read: (f) => fetchBytes(f.path) });
  const [wasm, webgpu] = await Promise.all([loadOrt('wasm'), loadOrt('webgpu')]);
  const wasmOut = await runOn(wasm, 'wasm', pkg, request);
  const gpuOut = await runOn(webgpu, 'webgpu', pkg, request);
  return Object.entries(wasmOut).map(([output, expected]) => {
    const actual = gpuOut[output] ?? new Float32Array(0);
    let maxDiff = 0;
    let maxAbs = 0;
    for (const [i, value] of expected.entries()) {
      // a missing WebGPU value is NaN, so it fails the bound
      maxDiff = Math.max(maxDiff, Math.abs((actual[i] ?? NaN) - value));
      maxAbs = Math.max(maxAbs, Math.abs(value));
    }
    return {
      file: file.path,
      output,
      size: expected.length,
      sameSize: actual.length === expected.length,
      maxDiff,
      maxAbs,
    };
  });
}

async function setUp(): Promise<void> {
  const [wasm, webgpu] = await Promise.all([loadOrt('wasm'), loadOrt('webgpu')]);
  // one thread: these sessions run on the page's main thread, which may not block on a wasm thread pool
  for (const ort of [wasm, webgpu])
    configureOrt(ort, { wasmPaths: '/node_modules/onnxruntime-web/dist/', numThreads: 1 });
}

const api: VariantsApi = { compare };
void setUp().then(() => {
  window.variants = api;
  window.testReady = true;
});
