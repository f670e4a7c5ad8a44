/**
 * Graph sessions: creation and runs serialised per realm, inputs checked against the graph's metadata, failures
 * reported with the graph name and a summary of the inputs (names, dtypes, dims — never data).
 */
import { SerialQueue } from '../base/serial-queue.ts';
import { TTSError } from '../errors.ts';
import type { Device } from '../base/stages.ts';
import { executionProviders } from './device.ts';
import type { OrtInferenceSession, OrtModule, OrtSessionOptions, OrtTensor } from './ort.ts';

/** Tensors by name. */
export type TensorMap = Record<string, OrtTensor>;

/** Options of {@link createGraphSession}. */
export interface GraphSessionOptions {
  /** Where the graph runs. */
  readonly device: Device;
  /** External-data files of the graph: path as referenced inside the `.onnx` → bytes. */
  readonly externalData?: ReadonlyArray<{ readonly path: string; readonly data: Uint8Array }>;
  /** Outputs to keep on the GPU (WebGPU only), e.g. KV-cache `present.*` tensors. */
  readonly gpuOutputs?: readonly string[];
  /** Graph optimisation level (default `'all'`). */
  readonly graphOptimizationLevel?: 'disabled' | 'basic' | 'extended' | 'all';
}

/** Per-realm serialisation: ORT runs one session at a time per instance (landscape §6), so we queue explicitly. */
const realmQueue = new SerialQueue();

function serialised<T>(task: () => Promise<T>): Promise<T> {
  return realmQueue.run(task);
}

/** Short description of tensors for error messages, e.g. `x: float32[1,80,54]`. */
export function describeTensors(tensors: Readonly<TensorMap>): string {
  return Object.entries(tensors)
    .map(([name, t]) => `${name}: ${t.type}[${t.dims.join(',')}]`)
    .join(', ');
}

/** A loaded graph. Runners hold these; they know names and shapes, nothing about workers. */
export class GraphSession {
  private released = false;

  private constructor(
    /** Graph name from the model package (e.g. `flow_step`). */
    readonly name: string,
    /** Device the session runs on. */
    readonly device: Device,
    private readonly ort: OrtModule,
    private readonly session: OrtInferenceSession,
  ) {}

  /** Names of the graph inputs. */
  get inputNames(): readonly string[] {
    return this.session.inputNames;
  }

  /** Names of the graph outputs. */
  get outputNames(): readonly string[] {
    return this.session.outputNames;
  }

  /** Declared element type of an output (e.g. `int32` vs `int64` for the speech tokenizer). */
  outputType(name: string): string | undefined {
    const meta = this.session.outputMetadata.find((m) => m.name === name);
    return meta?.isTensor === true ? meta.type : undefined;
  }

  /** Declared shape of an input: numbers for fixed axes, names for dynamic ones (e.g. a cache's layout). */
  inputShape(name: string): ReadonlyArray<number | string> | undefined {
    const meta = this.session.inputMetadata.find((m) => m.name === name);
    return meta?.isTensor === true ? meta.shape : undefined;
  }

  /** Creates a session from `.onnx` bytes. Serialised with every other creation and run of this realm. */
  static async create(
    ort: OrtModule,
    name: string,
    model: Uint8Array,
    options: GraphSessionOptions,
  ): Promise<GraphSession> {
    const sessionOptions: OrtSessionOptions = {
      executionProviders: [...executionProviders(options.device)],
      graphOptimizationLevel: options.graphOptimizationLevel ?? 'all',
      // warnings such as "some nodes were not assigned to the preferred EP" (shape ops on CPU) are expected noise
      logSeverityLevel: 3,
      ...(options.externalData === undefined
        ? {}
        : { externalData: options.externalData.map((f) => ({ path: f.path, data: f.data })) }),
      ...(options.device === 'webgpu' && options.gpuOutputs !== undefined && options.gpuOutputs.length > 0
        ? { preferredOutputLocation: Object.fromEntries(options.gpuOutputs.map((o) => [o, 'gpu-buffer' as const])) }
        : {}),
    };
    try {
      const session = await serialised(() => ort.InferenceSession.create(model, sessionOptions));
      return new GraphSession(name, options.device, ort, session);
    } catch (cause) {
      throw new TTSError(
        'ERR_SESSION_CREATE',
        `Could not create the "${name}" session on ${options.device}: ${cause instanceof Error ? cause.message : String(cause)}`,
        { cause, details: { graph: name, device: options.device } },
      );
    }
  }

  /** Builds a tensor with this session's onnxruntime build. */
  tensor(type: 'float32', data: Float32Array, dims: readonly number[]): OrtTensor;
  tensor(type: 'int64', data: BigInt64Array, dims: readonly number[]): OrtTensor;
  tensor(type: 'int32', data: Int32Array, dims: readonly number[]): OrtTensor;
  tensor(type: 'bool', data: Uint8Array, dims: readonly number[]): OrtTensor;
  tensor(
    type: 'float32' | 'int64' | 'int32' | 'bool',
    data: Float32Array | BigInt64Array | Int32Array | Uint8Array,
    dims: readonly number[],
  ): OrtTensor {
    return new this.ort.Tensor(type, data as Float32Array, dims);
  }

  /**
   * Runs the graph. Missing or extra inputs are rejected before ORT sees them.
   *
   * @throws {TTSError} ERR_INFERENCE with the graph name and an input summary; ERR_DISPOSED after release.
   */
  async run(feeds: TensorMap, signal?: AbortSignal): Promise<TensorMap> {
    if (this.released) throw new TTSError('ERR_DISPOSED', `The "${this.name}" session has been released.`);
    signal?.throwIfAborted();
    const missing = this.session.inputNames.filter((n) => !(n in feeds));
    const extra = Object.keys(feeds).filter((n) => !this.session.inputNames.includes(n));
    if (missing.length > 0 || extra.length > 0) {
      throw new TTSError(
        'ERR_INFERENCE',
        `Graph "${this.name}" got the wrong inputs (missing: ${missing.join(', ') || 'none'}; unexpected: ${extra.join(', ') || 'none'}). Expected: ${this.session.inputNames.join(', ')}.`,
        { details: { graph: this.name, missing, extra } },
      );
    }
    try {
      const outputs = await serialised(() => this.session.run(feeds));
      return outputs;
    } catch (cause) {
      throw new TTSError(
        'ERR_INFERENCE',
        `Graph "${this.name}" failed on ${this.device}: ${cause instanceof Error ? cause.message : String(cause)} (inputs: ${describeTensors(feeds)})`,
        { cause, details: { graph: this.name, device: this.device, inputs: describeTensors(feeds) } },
      );
    }
  }

  /** Frees the session's memory. Further runs reject with ERR_DISPOSED. */
  async release(): Promise<void> {
    if (this.released) return;
    this.released = true;
    await serialised(() => this.session.release());
  }
}
