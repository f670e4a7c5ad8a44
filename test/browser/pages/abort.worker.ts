/**
 * The one-realm `Engine` on the tiny fixture inside a Chromium worker, cancelled by a message from the page: proves
 * that a worker busy in the LM, flow or vocoder loop reads a `cancel` message within one step (issue #13.1). The ORT
 * module is spied (test/helpers/ort-spy.ts) so the worker can tell the page when graph G's k-th run starts and count
 * the runs that started after the cancel arrived.
 */
import { parseManifest } from '../../../src/loader/manifest.ts';
import { Engine } from '../../../src/engine/engine.ts';
import { deserializeVoice } from '../../../src/models/voice/voice-profile.ts';
import { ModelPackage } from '../../../src/runtime/model-package.ts';
import { configureOrt, loadOrt } from '../../../src/runtime/ort.ts';
import { spyOrt } from '../../helpers/ort-spy.ts';
import type { AbortProbeRequest, AbortProbeResult } from './api.ts';

const base = new URL('/fixtures/tiny-package/', self.location.href);
const fetchBytes = async (path: string): Promise<Uint8Array> =>
  new Uint8Array(await (await fetch(new URL(path, base))).arrayBuffer());

async function open(): Promise<{ engine: Engine; spy: ReturnType<typeof spyOrt> }> {
  const manifest = parseManifest(JSON.parse(new TextDecoder().decode(await fetchBytes('manifest.json'))));
  const pkg = new ModelPackage(manifest, { read: (file) => fetchBytes(file.path) });
  const ort = await loadOrt('wasm');
  configureOrt(ort, { wasmPaths: '/node_modules/onnxruntime-web/dist/' });
  const spy = spyOrt(ort);
  return { engine: await Engine.create(pkg, spy.ort, { device: 'wasm', dtype: 'fp32' }), spy };
}
const opened = open();
let controller: AbortController | undefined;
/** Graph runs started when the cancel message arrived (-1: not arrived; a holder, written by the message handler). */
const cancelled = { runs: -1 };

async function probe(request: AbortProbeRequest): Promise<AbortProbeResult> {
  const { engine, spy } = await opened;
  const voice = deserializeVoice(Uint8Array.from(request.voice));
  controller = new AbortController();
  cancelled.runs = -1;
  const earlier = spy.runs.filter((r) => r.graph === request.graph).length;
  spy.onRun((run) => {
    if (run.graph === request.graph && run.index === earlier + request.run) self.postMessage({ type: 'busy' });
  });
  const start = spy.runs.length;
  const options = { seed: 3, signal: controller.signal };
  let outcome: string;
  try {
    if (request.api === 'stream') {
      const chunks: number[] = [];
      for await (const chunk of engine.stream(request.text, { voice, ...options })) chunks.push(chunk.samples.length);
    } else {
      await engine.synthesize(request.text, { voice, ...options });
    }
    outcome = 'resolved';
  } catch (error) {
    outcome = (error as { name?: string }).name ?? String(error);
  }
  spy.onRun(undefined);
  const total = spy.runs.length;
  // the same engine still speaks
  const after = await engine.synthesize(request.check, { voice, seed: 1 });
  return {
    outcome,
    runs: total - start,
    lateRuns: cancelled.runs < 0 ? -1 : total - cancelled.runs,
    afterSamples: after.samples.length,
    afterFinite: after.samples.every(Number.isFinite),
  };
}

self.onmessage = (event: MessageEvent<{ type: 'probe'; request: AbortProbeRequest } | { type: 'cancel' }>) => {
  const message = event.data;
  if (message.type === 'cancel') {
    void opened.then(({ spy }) => {
      cancelled.runs = spy.runs.length;
      controller?.abort(new DOMException('cancelled by a message', 'AbortError'));
    });
    return;
  }
  void probe(message.request).then(
    (result) => {
      self.postMessage({ type: 'result', result });
    },
    (error: unknown) => {
      self.postMessage({ type: 'failed', message: String(error) });
    },
  );
};
