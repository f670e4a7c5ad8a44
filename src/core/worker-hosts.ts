/** The stages as seen from the main thread: comlink calls on worker handles, with ports transferred. */
import { transferablesOf } from '../audio/port-transport.ts';
import type { Capabilities } from '../capabilities.ts';
import type { Stage } from '../base/stages.ts';
import type { StageHosts } from '../stages/pipeline.ts';
import type { StageWorkerConfig } from '../stages/stage-worker.ts';
import { Comlink } from './rpc.ts';
import type { WorkerHandle } from './spawn-worker.ts';

/**
 * Stage hosts over worker handles: ports are transferred, every call (cancel too) races the worker crashing, so a
 * dead worker — which never answers — cannot leave a request waiting on it.
 */
export function stageHosts(lm: WorkerHandle, flow: WorkerHandle, vocoder: WorkerHandle): StageHosts {
  const t = <P extends object>(port: P): P => Comlink.transfer(port, [port as unknown as Transferable]);
  return {
    lm: {
      run: (job, tokenPort, textPort) =>
        lm.guard(lm.remote.lmRun(job, t(tokenPort), textPort === undefined ? undefined : t(textPort))),
      cancel: (id) => lm.guard(lm.remote.cancel(id)),
    },
    flow: {
      run: (job, tokenPort, melPort) => flow.guard(flow.remote.flowRun(job, t(tokenPort), t(melPort))),
      cancel: (id) => flow.guard(flow.remote.cancel(id)),
    },
    vocoder: {
      run: (job, melPort, pcmPort) =>
        vocoder.guard(
          vocoder.remote.vocoderRun(
            job.playback === undefined ? job : Comlink.transfer(job, transferablesOf(job.playback)),
            t(melPort),
            t(pcmPort),
          ),
        ),
      cancel: (id) => vocoder.guard(vocoder.remote.cancel(id)),
    },
  };
}

/** wasm threads for a worker hosting `stages` (starting numbers; measure on target devices). */
export function threadsFor(
  stages: readonly Stage[],
  caps: Capabilities,
  requested: Partial<Record<Stage, number>> | undefined,
): number {
  const explicit = stages.map((s) => requested?.[s]).filter((n): n is number => n !== undefined);
  if (explicit.length > 0) return Math.max(...explicit);
  if (!caps.crossOriginIsolated) return 1;
  const cores = caps.hardwareConcurrency;
  return stages.includes('lm') ? Math.max(1, Math.min(4, cores - 1)) : Math.max(1, Math.min(2, Math.floor(cores / 2)));
}

/** What every stage worker of an instance is initialised with, apart from its stages' placement and self-test. */
export interface WorkerSetup {
  readonly baseUrl: string;
  readonly manifest: StageWorkerConfig['manifest'];
  readonly caps: Capabilities;
  readonly threads: Partial<Record<Stage, number>> | undefined;
  readonly cache: StageWorkerConfig['cache'];
  readonly ortWasmPaths: StageWorkerConfig['ortWasmPaths'];
}

/** The init config of a worker hosting `stages` (one builder for the first start, a restart and the voice worker). */
export function workerConfig(
  setup: WorkerSetup,
  stages: readonly Stage[],
  placement: StageWorkerConfig['placement'],
  selfTest: boolean,
): StageWorkerConfig {
  return {
    baseUrl: setup.baseUrl,
    manifest: setup.manifest,
    placement,
    selfTest,
    numThreads: threadsFor(stages, setup.caps, setup.threads),
    cache: setup.cache,
    ...(setup.ortWasmPaths === undefined ? {} : { ortWasmPaths: setup.ortWasmPaths }),
  };
}
