/**
 * Pure device and dtype resolution (house style §10, after transformers.js `selectDevice`/`selectDtype`).
 */
import type { Device, DeviceRequest, Dtype, DtypeRequest, Stage } from '../base/stages.ts';
import { DEVICES, DTYPES } from '../base/stages.ts';
import { invalidInput, TTSError } from '../errors.ts';

/** What the environment offers; filled by capability detection, plain data so resolution stays pure. */
export interface DeviceCapabilities {
  /** A WebGPU adapter was found. */
  readonly webgpu: boolean;
  /** The adapter is a software fallback (e.g. SwiftShader): correct but far slower than wasm. */
  readonly fallbackAdapter: boolean;
  /** The adapter supports `shader-f16`. */
  readonly shaderF16: boolean;
}

/** Capabilities of an environment without WebGPU (Node, or a browser without an adapter). */
export const NO_GPU: DeviceCapabilities = Object.freeze({ webgpu: false, fallbackAdapter: false, shaderF16: false });

/**
 * Order of preference for `dtype: 'auto'`. WebGPU: 4-bit MatMulNBits kernels are fast there, QDQ int8 is slow or
 * wrong (landscape §6). wasm: int8 — `npx tsx tools/bench/engine.ts` on the full-size package measured the LM at
 * 22.4 tokens/s int8 vs 2.9 q4, and the flow at 3.9 s per audio second int8 vs 6.6 fp32 (its measured error,
 * docs/model-package.md: 1.2e-3 relative per Euler step). The flow on WebGPU: fp16 where the adapter has
 * `shader-f16` (half the download: 457 → 232 MB full size; `tools/bench/variant-error.ts` puts its mel within 0.12 % of
 * fp32's peak, 7× closer than the wasm int8 default, and upstream itself runs the flow in half precision on GPUs), else
 * fp16w — fp32 arithmetic on fp16-stored weights, the same download without `shader-f16` (fp16 is not usable there;
 * q4 moves the mel by 11 %). A run that overflows fp16 gives non-finite values, which the worker's WebGPU self-test
 * turns into a wasm fallback. The vocoder: fp16w on every device (84 → 43 MB): HiFT's F0 path breaks in fp16
 * arithmetic (spec §6.5), not on weights one fp16 rounding away, which move the waveform less than the int8 flow does
 * (docs/model-package.md). A package without fp16w falls through to the next entry.
 */
const AUTO_DTYPE_ORDER: Readonly<Record<Stage, Readonly<Record<Device, readonly Dtype[]>>>> = {
  lm: { webgpu: ['q4', 'fp16', 'fp32', 'fp16w', 'int8'], wasm: ['int8', 'fp32', 'fp16w', 'fp16', 'q4'] },
  flow: { webgpu: ['fp16', 'fp16w', 'fp32', 'q4', 'int8'], wasm: ['int8', 'fp16w', 'fp32', 'fp16', 'q4'] },
  vocoder: { webgpu: ['fp16w', 'fp32', 'fp16', 'int8', 'q4'], wasm: ['fp16w', 'fp32', 'int8', 'fp16', 'q4'] },
  voice: { webgpu: ['fp32', 'fp16', 'fp16w', 'int8', 'q4'], wasm: ['fp32', 'fp16', 'fp16w', 'int8', 'q4'] },
};

/** Checks that `value` is one of `allowed`, with a message that lists the allowed values. */
export function assertOneOf<T extends string>(what: string, value: unknown, allowed: readonly T[]): T {
  if (typeof value === 'string' && (allowed as readonly string[]).includes(value)) return value as T;
  throw invalidInput(`Unsupported ${what} ${JSON.stringify(value)}. Expected one of: ${allowed.join(', ')}.`, {
    value,
    allowed,
  });
}

/**
 * Resolves a device request.
 *
 * `'auto'` picks WebGPU only on a real (non-fallback) adapter: on a software adapter ORT's WebGPU EP is ~400× slower
 * than wasm (toolchain notes). An explicit `'webgpu'` without any adapter is an error.
 *
 * @throws {TTSError} ERR_INVALID_INPUT for an unknown request; ERR_DEVICE_UNAVAILABLE for webgpu without adapter.
 */
export function resolveDevice(request: DeviceRequest, caps: DeviceCapabilities): Device {
  const value = assertOneOf('device', request, ['auto', ...DEVICES]);
  if (value === 'auto') return caps.webgpu && !caps.fallbackAdapter ? 'webgpu' : 'wasm';
  if (value === 'webgpu' && !caps.webgpu) {
    throw new TTSError('ERR_DEVICE_UNAVAILABLE', 'device "webgpu" was requested but no WebGPU adapter is available.', {
      details: { requested: 'webgpu' },
    });
  }
  return value;
}

/**
 * Resolves a dtype request for one stage, given the variants the model package ships for it.
 *
 * @throws {TTSError} ERR_INVALID_INPUT if the requested dtype is not shipped; ERR_DEVICE_UNAVAILABLE for fp16 on
 *   WebGPU without `shader-f16`.
 */
export function resolveDtype(
  stage: Stage,
  request: DtypeRequest,
  device: Device,
  available: readonly Dtype[],
  caps: DeviceCapabilities,
): Dtype {
  const value = assertOneOf('dtype', request, ['auto', ...DTYPES]);
  if (available.length === 0) {
    throw new TTSError('ERR_MODEL_FORMAT', `The model package ships no variant for stage "${stage}".`, {
      details: { stage },
    });
  }
  const usable = (d: Dtype): boolean =>
    available.includes(d) && !(device === 'webgpu' && d === 'fp16' && !caps.shaderF16);
  if (value !== 'auto') {
    if (!available.includes(value)) {
      throw invalidInput(
        `dtype "${value}" is not available for stage "${stage}". This model package ships: ${available.join(', ')}.`,
        { stage, requested: value, available },
      );
    }
    if (!usable(value)) {
      throw new TTSError('ERR_DEVICE_UNAVAILABLE', `dtype "fp16" on WebGPU needs the "shader-f16" feature.`, {
        details: { stage, requested: value },
      });
    }
    return value;
  }
  const pick = AUTO_DTYPE_ORDER[stage][device].find(usable);
  if (pick === undefined) {
    throw new TTSError(
      'ERR_DEVICE_UNAVAILABLE',
      `No variant of stage "${stage}" runs on ${device} here (shipped: ${available.join(', ')}).`,
      { details: { stage, device, available } },
    );
  }
  return pick;
}

/**
 * Execution providers for a device. WebGPU is listed alone on purpose: with `['webgpu', 'wasm']` onnxruntime-web
 * silently runs the whole session on wasm when the WebGPU backend cannot start, and we would report (and size
 * dtypes for) a device we are not using. Ops the WebGPU EP lacks still fall back to the CPU per node; a backend that
 * cannot start makes session creation fail, which the stage workers turn into an explicit, reported wasm fallback.
 */
export function executionProviders(device: Device): readonly string[] {
  return device === 'webgpu' ? ['webgpu'] : ['wasm'];
}
