/**
 * The `dtype: 'auto'` golden of the tiny fixture (`test/fixtures/variants/auto-wasm.json`, written by
 * `npx tsx tools/bench/variant-golden.ts`): what the package says with `device: 'wasm', dtype: 'auto'` — the quantised
 * variants `auto` picks on wasm — for the golden text, voice and seed. Computed by the Node Engine on
 * onnxruntime-web's wasm build, whose kernels are the browser's (wasm SIMD means the same thing on every CPU, unlike
 * onnxruntime's native x86 int8 kernels, which differ with and without VNNI).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Engine } from '../../src/engine/engine.ts';
import { loadOrt } from '../../src/runtime/ort.ts';
import { strided } from './audio.ts';
import { need, readNpz } from './npz.ts';
import { GOLDEN, openPackageDir, ROOT, TINY_PACKAGE } from './package.ts';
import { goldenVoice } from './voice.ts';

/** The golden file. */
// not under golden/: `npm run fixtures:check` wants every file there to come from the Python fixtures
export const AUTO_WASM_GOLDEN = join(ROOT, 'test/fixtures/variants/auto-wasm.json');
/** Every `STRIDE`-th sample is kept: the file stays small, and a wrong stretch of audio still shows. */
const STRIDE = 64;
/**
 * max |Δ| of the kept samples (as the e2e goldens, `E2E_TOLERANCE`). Measured: 0 between two Node runs and between
 * Node and Chromium's wasm (see the tests); the tolerance only absorbs the golden's 9 significant digits and a
 * different rounding of one float somewhere upstream.
 */
export const AUTO_SAMPLE_TOLERANCE = 1e-4;

/** Contents of {@link AUTO_WASM_GOLDEN}. */
export interface AutoWasmGolden {
  readonly text: string;
  readonly seed: number;
  readonly placement: Readonly<Record<string, { readonly device: string; readonly dtype: string }>>;
  readonly segmentTokens: number[][];
  readonly samples: number;
  readonly stride: number;
  readonly wave: number[];
}

/** The committed golden. */
export function readAutoWasmGolden(): AutoWasmGolden {
  return JSON.parse(readFileSync(AUTO_WASM_GOLDEN, 'utf8')) as AutoWasmGolden;
}

/** The golden request's text and seed (the e2e golden's `zh` text and seed). */
export function autoGoldenRequest(): { text: string; seed: number } {
  const texts = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
  const text = texts['zh']?.text;
  if (text === undefined) throw new Error('texts.json has no "zh" text');
  return { text, seed: Number((need(readNpz(join(GOLDEN, 'e2e.npz')), 'seed').data as BigInt64Array)[0]) };
}

/** Runs the golden request on the Node Engine with `device: 'wasm', dtype: 'auto'`. */
export async function computeAutoWasm(): Promise<AutoWasmGolden> {
  const pkg = await openPackageDir(TINY_PACKAGE);
  const { text, seed } = autoGoldenRequest();
  const engine = await Engine.create(pkg, await loadOrt('wasm'), { device: 'wasm', dtype: 'auto' });
  try {
    const audio = await engine.synthesize(text, { voice: goldenVoice(pkg), seed });
    return {
      text,
      seed,
      placement: Object.fromEntries(
        Object.entries(engine.placement).map(([stage, p]) => [stage, { device: p.device, dtype: p.dtype }]),
      ),
      segmentTokens: audio.segments.map((s) => Array.from(s.tokens)),
      samples: audio.samples.length,
      stride: STRIDE,
      wave: Array.from(strided(audio.samples, STRIDE), (x) => Number(x.toPrecision(9))),
    };
  } finally {
    await engine.dispose();
  }
}
