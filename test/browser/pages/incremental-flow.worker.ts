/**
 * The incremental flow against today's re-solving flow on the tiny fixture inside a Chromium worker (issue #11):
 * streams one utterance both ways with the same `FlowMatcher` and reports, per chunk, the largest mel difference.
 */
import { parseManifest } from '../../../src/loader/manifest.ts';
import type { Device } from '../../../src/base/stages.ts';
import type { FlowPrompt } from '../../../src/models/flow/flow-matcher.ts';
import { FlowMatcher } from '../../../src/models/flow/flow-matcher.ts';
import { IncrementalFlow } from '../../../src/models/flow/incremental-flow.ts';
import type { MelChunk } from '../../../src/models/token2wav.ts';
import { FlowStream } from '../../../src/models/token2wav.ts';
import { ModelPackage } from '../../../src/runtime/model-package.ts';
import { configureOrt, loadOrt } from '../../../src/runtime/ort.ts';
import type { IncrementalFlowRequest, IncrementalFlowResult } from './incremental-flow.ts';

const base = new URL('/fixtures/tiny-package/', self.location.href);
const fetchBytes = async (path: string): Promise<Uint8Array> =>
  new Uint8Array(await (await fetch(new URL(path, base))).arrayBuffer());

async function compare(request: IncrementalFlowRequest): Promise<IncrementalFlowResult> {
  const manifest = parseManifest(JSON.parse(new TextDecoder().decode(await fetchBytes('manifest.json'))));
  const pkg = new ModelPackage(manifest, { read: (file) => fetchBytes(file.path) });
  const device: Device = request.device;
  const ort = await loadOrt(device);
  configureOrt(ort, { wasmPaths: '/node_modules/onnxruntime-web/dist/' });
  const placement = { device, dtype: 'fp32' as const };
  const flow = await FlowMatcher.create(pkg, ort, placement);
  const incremental = await IncrementalFlow.create(flow, pkg, ort, placement);
  if (incremental === undefined) throw new Error('the tiny package ships flow_step_incremental');
  const voice: FlowPrompt = {
    promptTokens: Int32Array.from(request.promptTokens),
    promptFeat: Float32Array.from(request.promptFeat),
    embedding: Float32Array.from(request.embedding),
  };
  const stream = async (withCaches: boolean): Promise<MelChunk[]> => {
    const steps = request.steps === undefined ? {} : { steps: { every: request.steps } };
    const s = new FlowStream(flow, voice, withCaches ? { incremental, ...steps } : steps);
    s.push(request.tokens);
    if (request.end) s.end();
    const chunks: MelChunk[] = [];
    for (let c = await s.next(); c !== undefined; c = await s.next()) chunks.push(c);
    return chunks;
  };
  try {
    const baseline = await stream(false);
    const cached = await stream(true);
    return {
      chunks: cached.map((c, i) => {
        const b = baseline[i];
        let diff = b?.mel.data.length === c.mel.data.length ? 0 : Infinity;
        for (let j = 0; j < c.mel.data.length && b !== undefined; j++) {
          diff = Math.max(diff, Math.abs((c.mel.data[j] ?? 0) - (b.mel.data[j] ?? 0)));
        }
        return {
          final: c.final,
          incremental: c.incremental,
          baselineIncremental: b?.incremental ?? true,
          maxAbsDiff: diff,
          solvedFrames: c.solvedFrames,
          baselineSolvedFrames: b?.solvedFrames ?? 0,
        };
      }),
      baselineChunks: baseline.length,
    };
  } finally {
    await Promise.all([flow.release(), incremental.release()]);
  }
}

self.onmessage = (event: MessageEvent<IncrementalFlowRequest>) => {
  void compare(event.data).then(
    (result) => {
      self.postMessage({ ok: true, result });
    },
    (error: unknown) => {
      self.postMessage({ ok: false, message: String(error) });
    },
  );
};
