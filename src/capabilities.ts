/**
 * What this browser (or worker) offers, detected without downloading any model: WebGPU adapter (and whether it is a
 * software fallback such as SwiftShader), `shader-f16`, cross-origin isolation (SharedArrayBuffer, wasm threads),
 * AudioWorklet, WebAssembly SIMD. Safe to call in Node (everything false) and in SSR.
 */
import type { DeviceCapabilities } from './runtime/device.ts';

/** Environment capabilities. */
export interface Capabilities extends DeviceCapabilities {
  /** Adapter vendor/architecture (for the per-adapter device decision), empty without WebGPU. */
  readonly adapter: { readonly vendor: string; readonly architecture: string; readonly description: string };
  /** `crossOriginIsolated`: SharedArrayBuffer and multi-threaded wasm are available. */
  readonly crossOriginIsolated: boolean;
  /** `AudioWorkletNode` exists (main thread only). */
  readonly audioWorklet: boolean;
  /** WebAssembly with SIMD (required by onnxruntime-web). */
  readonly wasmSimd: boolean;
  /** `navigator.hardwareConcurrency` (1 when unknown). */
  readonly hardwareConcurrency: number;
}

// (module (func (result v128) (v128.const i32x4 0 0 0 0)))
const SIMD_PROBE = new Uint8Array([
  0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, 22, 1, 20, 0, 253, 12, 0, 0, 0, 0, 0, 0, 0, 0, 0,
  0, 0, 0, 0, 0, 0, 0, 11,
]);

function wasmSimd(): boolean {
  try {
    return typeof WebAssembly === 'object' && WebAssembly.validate(SIMD_PROBE);
  } catch {
    return false;
  }
}

interface GpuLike {
  requestAdapter(options?: { powerPreference?: string }): Promise<AdapterLike | null>;
}
interface AdapterLike {
  readonly features: { has(name: string): boolean };
  readonly info?: { vendor?: string; architecture?: string; description?: string; isFallbackAdapter?: boolean };
  readonly isFallbackAdapter?: boolean;
}

/**
 * Detects the capabilities of the current realm. Never throws; a failing WebGPU probe counts as "no WebGPU".
 *
 * @example
 * ```ts
 * const caps = await detectCapabilities();
 * if (!caps.webgpu) showNotice('This browser will synthesise on the CPU (slower).');
 * ```
 */
export async function detectCapabilities(): Promise<Capabilities> {
  const nav = (globalThis as { navigator?: { gpu?: GpuLike; hardwareConcurrency?: number } }).navigator;
  let adapter: AdapterLike | null;
  try {
    adapter = (await nav?.gpu?.requestAdapter({ powerPreference: 'high-performance' })) ?? null;
  } catch {
    adapter = null; // a throwing WebGPU implementation counts as none
  }
  const info = adapter?.info;
  return {
    webgpu: adapter !== null,
    fallbackAdapter: adapter !== null && (info?.isFallbackAdapter ?? adapter.isFallbackAdapter ?? false),
    shaderF16: adapter?.features.has('shader-f16') ?? false,
    adapter: {
      vendor: info?.vendor ?? '',
      architecture: info?.architecture ?? '',
      description: info?.description ?? '',
    },
    crossOriginIsolated: (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true,
    audioWorklet: typeof (globalThis as { AudioWorkletNode?: unknown }).AudioWorkletNode === 'function',
    wasmSimd: wasmSimd(),
    hardwareConcurrency: Math.max(1, nav?.hardwareConcurrency ?? 1),
  };
}
