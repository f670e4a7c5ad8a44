/**
 * The `dtype: 'auto'` goldens of the tiny fixture (`test/fixtures/variants/auto-<device>.json`, written by
 * `npx tsx tools/bench/variant-golden.ts`): what the package says with `dtype: 'auto'` — the variants `auto` picks —
 * for the golden text, voice and seed, one golden per device `auto` resolves for: `wasm` (int8 LM and flow, fp16w
 * vocoder) and `webgpu` without `shader-f16` (q4 LM, fp16w flow and vocoder; the WebGPU EP computes it in Chromium,
 * test/browser/webgpu-pipeline).
 *
 * Both are computed by the Node Engine on onnxruntime-web's wasm build with the dtypes `auto` picks on that device:
 * its kernels are the browser's (wasm SIMD means the same thing on every CPU, unlike onnxruntime's native x86 int8
 * kernels, which differ with and without VNNI), so a golden needs no GPU to be made or checked in Node.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Device, Stage } from '../../src/base/stages.ts';
import { Engine } from '../../src/engine/engine.ts';
import { resolvePlacement } from '../../src/request/placement.ts';
import type { DeviceCapabilities } from '../../src/runtime/device.ts';
import { NO_GPU } from '../../src/runtime/device.ts';
import { loadOrt } from '../../src/runtime/ort.ts';
import { strided } from './audio.ts';
import { need, readNpz } from './npz.ts';
import { GOLDEN, openPackageDir, ROOT, TINY_PACKAGE } from './package.ts';
import { goldenVoice } from './voice.ts';

/** The devices with an `auto` golden. */
export const AUTO_GOLDEN_DEVICES = ['wasm', 'webgpu'] as const satisfies readonly Device[];

/** The golden file of `device`. */
// not under golden/: `npm run fixtures:check` wants every file there to come from the Python fixtures
export const autoGoldenFile = (device: Device): string => join(ROOT, `test/fixtures/variants/auto-${device}.json`);
/** Every `STRIDE`-th sample is kept: the file stays small, and a wrong stretch of audio still shows. */
const STRIDE = 64;
/**
 * max |Δ| of the kept samples against a wasm run (as the e2e goldens, `E2E_TOLERANCE`). Measured: 0 between two Node
 * runs and between Node and Chromium's wasm (see the tests); the tolerance only absorbs the golden's 9 significant
 * digits and a different rounding of one float somewhere upstream.
 */
export const AUTO_SAMPLE_TOLERANCE = 1e-4;

/**
 * The capabilities the WebGPU golden assumes: a real adapter without `shader-f16` (`auto`'s WebGPU order reaches
 * fp16 for no stage of a package that ships q4 and fp32, so the feature changes nothing; the browser test checks the
 * placement it got against the golden's).
 */
const WEBGPU_CAPS: DeviceCapabilities = { webgpu: true, fallbackAdapter: false, shaderF16: false };

/** Contents of a golden file. */
export interface AutoGolden {
  readonly text: string;
  readonly seed: number;
  /** Where `auto` places each stage on the golden's device (the cloning stage too, when the package has it). */
  readonly placement: Readonly<Record<string, { readonly device: string; readonly dtype: string }>>;
  readonly segmentTokens: number[][];
  readonly samples: number;
  readonly stride: number;
  readonly wave: number[];
}

/** The committed golden of `device`. */
export function readAutoGolden(device: Device): AutoGolden {
  return JSON.parse(readFileSync(autoGoldenFile(device), 'utf8')) as AutoGolden;
}

/** The golden request's text and seed (the e2e golden's `zh` text and seed). */
export function autoGoldenRequest(): { text: string; seed: number } {
  const texts = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
  const text = texts['zh']?.text;
  if (text === undefined) throw new Error('texts.json has no "zh" text');
  return { text, seed: Number((need(readNpz(join(GOLDEN, 'e2e.npz')), 'seed').data as BigInt64Array)[0]) };
}

/** Runs the golden request on the Node Engine (wasm) with the dtypes `dtype: 'auto'` picks on `device`. */
export async function computeAutoGolden(device: Device): Promise<AutoGolden> {
  const pkg = await openPackageDir(TINY_PACKAGE);
  const { text, seed } = autoGoldenRequest();
  const placed = resolvePlacement(pkg.manifest, { device, dtype: 'auto' }, device === 'webgpu' ? WEBGPU_CAPS : NO_GPU);
  const stages = ['lm', 'flow', 'vocoder'] as const satisfies readonly Stage[];
  const dtype = Object.fromEntries(stages.map((stage) => [stage, placed[stage].dtype]));
  const engine = await Engine.create(pkg, await loadOrt('wasm'), { device: 'wasm', dtype });
  try {
    const audio = await engine.synthesize(text, { voice: goldenVoice(pkg), seed });
    return {
      text,
      seed,
      placement: Object.fromEntries(Object.entries(placed).map(([stage, p]) => [stage, { device, dtype: p.dtype }])),
      segmentTokens: audio.segments.map((s) => Array.from(s.tokens)),
      samples: audio.samples.length,
      stride: STRIDE,
      wave: Array.from(strided(audio.samples, STRIDE), (x) => Number(x.toPrecision(9))),
    };
  } finally {
    await engine.dispose();
  }
}
