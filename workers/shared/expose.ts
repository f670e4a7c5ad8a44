/**
 * Common start-up of every stage worker: the em-pthread guard, our comlink error handler, and `expose`.
 */
import { Comlink, installRpc } from '../../src/core/rpc.ts';
import type { Stage } from '../../src/base/stages.ts';
import { StageWorker } from '../../src/stages/stage-worker.ts';

/**
 * Exposes a {@link StageWorker} hosting `stages` on this worker's global scope.
 *
 * onnxruntime-web starts its wasm threads as workers named `em-pthread`; when a bundler inlines ORT into our worker
 * chunk, those threads evaluate this file too and must not take over their message handler (house style §4).
 */
export function exposeStageWorker(stages: readonly Stage[]): void {
  if ((self as { name?: string }).name === 'em-pthread') return;
  installRpc();
  Comlink.expose(new StageWorker(stages));
}
