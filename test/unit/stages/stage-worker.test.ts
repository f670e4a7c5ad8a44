import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseManifest } from '../../../src/loader/manifest.ts';
import type { StorageFailure } from '../../../src/base/storage-failure.ts';
import type { StageWorkerConfig, WorkerFileProgress } from '../../../src/stages/stage-worker.ts';
import { StageWorker, wasmFallbackDtype } from '../../../src/stages/stage-worker.ts';
import { startServer } from '../../browser/server.ts';
import type { TestServer } from '../../browser/server.ts';
import { TINY_PACKAGE } from '../../helpers/package.ts';

const manifest = parseManifest(JSON.parse(readFileSync(join(TINY_PACKAGE, 'manifest.json'), 'utf8')));
let server: TestServer;

beforeAll(async () => {
  server = await startServer({ isolated: false });
});
afterAll(async () => {
  await server.close();
});

function config(overrides: Partial<StageWorkerConfig>): StageWorkerConfig {
  return {
    baseUrl: `${server.url}/fixtures/tiny-package/`,
    manifest,
    placement: { vocoder: { device: 'wasm', dtype: 'fp32' } },
    selfTest: true,
    numThreads: 1,
    cache: 'none',
    ...overrides,
  };
}

describe('StageWorker (what a worker exposes), in Node over HTTP', () => {
  it('downloads its stage files with throttled progress and reports the placement', async () => {
    const worker = new StageWorker(['vocoder']);
    const reports: Array<WorkerFileProgress | StorageFailure> = [];
    const ready = await worker.init(config({}), (p) => reports.push(p));
    const progress = reports.filter((p): p is WorkerFileProgress => !('reason' in p));
    expect(progress).toHaveLength(reports.length); // cache: 'none' keeps nothing, so nothing can fail to be kept
    expect(ready).toMatchObject([{ stage: 'vocoder', device: 'wasm', dtype: 'fp32' }]);
    const done = progress.filter((p) => p.done).map((p) => p.file);
    expect(done.sort()).toEqual(['hift_decoder.fp32.onnx', 'hift_f0.fp32.onnx']);
    for (const p of progress.filter((x) => x.done)) expect(p.loaded).toBe(p.total);
    await worker.dispose();
  });

  it('falls back to wasm when WebGPU cannot be used, and says why', async () => {
    // Node's onnxruntime-web has no WebGPU backend: the session (or its self-test) fails like a broken adapter would
    const worker = new StageWorker(['flow']);
    const ready = await worker.init(config({ placement: { flow: { device: 'webgpu', dtype: 'q4' } } }));
    expect(ready[0]?.device).toBe('wasm');
    expect(ready[0]?.dtype).toBe('int8'); // q4 is the WebGPU format; its wasm counterpart is int8
    expect(ready[0]?.fallbackReason).toMatch(/\w/);
    await worker.dispose();
  });

  it('an fp16w stage falls back with the same dtype (fp32 arithmetic runs on wasm as it is)', async () => {
    const worker = new StageWorker(['vocoder']);
    const ready = await worker.init(config({ placement: { vocoder: { device: 'webgpu', dtype: 'fp16w' } } }));
    expect(ready[0]).toMatchObject({ device: 'wasm', dtype: 'fp16w' });
    await worker.dispose();
  });

  it('the fallback dtype: the GPU formats give way to what auto picks on wasm, the others stay', () => {
    // q4 (4-bit kernels slow on wasm) and fp16 (half-precision arithmetic, perhaps what failed) → wasm's auto choice
    expect(wasmFallbackDtype('lm', 'q4', manifest)).toBe('int8');
    expect(wasmFallbackDtype('flow', 'fp16', manifest)).toBe('int8');
    expect(wasmFallbackDtype('vocoder', 'fp16', manifest)).toBe('fp16w');
    for (const dtype of ['fp32', 'fp16w', 'int8'] as const)
      expect(wasmFallbackDtype('flow', dtype, manifest)).toBe(dtype);
  });

  it('rejects a corrupted file with ERR_ASSET_INTEGRITY', async () => {
    const worker = new StageWorker(['vocoder']);
    const error = await worker
      .init(config({ baseUrl: `${server.url}/corrupt/fixtures/tiny-package/` }))
      .catch((e: unknown) => e);
    expect((error as { code?: string }).code).toBe('ERR_ASSET_INTEGRITY');
  });

  it('refuses calls for stages it does not host', () => {
    const worker = new StageWorker(['vocoder']);
    expect(() => worker.transcriptIds('hi')).toThrow(/does not host the lm stage/);
  });
});
