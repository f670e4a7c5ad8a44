/**
 * Persistent byte storage for model files. Keys are content addresses (the file's sha256, plus a byte range for the
 * parts of an interrupted download), so the same file fetched from two URLs is stored once and a changed file can
 * never be served from a stale entry. Only verified bytes are stored under a full-file key.
 *
 * Storage is best-effort: a store never rejects because the storage failed. A private window, a full quota or a
 * broken cache only means the files are used from memory and downloaded again next time.
 */
import type { StorageFailure, StorageFailureReason } from '../base/storage-failure.ts';

/** Minimal async key → bytes store; no method rejects because of the storage itself. */
export interface ByteStore {
  /** The stored bytes, or `undefined` (not stored, or the storage could not be read). */
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores bytes; resolves `false` when they were not stored (the caller keeps working from memory). */
  put(key: string, bytes: Uint8Array): Promise<boolean>;
  delete(key: string): Promise<void>;
}

/** Name of the Cache API cache the library stores model files in (unless a store says otherwise). */
export const MODEL_CACHE_NAME = 'cosyvoice-web-models';

/** Key of a verified whole file. */
export function fileKey(sha256: string): string {
  return `https://cosyvoice-web.invalid/sha256/${sha256}`;
}

/** What the keys of every stored byte range of a file start with (see {@link partKey}). */
export function partKeyPrefix(sha256: string): string {
  return `https://cosyvoice-web.invalid/part/${sha256}/`;
}

/** Key of the downloaded byte range [start, end) of a file that is not complete yet. */
export function partKey(sha256: string, start: number, end: number): string {
  return `${partKeyPrefix(sha256)}${start}-${end}`;
}

/** Key of the last manifest seen at `url` (kept so that an installed app starts offline). */
export function manifestKey(url: string): string {
  return `https://cosyvoice-web.invalid/manifest/${encodeURIComponent(url)}`;
}

/** A store that keeps nothing (the `cache: 'none'` option). */
export const NO_STORE: ByteStore = Object.freeze({
  get: () => Promise.resolve(undefined),
  put: () => Promise.resolve(false),
  delete: () => Promise.resolve(),
});

/** In-memory store (tests, or a session-only cache). */
export class MemoryStore implements ByteStore {
  private readonly map = new Map<string, Uint8Array>();

  get(key: string): Promise<Uint8Array | undefined> {
    return Promise.resolve(this.map.get(key));
  }

  put(key: string, bytes: Uint8Array): Promise<boolean> {
    this.map.set(key, bytes.slice());
    return Promise.resolve(true);
  }

  delete(key: string): Promise<void> {
    this.map.delete(key);
    return Promise.resolve();
  }

  /** Keys currently stored (for tests and diagnostics). */
  keys(): string[] {
    return [...this.map.keys()];
  }
}

/** The {@link StorageFailureReason} of an error thrown by the Cache API while opening, reading or writing. */
function failureReason(error: unknown, opening: boolean): StorageFailureReason {
  const name = (error as { name?: unknown } | null)?.name;
  if (name === 'QuotaExceededError') return 'quota';
  return opening || name === 'SecurityError' ? 'unavailable' : 'error';
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Options of {@link CacheApiStore}. */
export interface CacheApiStoreOptions {
  /** Name of the Cache API cache. @defaultValue {@link MODEL_CACHE_NAME} */
  readonly cacheName?: string;
  /** The Cache API to use. @defaultValue globalThis.caches */
  readonly caches?: CacheStorage;
  /** Told about the first failure to open, read or write the cache (later ones are the same story). */
  readonly onFailure?: (failure: StorageFailure) => void;
}

/**
 * Cache API store (the default in browsers and workers), best-effort: a failure to open or read the cache is a miss,
 * a failure to write is `false`. After the first failed write the store stops writing for the rest of its life (one
 * load): a full or broken cache would refuse every later file too, and each attempt costs a copy of the file.
 */
export class CacheApiStore implements ByteStore {
  private cache: Promise<Cache> | undefined;
  private readonly cacheName: string;
  private writable = true;
  private reported = false;

  constructor(private readonly options: CacheApiStoreOptions = {}) {
    this.cacheName = options.cacheName ?? MODEL_CACHE_NAME;
  }

  /** Whether the Cache API exists in this realm. */
  static available(): boolean {
    return typeof (globalThis as { caches?: CacheStorage }).caches?.open === 'function';
  }

  private report(error: unknown, action: 'open' | 'read from' | 'write to'): void {
    if (this.reported) return;
    this.reported = true;
    this.options.onFailure?.({
      reason: failureReason(error, action === 'open'),
      message: `Could not ${action} the model cache "${this.cacheName}" (${describe(error)}).`,
    });
  }

  /** The opened cache, or `undefined` when it cannot be opened (reported once). */
  private async open(): Promise<Cache | undefined> {
    try {
      // inside the try: where the Cache API is missing, naming `caches` throws
      this.cache ??= (this.options.caches ?? caches).open(this.cacheName);
      return await this.cache;
    } catch (error) {
      this.writable = false;
      this.report(error, 'open');
      return undefined;
    }
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const cache = await this.open();
    try {
      const response = await cache?.match(key);
      if (response === undefined || !response.ok) return undefined;
      return new Uint8Array(await response.arrayBuffer());
    } catch (error) {
      this.report(error, 'read from');
      return undefined;
    }
  }

  async put(key: string, bytes: Uint8Array): Promise<boolean> {
    if (!this.writable) return false;
    const cache = await this.open();
    if (cache === undefined) return false;
    try {
      const headers = { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) };
      await cache.put(key, new Response(bytes as Uint8Array<ArrayBuffer>, { headers }));
      return true;
    } catch (error) {
      this.writable = false;
      this.report(error, 'write to');
      return false;
    }
  }

  async delete(key: string): Promise<void> {
    const cache = await this.open();
    try {
      await cache?.delete(key);
    } catch (error) {
      this.report(error, 'write to');
    }
  }
}
