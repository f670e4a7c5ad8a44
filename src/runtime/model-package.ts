/**
 * A model package as the runners see it: the validated manifest plus a way to read its files. Where the bytes come
 * from (HTTP with cache and integrity checks in a browser, the file system in Node) is the caller's business.
 */
import { TTSError } from '../errors.ts';
import type { GraphName, ManifestFile, ModelManifest } from '../loader/manifest.ts';
import { decodedPath, variantFiles } from '../loader/manifest.ts';
import { decodeFile } from '../loader/decode-file.ts';
import type { Device, Dtype } from '../base/stages.ts';
import type { OrtModule } from './ort.ts';
import type { GraphSessionOptions } from './session.ts';
import { GraphSession } from './session.ts';

/** Reads package files (already verified against the manifest by the implementation). */
export interface PackageFiles {
  /** Bytes of the file at `file.path`. */
  read(file: ManifestFile, signal?: AbortSignal): Promise<Uint8Array>;
  /**
   * Checks `files` against the manifest (sizes, SHA-256) without keeping their bytes, so that a broken file is found
   * before any session is made. Optional: a source without it is checked file by file as it is read.
   */
  verify?(files: readonly ManifestFile[], signal?: AbortSignal): Promise<void>;
}

/** Options of {@link ModelPackage.session}. */
export interface PackageSessionOptions {
  readonly device: Device;
  readonly dtype: Dtype;
  readonly signal?: AbortSignal;
  /** Outputs to keep on the GPU (WebGPU only). */
  readonly gpuOutputs?: readonly string[];
}

/** Manifest + file access; creates the graph sessions of a stage. */
export class ModelPackage {
  constructor(
    /** The validated manifest. */
    readonly manifest: ModelManifest,
    private readonly files: PackageFiles,
  ) {}

  private file(path: string): ManifestFile {
    const f = this.manifest.files.find((x) => x.path === path);
    if (f === undefined) throw new TTSError('ERR_MODEL_FORMAT', `The manifest lists no file "${path}".`);
    return f;
  }

  /** Whether the package ships `graph` at all (the cloning graphs are optional). */
  has(graph: GraphName): boolean {
    return this.manifest.graphs[graph] !== undefined;
  }

  /**
   * Checks every file in `paths` (sizes and hashes, as the source can) before anything is loaded, so a bad last file
   * fails the load at once rather than after the sessions before it were made.
   *
   * @throws {TTSError} as the source's `verify` (ERR_ASSET_FETCH, ERR_ASSET_INTEGRITY); ERR_MODEL_FORMAT for a path
   *   the manifest does not list.
   */
  async verify(paths: readonly string[], signal?: AbortSignal): Promise<void> {
    const files = paths.map((path) => this.file(path));
    await this.files.verify?.(files, signal);
  }

  /** Loads one graph variant (and its external data) and creates its session. */
  async session(ort: OrtModule, graph: GraphName, options: PackageSessionOptions): Promise<GraphSession> {
    const [model, ...external] = variantFiles(this.manifest, graph, options.dtype);
    if (model === undefined) throw new TTSError('ERR_MODEL_FORMAT', `No file for graph "${graph}".`);
    const bytes = await this.#read(model, options.signal);
    // a graph names its external data (decoded) relative to its own directory; manifest paths are package-relative
    const dir = model.path.slice(0, model.path.lastIndexOf('/') + 1);
    const externalData = await Promise.all(
      external.map(async (f) => {
        const name = decodedPath(f);
        return {
          path: name.startsWith(dir) ? name.slice(dir.length) : name,
          data: await this.#read(f, options.signal),
        };
      }),
    );
    const sessionOptions: GraphSessionOptions = {
      device: options.device,
      ...(externalData.length > 0 ? { externalData } : {}),
      ...(options.gpuOutputs === undefined ? {} : { gpuOutputs: options.gpuOutputs }),
    };
    return GraphSession.create(ort, graph, bytes, sessionOptions);
  }

  /** The content of a file: read (verified as stored) from the source, then decoded if it is stored compressed. */
  async #read(file: ManifestFile, signal: AbortSignal | undefined): Promise<Uint8Array> {
    return decodeFile(file, await this.files.read(file, signal), signal);
  }

  /** `tokenizer.json` as text. */
  async tokenizerJson(signal?: AbortSignal): Promise<string> {
    return new TextDecoder().decode(await this.#read(this.file(this.manifest.tokenizer), signal));
  }

  /** The CFM noise buffer, `[80, noiseFrames]` row-major. */
  async noise(signal?: AbortSignal): Promise<Float32Array> {
    const bytes = await this.#read(this.file(this.manifest.noise), signal);
    const { melBins, flow } = this.manifest.config;
    if (bytes.byteLength !== melBins * flow.noiseFrames * 4) {
      throw new TTSError(
        'ERR_MODEL_FORMAT',
        `The noise buffer has ${bytes.byteLength} bytes; expected ${melBins}×${flow.noiseFrames} float32.`,
      );
    }
    const copy = new Uint8Array(bytes.byteLength);
    copy.set(bytes);
    const view = new DataView(copy.buffer);
    const out = new Float32Array(bytes.byteLength / 4);
    for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
    return out;
  }
}
