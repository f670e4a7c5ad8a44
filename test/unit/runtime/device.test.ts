import { describe, expect, it } from 'vitest';
import { TTSError } from '../../../src/errors.ts';
import { executionProviders, NO_GPU, resolveDevice, resolveDtype } from '../../../src/runtime/device.ts';
import type { DeviceCapabilities } from '../../../src/runtime/device.ts';

const GPU: DeviceCapabilities = { webgpu: true, fallbackAdapter: false, shaderF16: true };
const GPU_NO_F16: DeviceCapabilities = { ...GPU, shaderF16: false };
const SWIFTSHADER: DeviceCapabilities = { webgpu: true, fallbackAdapter: true, shaderF16: false };
const ALL = ['fp32', 'fp16', 'fp16w', 'int8', 'q4'] as const;

function code(run: () => unknown): string | undefined {
  try {
    run();
  } catch (e) {
    return (e as TTSError).code;
  }
  return undefined;
}

describe('resolveDevice', () => {
  it.each([
    ['auto', GPU, 'webgpu'],
    ['auto', SWIFTSHADER, 'wasm'], // a software adapter is ~400× slower than wasm (toolchain notes)
    ['auto', NO_GPU, 'wasm'],
    ['webgpu', SWIFTSHADER, 'webgpu'], // explicit requests are honoured (tests exercise the WebGPU path this way)
    ['wasm', GPU, 'wasm'],
  ] as const)('%s on %o → %s', (request, caps, expected) => {
    expect(resolveDevice(request, caps)).toBe(expected);
  });

  it('refuses webgpu without an adapter and unknown devices, listing what is allowed', () => {
    expect(code(() => resolveDevice('webgpu', NO_GPU))).toBe('ERR_DEVICE_UNAVAILABLE');
    expect(() => resolveDevice('webnn' as never, GPU)).toThrow(
      'Unsupported device "webnn". Expected one of: auto, webgpu, wasm.',
    );
  });
});

describe('resolveDtype', () => {
  it.each([
    ['lm', 'webgpu', GPU, ALL, 'q4'],
    ['lm', 'wasm', NO_GPU, ALL, 'int8'],
    ['lm', 'wasm', NO_GPU, ['fp32', 'q4'], 'fp32'],
    ['flow', 'webgpu', GPU, ALL, 'fp16'], // shader-f16: half the download, mel within 0.12 % (variant-error.ts)
    ['flow', 'webgpu', GPU, ['fp32', 'q4', 'int8'], 'fp32'],
    ['flow', 'wasm', NO_GPU, ALL, 'int8'], // 2.8× faster than fp32 on wasm (tools/bench/engine.ts)
    ['flow', 'wasm', NO_GPU, ['fp32', 'q4'], 'fp32'],
    // without shader-f16: fp32 arithmetic on fp16-stored weights, fp32's quality at half its download
    ['flow', 'webgpu', GPU_NO_F16, ALL, 'fp16w'],
    ['flow', 'webgpu', GPU_NO_F16, ['fp32', 'fp16', 'int8', 'q4'], 'fp32'], // a package without fp16w
    // the vocoder computes fp32 everywhere (spec §6.5); fp16w halves its download on every device
    ['vocoder', 'webgpu', GPU, ALL, 'fp16w'],
    ['vocoder', 'webgpu', GPU_NO_F16, ALL, 'fp16w'],
    ['vocoder', 'wasm', NO_GPU, ALL, 'fp16w'],
    ['vocoder', 'wasm', NO_GPU, ['fp32', 'fp16', 'int8', 'q4'], 'fp32'],
    ['lm', 'webgpu', GPU_NO_F16, ['fp16', 'fp32'], 'fp32'], // fp16 needs shader-f16
  ] as const)('auto for %s on %s → best shipped', (stage, device, caps, available, expected) => {
    expect(resolveDtype(stage, 'auto', device, available, caps)).toBe(expected);
  });

  it('honours explicit requests, with errors that list what the package ships', () => {
    expect(resolveDtype('lm', 'fp32', 'webgpu', ALL, GPU)).toBe('fp32');
    expect(() => resolveDtype('lm', 'q4', 'wasm', ['fp32', 'int8'], NO_GPU)).toThrow(
      'dtype "q4" is not available for stage "lm". This model package ships: fp32, int8.',
    );
    expect(code(() => resolveDtype('lm', 'fp16', 'webgpu', ALL, GPU_NO_F16))).toBe('ERR_DEVICE_UNAVAILABLE');
    expect(resolveDtype('vocoder', 'fp16w', 'webgpu', ALL, GPU_NO_F16)).toBe('fp16w'); // no fp16 arithmetic
    expect(code(() => resolveDtype('voice', 'auto', 'wasm', [], NO_GPU))).toBe('ERR_MODEL_FORMAT');
    expect(code(() => resolveDtype('lm', 'int4' as never, 'wasm', ALL, NO_GPU))).toBe('ERR_INVALID_INPUT');
  });
});

describe('executionProviders', () => {
  it('never lists wasm behind webgpu (no silent whole-session fallback)', () => {
    expect(executionProviders('webgpu')).toEqual(['webgpu']);
    expect(executionProviders('wasm')).toEqual(['wasm']);
  });
});
