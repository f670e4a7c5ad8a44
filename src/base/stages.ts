/**
 * The closed sets every layer names: pipeline stages, devices and weight formats. A leaf module (it imports nothing),
 * so the loader (manifest parsing) and the runtime (device resolution) can both use them without importing each
 * other.
 */

/** Pipeline stages; each owns its graphs and can have its own device and dtype. */
export const STAGES = ['lm', 'flow', 'vocoder', 'voice'] as const;
/** One of {@link STAGES}. */
export type Stage = (typeof STAGES)[number];

/** Devices a session can run on. */
export const DEVICES = ['webgpu', 'wasm'] as const;
/** One of {@link DEVICES}. */
export type Device = (typeof DEVICES)[number];
/** A device request: a device, or `'auto'` (WebGPU on a real adapter, else wasm). */
export type DeviceRequest = Device | 'auto';

/**
 * Weight formats a model package may ship per graph: `fp32`; `fp16` (fp16 arithmetic: WebGPU needs `shader-f16`);
 * `fp16w` (fp16-stored weights, fp32 arithmetic: half of fp32's download, fp32's kernels, any device); `int8`
 * (wasm); `q4` (4-bit, WebGPU).
 */
export const DTYPES = ['fp32', 'fp16', 'fp16w', 'int8', 'q4'] as const;
/** One of {@link DTYPES}. */
export type Dtype = (typeof DTYPES)[number];
/** A dtype request: a dtype, or `'auto'` (the best available for the stage and device). */
export type DtypeRequest = Dtype | 'auto';
