/**
 * What a stage worker exposes over comlink (control plane only; data goes over the ports its `run*` methods take).
 * One implementation serves every topology: a worker hosts any subset of the stages (LM; flow; vocoder; flow +
 * vocoder; voice) — which subset is decided by the worker entry file, not by the stages (house style §2: topology is
 * a deployment choice).
 */
import { TTSError } from '../errors.ts';
import type { ManifestFile, ModelManifest } from '../loader/manifest.ts';
import { parseManifest, stageDtypes, stageFiles } from '../loader/manifest.ts';
import type { FileProgress } from '../loader/remote-package.ts';
import { RemotePackageFiles } from '../loader/remote-package.ts';
import { CacheApiStore, NO_STORE } from '../loader/store.ts';
import { Xoshiro128 } from '../models/lm/rng.ts';
import type { VoiceProfile } from '../models/voice/voice-profile.ts';
import { VoiceCloner } from '../models/voice/voice-cloner.ts';
import type { PromptAudio } from '../models/voice/voice-cloner.ts';
import type { Device, Dtype, Stage } from '../base/stages.ts';
import type { StorageFailure } from '../base/storage-failure.ts';
import { NO_GPU, resolveDtype } from '../runtime/device.ts';
import { ModelPackage } from '../runtime/model-package.ts';
import type { OrtModule, OrtWasmPaths } from '../runtime/ort.ts';
import { configureOrt, loadOrt, ortVersion } from '../runtime/ort.ts';
import { yieldToEventLoop } from '../runtime/yield.ts';
import type { FlowJob } from './flow-stage.ts';
import { FlowStage } from './flow-stage.ts';
import type { LmJob } from './lm-stage.ts';
import { LmStage } from './lm-stage.ts';
import { lossAwarePort } from './loss-aware-port.ts';
import type { PortLike } from './protocol.ts';
import type { VocoderJob } from './vocoder-stage.ts';
import { VocoderStage } from './vocoder-stage.ts';
import { now } from '../base/clock.ts';

/** The part of a `GPUDevice` watched for loss (this module is typed without the WebGPU DOM types). */
interface WatchedDevice {
  readonly lost: Promise<{ readonly reason: string; readonly message: string }>;
  readonly queue: { onSubmittedWorkDone(): Promise<void> };
}

/** How long a failed run's error waits for a GPU that neither answers nor reports a loss (see `#lostNow`). */
const LOSS_PROBE_LIMIT_MS = 5000;

/** Configuration sent by the main thread when a worker starts. */
export interface StageWorkerConfig {
  /** Package base URL (absolute). */
  readonly baseUrl: string;
  /** The manifest the main thread validated (saves a request per worker). */
  readonly manifest: ModelManifest;
  /** Device and dtype per hosted stage. */
  readonly placement: Readonly<Partial<Record<Stage, { readonly device: Device; readonly dtype: Dtype }>>>;
  /** On WebGPU: run a short self-test and fall back to wasm when it fails or gives non-finite values. */
  readonly selfTest: boolean;
  /** wasm threads for this worker (forced to 1 without cross-origin isolation). */
  readonly numThreads: number;
  readonly ortWasmPaths?: OrtWasmPaths;
  /** `'cache-api'` persists verified files; `'none'` downloads every time. */
  readonly cache: 'cache-api' | 'none';
}

/** Progress of one file, as sent to the main thread (throttled). */
export interface WorkerFileProgress {
  readonly stage: Stage;
  readonly file: string;
  readonly loaded: number;
  readonly total: number;
  readonly fromCache: boolean;
  readonly done: boolean;
}

/** Result of {@link StageWorker.init}, per hosted stage. */
export interface StageReady {
  readonly stage: Stage;
  readonly device: Device;
  readonly dtype: Dtype;
  readonly ms: number;
  /** Set when WebGPU failed its self-test and the stage fell back to wasm. */
  readonly fallbackReason?: string;
}

function finite(values: ArrayLike<number>): boolean {
  for (let i = 0; i < values.length; i++) if (!Number.isFinite(values[i] ?? NaN)) return false;
  return true;
}

