/**
 * Persistent byte storage for model files. Keys are content addresses (the file's sha256, plus a byte range for the
 * parts of an interrupted download), so the same file fetched from two URLs is stored once and a changed file can
 * never be served from a stale entry. Only verified bytes are stored under a full-file key.
 */

/** Minimal async key → bytes store. */
export interface ByteStore {
  get(key: string): Promise<Uint8Array | undefined>;
  /** Stores bytes; resolves `false` when the storage quota refused them (the caller keeps working uncached). */
  put(key: string, bytes: Uint8Array): Promise<boolean>;
  delete(key: string): Promise<void>;
}

/** Key of a verified whole file. */
export function fileKey(sha256: string): string {
  return `https://cosyvoice-web.invalid/sha256/${sha256}`;
}

/** Key of the downloaded byte range [start, end) of a file that is not complete yet. */
export function partKey(sha256: string, start: number, end: number): string {
  return `https://cosyvoice-web.invalid/part/${sha256}/${start}-${end}`;
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

function isQuotaError(error: unknown): boolean {
  return error instanceof DOMException && error.name === 'QuotaExceededError';
}

/** Cache API store (the default in browsers and workers). */
export class CacheApiStore implements ByteStore {
  private cache: Promise<Cache> | undefined;

  /** @param cacheName - name of the Cache API cache. @defaultValue 'cosyvoice-web-models' */
  constructor(private readonly cacheName = 'cosyvoice-web-models') {}

  /** Whether the Cache API exists in this realm. */
  static available(): boolean {
    return typeof (globalThis as { caches?: CacheStorage }).caches?.open === 'function';
  }

  private open(): Promise<Cache> {
    this.cache ??= caches.open(this.cacheName);
    return this.cache;
  }

  async get(key: string): Promise<Uint8Array | undefined> {
    const response = await (await this.open()).match(key);
    if (response === undefined || !response.ok) return undefined;
    return new Uint8Array(await response.arrayBuffer());
  }

  async put(key: string, bytes: Uint8Array): Promise<boolean> {
    try {
      const headers = { 'content-type': 'application/octet-stream', 'content-length': String(bytes.byteLength) };
      await (await this.open()).put(key, new Response(bytes as Uint8Array<ArrayBuffer>, { headers }));
      return true;
    } catch (error) {
      if (isQuotaError(error)) return false;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    await (await this.open()).delete(key);
  }
}
