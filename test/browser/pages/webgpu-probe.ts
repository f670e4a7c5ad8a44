/** The WebGPU probe shared by the window and the worker: adapter facts plus a compute shader round trip. */
import type { GpuProbe } from './api.ts';

// GPUBufferUsage / GPUMapMode flag values (WebGPU spec), spelled out: the namespaces are not in TypeScript's DOM lib.
const STORAGE = 0x80;
const COPY_SRC = 0x04;
const COPY_DST = 0x08;
const MAP_READ = 0x01;
const MAP_MODE_READ = 0x01;

const SHADER = /* wgsl */ `
@group(0) @binding(0) var<storage, read_write> data: array<f32>;
@compute @workgroup_size(64)
fn main(@builtin(global_invocation_id) id: vec3<u32>) {
  if (id.x < arrayLength(&data)) { data[id.x] = data[id.x] * 2.0 + 1.0; }
}`;

export async function probeGpu(): Promise<GpuProbe> {
  const gpu = (navigator as Partial<Navigator>).gpu;
  const empty = { adapter: false, isFallbackAdapter: null, vendor: '', architecture: '', computed: [] };
  if (gpu === undefined) return { hasGpu: false, ...empty };
  const adapter = await gpu.requestAdapter();
  if (adapter === null) return { hasGpu: true, ...empty };
  const info = adapter.info;
  const device = await adapter.requestDevice();
  const input = Float32Array.from({ length: 256 }, (_, i) => i);
  const storage = device.createBuffer({
    size: input.byteLength,
    usage: STORAGE | COPY_SRC | COPY_DST,
  });
  device.queue.writeBuffer(storage, 0, input);
  const readback = device.createBuffer({ size: input.byteLength, usage: MAP_READ | COPY_DST });
  const pipeline = device.createComputePipeline({
    layout: 'auto',
    compute: { module: device.createShaderModule({ code: SHADER }), entryPoint: 'main' },
  });
  const bindGroup = device.createBindGroup({
    layout: pipeline.getBindGroupLayout(0),
    entries: [{ binding: 0, resource: { buffer: storage } }],
  });
  const encoder = device.createCommandEncoder();
  const pass = encoder.beginComputePass();
  pass.setPipeline(pipeline);
  pass.setBindGroup(0, bindGroup);
  pass.dispatchWorkgroups(Math.ceil(input.length / 64));
  pass.end();
  encoder.copyBufferToBuffer(storage, 0, readback, 0, input.byteLength);
  device.queue.submit([encoder.finish()]);
  await readback.mapAsync(MAP_MODE_READ);
  const computed = Array.from(new Float32Array(readback.getMappedRange().slice(0)));
  readback.unmap();
  device.destroy();
  return {
    hasGpu: true,
    adapter: true,
    isFallbackAdapter: info.isFallbackAdapter,
    vendor: info.vendor,
    architecture: info.architecture,
    computed,
  };
}