/** Throttles per-file progress to about 10 Hz (always passing the final update). */
function throttled(report: (p: WorkerFileProgress) => void, stageOf: (f: ManifestFile) => Stage) {
  const last = new Map<string, number>();
  return (p: FileProgress): void => {
    const t = now();
    const previous = last.get(p.file.path) ?? -Infinity;
    if (!p.done && t - previous < 100) return;
    last.set(p.file.path, t);
    report({
      stage: stageOf(p.file),
      file: p.file.path,
      loaded: p.loaded,
      total: p.total,
      fromCache: p.fromCache,
      done: p.done,
    });
  };
}

/** The object a stage worker exposes. Methods are called by the main thread through comlink. */
export class StageWorker {
  #lm: LmStage | undefined;
  #flow: FlowStage | undefined;
  #vocoder: VocoderStage | undefined;
  #voice: VoiceCloner | undefined;
  #ortModule: OrtModule | undefined;
  /** Whether a stage runs on WebGPU here, its device (see `#watchDevice`), and whether that device was lost. */
  #watchingDevice = false;
  #device: WatchedDevice | undefined;
  #deviceLost = false;
  /** The loss probe in flight (see `#lostNow`). */
  #lossProbe: Promise<boolean> | undefined;
  #disposing = false;
  /** The package as {@link StageWorker.fetchFiles} left it (its verified bytes kept for the sessions). */
  #pkg: { readonly pkg: ModelPackage; readonly files: RemotePackageFiles } | undefined;

  constructor(private readonly hosted: readonly Stage[]) {}

