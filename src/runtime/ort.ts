/**
 * The only module that imports onnxruntime-web (house style §1.3). Everything else receives an {@link OrtModule}
 * through {@link loadOrt} and uses the types re-exported here.
 *
 * Which build is loaded depends on the realm: the CPU-only build unless a stage of this realm runs on WebGPU, then
 * `onnxruntime-web/webgpu` (toolchain notes: int8 runs 2–4× slower in the WebGPU-capable builds, so the CPU path
 * avoids them). "The CPU-only build" is the package-internal import `#ort-cpu` (package.json `imports`): ORT's Node
 * entry under the `node` condition, `onnxruntime-web/wasm` everywhere else — so browser bundles never carry the
 * Node entry (whose default build would drag in the 28 MB JSEP wasm).
 */
import type * as Ort from 'onnxruntime-web';

/** The onnxruntime-web module namespace. */
export type OrtModule = typeof Ort;
/** An onnxruntime-web tensor. */
export type OrtTensor = Ort.Tensor;
/** An onnxruntime-web inference session. */
export type OrtInferenceSession = Ort.InferenceSession;
/** Session options accepted by onnxruntime-web. */
export type OrtSessionOptions = Ort.InferenceSession.SessionOptions;
/** Where onnxruntime-web finds its `.wasm`/`.mjs` files. */
export type OrtWasmPaths = Ort.Env.WasmPrefixOrFilePaths;

/** Which onnxruntime-web build a realm needs. */
export type OrtFlavor = 'wasm' | 'webgpu';

const loaded = new Map<OrtFlavor, Promise<OrtModule>>();

function isNode(): boolean {
  const proc = (globalThis as { process?: { versions?: { node?: string } } }).process;
  return typeof proc?.versions?.node === 'string' && typeof (globalThis as { window?: unknown }).window === 'undefined';
}

/**
 * Loads (once per realm and flavor) the onnxruntime-web build for `flavor`.
 *
 * @param flavor - `'webgpu'` when any stage of this realm may run on WebGPU, else `'wasm'`.
 */
export function loadOrt(flavor: OrtFlavor): Promise<OrtModule> {
  // Node has no WebGPU: its ORT entry is the CPU one whatever the request
  const key: OrtFlavor = isNode() ? 'wasm' : flavor;
  let module = loaded.get(key);
  if (module === undefined) {
    module =
      key === 'webgpu'
        ? import('onnxruntime-web/webgpu')
        : // TypeScript resolves this package-internal alias to ORT's types file but refuses it as "not a module";
          // bundlers and Node resolve it fine, and the result is the same namespace as `OrtModule`.
          // @ts-expect-error TS2306 on a package `imports` alias of onnxruntime-web
          (import('#ort-cpu') as Promise<OrtModule>);
    loaded.set(key, module);
  }
  return module;
}

/** Realm-wide onnxruntime-web settings (ORT's `env` is global per realm, so only this module touches it). */
export interface OrtEnvOptions {
  /** wasm threads; forced to 1 when the realm is not cross-origin isolated. */
  readonly numThreads?: number;
  /** Override where the `.wasm` files are fetched from (default: next to ORT's module, i.e. our own origin). */
  readonly wasmPaths?: OrtWasmPaths;
  /** onnxruntime log level. */
  readonly logLevel?: 'verbose' | 'info' | 'warning' | 'error' | 'fatal';
}

/** Applies {@link OrtEnvOptions} to the realm's ORT `env`. Call before the first session is created. */
export function configureOrt(ort: OrtModule, options: OrtEnvOptions): void {
  const isolated = (globalThis as { crossOriginIsolated?: boolean }).crossOriginIsolated === true || isNode();
  if (options.numThreads !== undefined) ort.env.wasm.numThreads = isolated ? Math.max(1, options.numThreads) : 1;
  if (options.wasmPaths !== undefined) ort.env.wasm.wasmPaths = options.wasmPaths;
  // Our runners already live in workers; ORT's own proxy worker would only add a hop (house style §4).
  ort.env.wasm.proxy = false;
  ort.env.logLevel = options.logLevel ?? 'error';
}

/** Version string of the loaded onnxruntime-web, for diagnostics. */
export function ortVersion(ort: OrtModule): string {
  return ort.env.versions.web ?? ort.env.versions.common;
}
