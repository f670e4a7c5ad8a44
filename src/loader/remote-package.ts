/**
 * Model package over HTTP(S) (any base URL or Hugging Face `resolve/` URL): fetches and validates `manifest.json`,
 * then serves files through {@link fetchVerified} (Range-resumable, size + SHA-256 checked, Cache API persisted).
 * Used inside workers; progress is reported per file and aggregated by the caller.
 */
import { TTSError } from '../errors.ts';
import type { FetchFileOptions } from './fetch-file.ts';
import { fetchVerified } from './fetch-file.ts';
import type { ManifestFile, ModelManifest } from './manifest.ts';
import { parseManifest } from './manifest.ts';
import { fileUrl } from './source.ts';
import type { ByteStore } from './store.ts';
import { manifestKey, NO_STORE } from './store.ts';

/** Progress of one file. */
export interface FileProgress {
  readonly file: ManifestFile;
  readonly loaded: number;
  readonly total: number;
  readonly fromCache: boolean;
  readonly done: boolean;
}

/** Options of {@link RemotePackageFiles}. */
export interface RemotePackageOptions {
  readonly fetch?: typeof fetch;
  readonly store?: ByteStore;
  readonly onProgress?: (progress: FileProgress) => void;
  readonly chunkBytes?: number;
  readonly retries?: number;
}

/**
 * Fetches `manifest.json` under `baseUrl`. Network-first; when the network fails, the last manifest seen is used
 * from `store` (so an installed PWA starts offline).
 *
 * @throws {TTSError} ERR_ASSET_FETCH when neither network nor store has it; ERR_MODEL_FORMAT when it is invalid.
 */
export async function fetchManifest(
  baseUrl: string,
  options: { fetch?: typeof fetch; store?: ByteStore; signal?: AbortSignal } = {},
): Promise<ModelManifest> {
  const url = fileUrl(baseUrl, 'manifest.json');
  const store = options.store ?? NO_STORE;
  const key = manifestKey(url);
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  let text: string | undefined;
  let failure: unknown;
  try {
    const response = await doFetch(url, options.signal === undefined ? {} : { signal: options.signal });
    if (!response.ok) {
      throw new TTSError('ERR_ASSET_FETCH', `${url}: HTTP ${response.status}`, {
        details: { url, status: response.status },
      });
    }
    text = await response.text();
  } catch (error) {
    options.signal?.throwIfAborted();
    failure = error;
    const cached = await store.get(key);
    if (cached !== undefined) text = new TextDecoder().decode(cached);
  }
  if (text === undefined) {
    if (failure instanceof TTSError) throw failure;
    throw new TTSError('ERR_ASSET_FETCH', `${url}: could not fetch the model manifest and none is cached.`, {
      cause: failure,
      details: { url, status: 0 },
    });
  }
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (cause) {
    throw new TTSError('ERR_MODEL_FORMAT', `${url} is not valid JSON.`, { cause, details: { url } });
  }
  const manifest = parseManifest(data);
  if (failure === undefined) await store.put(key, new TextEncoder().encode(text));
  return manifest;
}

/** {@link PackageFiles} over HTTP with verification, caching and per-file progress. */
export class RemotePackageFiles {
  /** Bytes {@link RemotePackageFiles.verify} fetched, until their one {@link RemotePackageFiles.read}. */
  readonly #verified = new Map<string, Uint8Array>();

  constructor(
    private readonly baseUrl: string,
    private readonly options: RemotePackageOptions = {},
  ) {}

  /**
   * Fetches (or reads from the store) and verifies every file, one after another, before any is used. Unlike the
   * Node opener, which can hash a file without keeping it, the bytes are kept until their first `read`: dropping
   * them would mean downloading the package twice when there is no cache.
   *
   * @throws {TTSError} ERR_ASSET_FETCH, ERR_ASSET_INTEGRITY (naming the file)
   */
  async verify(files: readonly ManifestFile[], signal?: AbortSignal): Promise<void> {
    for (const file of files) {
      if (!this.#verified.has(file.path)) this.#verified.set(file.path, await this.#fetch(file, signal));
    }
  }

  /**
   * Bytes of a package file, verified against the manifest entry. Verified graph bytes are handed over once; external
   * data stays kept until {@link RemotePackageFiles.forgetUnread}, since several graphs may share one data file (the
   * estimator's weights serve `flow_step` and `flow_step_incremental`) and a second fetch would download it again
   * when there is no cache.
   */
  async read(file: ManifestFile, signal?: AbortSignal): Promise<Uint8Array> {
    const kept = this.#verified.get(file.path);
    if (kept !== undefined) {
      if (file.kind !== 'external-data') this.#verified.delete(file.path);
      return kept;
    }
    return this.#fetch(file, signal);
  }

  /** Drops the verified bytes still kept: the sessions are made, they will not be asked for. */
  forgetUnread(): void {
    this.#verified.clear();
  }

  async #fetch(file: ManifestFile, signal: AbortSignal | undefined): Promise<Uint8Array> {
    const report = this.options.onProgress;
    const fetchOptions: FetchFileOptions = {
      ...(this.options.fetch === undefined ? {} : { fetch: this.options.fetch }),
      store: this.options.store ?? NO_STORE,
      ...(signal === undefined ? {} : { signal }),
      ...(this.options.chunkBytes === undefined ? {} : { chunkBytes: this.options.chunkBytes }),
      ...(this.options.retries === undefined ? {} : { retries: this.options.retries }),
      ...(report === undefined
        ? {}
        : {
            onProgress: (loaded, total, fromCache) => {
              report({ file, loaded, total, fromCache, done: false });
            },
          }),
    };
    const result = await fetchVerified(
      { url: fileUrl(this.baseUrl, file.path), bytes: file.bytes, sha256: file.sha256 },
      fetchOptions,
    );
    report?.({ file, loaded: file.bytes, total: file.bytes, fromCache: result.fromCache, done: true });
    return result.data;
  }
}