  #package(
    config: StageWorkerConfig,
    onProgress?: (p: WorkerFileProgress | StorageFailure) => void,
  ): { readonly pkg: ModelPackage; readonly files: RemotePackageFiles } {
    const manifest = parseManifest(config.manifest);
    const store =
      config.cache === 'cache-api' && CacheApiStore.available()
        ? new CacheApiStore(onProgress === undefined ? {} : { onFailure: onProgress })
        : NO_STORE;
    const files = new RemotePackageFiles(config.baseUrl, {
      store,
      ...(onProgress === undefined ? {} : { onProgress: throttled(onProgress, (f) => f.stage) }),
    });
    return { pkg: new ModelPackage(manifest, files), files };
  }

  /**
   * Downloads (or reads from cache) and verifies every file of this worker's stages, creating no session; the bytes
   * are kept for {@link StageWorker.init}. The main thread calls it in every worker before any `init`, so that a bad
   * file anywhere fails the load before any session exists. `onProgress` as for `init`.
   *
   * @throws {TTSError} ERR_ASSET_FETCH, ERR_ASSET_INTEGRITY
   */
  async fetchFiles(
    config: StageWorkerConfig,
    onProgress?: (p: WorkerFileProgress | StorageFailure) => void,
  ): Promise<void> {
    const opened = this.#package(config, onProgress);
    const { pkg } = opened;
    const paths = this.hosted.flatMap((stage) => {
      const placement = config.placement[stage];
      return placement === undefined ? [] : stageFiles(pkg.manifest, stage, placement.dtype);
    });
    await pkg.verify([...new Set(paths)]);
    this.#pkg = opened;
  }

  /**
   * Creates this worker's sessions, from the files {@link StageWorker.fetchFiles} verified, or else downloading (or
   * reading from cache) each as it is needed. `onProgress` also receives the cache's first failure (a
   * {@link StorageFailure}: the load goes on from memory).
   */
  async init(
    config: StageWorkerConfig,
    onProgress?: (p: WorkerFileProgress | StorageFailure) => void,
  ): Promise<StageReady[]> {
    const { pkg, files } = this.#pkg ?? this.#package(config, onProgress);
    this.#pkg = undefined; // its kept bytes are handed to the sessions below, not held for longer
    const ready: StageReady[] = [];
    try {
      for (const stage of this.hosted) {
        const placement = config.placement[stage];
        if (placement === undefined) throw new TTSError('ERR_INVALID_INPUT', `no placement given for stage "${stage}"`);
        ready.push(await this.#create(stage, pkg, placement, config));
      }
    } finally {
      files.forgetUnread(); // e.g. the WebGPU files of a stage that fell back to wasm
    }
    return ready;
  }

  async #ort(device: Device, config: StageWorkerConfig): Promise<OrtModule> {
    const ort = await loadOrt(device === 'webgpu' ? 'webgpu' : 'wasm');
    this.#ortModule = ort;
    configureOrt(ort, {
      numThreads: config.numThreads,
      ...(config.ortWasmPaths === undefined ? {} : { wasmPaths: config.ortWasmPaths }),
    });
    return ort;
  }

  async #create(
    stage: Stage,
    pkg: ModelPackage,
    placement: { readonly device: Device; readonly dtype: Dtype },
    config: StageWorkerConfig,
  ): Promise<StageReady> {
    const start = now();
    if (placement.device === 'webgpu' && config.selfTest) {
      try {
        const ort = await this.#ort('webgpu', config);
        await this.#make(stage, pkg, ort, placement);
        await this.#selfTest(stage);
        this.#watchDevice(ort);
        return { stage, ...placement, ms: now() - start };
      } catch (error) {
        await this.#release(stage);
        const reason = error instanceof Error ? error.message : String(error);
        const dtype = wasmFallbackDtype(stage, placement.dtype, pkg.manifest);
        await this.#make(stage, pkg, await this.#ort('wasm', config), { device: 'wasm', dtype });
        return { stage, device: 'wasm', dtype, ms: now() - start, fallbackReason: reason };
      }
    }
    const ort = await this.#ort(placement.device, config);
    await this.#make(stage, pkg, ort, placement);
    if (placement.device === 'webgpu') this.#watchDevice(ort);
    return { stage, ...placement, ms: now() - start };
  }

  /**
   * A lost WebGPU device (driver reset, GPU process crash, `destroy()`) fails every later run of every session on it,
   * for good. So the worker ends itself with an uncaught error: the main thread then treats it as a crashed worker
   * (the request in flight rejects with ERR_WORKER_CRASHED naming the loss) and starts a new one, which gets a new
   * device or, failing its self-test, falls back to wasm.
   */
  #watchDevice(ort: OrtModule): void {
    if (this.#watchingDevice) return;
    this.#watchingDevice = true;
    // a Promise in the typings, the device itself in this build: Promise.resolve takes either
    void Promise.resolve(ort.env.webgpu.device).then(async (device) => {
      this.#device = device; // typed `any` by onnxruntime-web when built without the WebGPU DOM types
      const info = await this.#device.lost;
      if (this.#disposing) return;
      this.#deviceLost = true;
      setTimeout(() => {
        throw new TTSError('ERR_DEVICE_UNAVAILABLE', `The WebGPU device was lost (${info.reason}): ${info.message}`);
      });
    });
  }

  async #make(stage: Stage, pkg: ModelPackage, ort: OrtModule, placement: { device: Device; dtype: Dtype }) {
    if (stage === 'lm') this.#lm = await LmStage.create(pkg, ort, placement);
    else if (stage === 'flow') this.#flow = await FlowStage.create(pkg, ort, placement);
    else if (stage === 'vocoder') this.#vocoder = await VocoderStage.create(pkg, ort, placement);
    else this.#voice = await VoiceCloner.create(pkg, ort, placement);
  }

  /** A short run of each graph of the stage; throws when anything fails or is not finite. */
  async #selfTest(stage: Stage): Promise<void> {
    const fail = (what: string): never => {
      throw new TTSError('ERR_DEVICE_UNAVAILABLE', `WebGPU self-test of the ${stage} stage failed: ${what}`);
    };
    if (stage === 'lm' && this.#lm !== undefined) {
      // the decode loop itself rejects non-finite logits
      await this.#lm.selfTest();
    } else if (stage === 'flow' && this.#flow !== undefined) {
      if (!finite(await this.#flow.selfTest())) fail('non-finite mel');
    } else if (stage === 'vocoder' && this.#vocoder !== undefined) {
      if (!finite(await this.#vocoder.selfTest(new Xoshiro128(0)))) fail('non-finite audio');
    }
  }

  async #release(stage: Stage): Promise<void> {
    if (stage === 'lm') await this.#lm?.dispose();
    else if (stage === 'flow') await this.#flow?.dispose();
    else if (stage === 'vocoder') await this.#vocoder?.dispose();
    else await this.#voice?.dispose();
  }

  #need<T>(value: T | undefined, stage: Stage): T {
    if (value === undefined) throw new TTSError('ERR_INVALID_INPUT', `this worker does not host the ${stage} stage.`);
    return value;
  }

  /**
   * A run that failed because the device was lost does not answer: the worker's crash (see `#watchDevice`) rejects
   * the call with ERR_WORKER_CRASHED instead, and the main thread restarts the worker before the next request.
   */
  async #unlessDeviceLost(run: Promise<void>): Promise<void> {
    try {
      await run;
    } catch (error) {
      if (await this.#lostNow()) await new Promise<never>(() => undefined);
      throw error;
    }
  }

  /**
   * Whether the WebGPU device is lost, asked after a run failed. The failure and the `device.lost` notice come back
   * from the GPU process in either order, so one task of waiting is not enough (CI saw the loss arrive later): a
   * `onSubmittedWorkDone()` round trip is answered after any loss that caused the failure, and `device.lost` wins the
   * race when the lost device never answers. The timer only bounds a GPU that hangs, so the error is not held for ever.
   */
  #lostNow(): Promise<boolean> {
    // a failed run reports twice (its out-port's error message and the call's rejection): one probe answers both
    this.#lossProbe ??= this.#probeLoss().finally(() => {
      this.#lossProbe = undefined;
    });
    return this.#lossProbe;
  }

  async #probeLoss(): Promise<boolean> {
    const device = this.#device;
    if (!this.#watchingDevice || device === undefined) return this.#deviceLost;
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      device.lost,
      device.queue.onSubmittedWorkDone().catch(() => undefined),
      new Promise<void>((resolve) => {
        timer = setTimeout(resolve, LOSS_PROBE_LIMIT_MS);
      }),
    ]);
    clearTimeout(timer);
    await yieldToEventLoop(); // the `device.lost` handler in `#watchDevice` has run
    return this.#deviceLost;
  }

  /** The stage's out-port: on WebGPU its error messages wait to see whether the device was lost. */
  #out(port: PortLike): PortLike {
    return this.#watchingDevice ? lossAwarePort(port, () => this.#lostNow()) : port;
  }

  /** LM stage: runs a request (ports are transferred by the caller). */
  lmRun(job: LmJob, tokenPort: PortLike, textPort?: PortLike): Promise<void> {
    return this.#unlessDeviceLost(this.#need(this.#lm, 'lm').run(job, this.#out(tokenPort), textPort));
  }

  /** Token ids of a voice transcript (LM worker: it has the tokenizer). */
  transcriptIds(transcript: string, normalize = true): Int32Array {
    return this.#need(this.#lm, 'lm').transcriptIds(transcript, normalize);
  }

  flowRun(job: FlowJob, tokenPort: PortLike, melPort: PortLike): Promise<void> {
    return this.#unlessDeviceLost(this.#need(this.#flow, 'flow').run(job, tokenPort, this.#out(melPort)));
  }

  vocoderRun(job: VocoderJob, melPort: PortLike, pcmPort: PortLike): Promise<void> {
    return this.#unlessDeviceLost(this.#need(this.#vocoder, 'vocoder').run(job, melPort, this.#out(pcmPort)));
  }

  /** Voice stage: clones a voice from mono samples. */
  clone(audio: PromptAudio, transcriptIds?: Int32Array): Promise<VoiceProfile> {
    return this.#need(this.#voice, 'voice').clone(audio, transcriptIds === undefined ? {} : { transcriptIds });
  }

  /** Cancels a request in every hosted stage. */
  cancel(requestId: string): void {
    this.#lm?.cancel(requestId);
    this.#flow?.cancel(requestId);
    this.#vocoder?.cancel(requestId);
  }

  /** Version info for diagnostics. */
  versions(): { readonly ort: string | undefined } {
    return { ort: this.#ortModule === undefined ? undefined : ortVersion(this.#ortModule) };
  }

  /** Releases every session (the main thread terminates the worker afterwards). */
  async dispose(): Promise<void> {
    this.#disposing = true;
    await Promise.allSettled(this.hosted.map((s) => this.#release(s)));
  }
}

/**
 * The dtype a stage takes when WebGPU fails and it falls back to wasm. The GPU formats give way to what `auto` picks
 * on wasm: q4's 4-bit kernels are slow there (toolchain notes), and fp16 arithmetic may be what failed the self-test
 * (an overflow to non-finite values). fp32, fp16w and int8 run on wasm as they are, with the files already fetched.
 */
export function wasmFallbackDtype(stage: Stage, dtype: Dtype, manifest: ModelManifest): Dtype {
  if (dtype !== 'q4' && dtype !== 'fp16') return dtype;
  return resolveDtype(stage, 'auto', 'wasm', stageDtypes(manifest, stage), NO_GPU);
}
