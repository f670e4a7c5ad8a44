/**
 * Deleting cached model files from the library's Cache API store (store.ts): all of them, or one package's. Keys are
 * content addresses, so a package's entries are found through its manifest: the cached one (what was stored with
 * it), else the one on the network.
 */
import { TTSError } from '../errors.ts';
import { fetchManifest } from './remote-package.ts';
import { fileUrl } from './source.ts';
import { fileKey, manifestKey, MODEL_CACHE_NAME, partKeyPrefix } from './store.ts';

/** Options of {@link clearModelCache}. */
export interface ClearModelCacheOptions {
  /** Only this package's files (its base URL, see `resolveBaseUrl`); every cached model when absent. */
  readonly baseUrl?: string;
  /** The Cache API to use. @defaultValue globalThis.caches */
  readonly caches?: CacheStorage;
  /** Name of the cache. @defaultValue {@link MODEL_CACHE_NAME} */
  readonly cacheName?: string;
  /** Used to fetch the manifest when no copy of it is cached. @defaultValue globalThis.fetch */
  readonly fetch?: typeof fetch;
}

function describe(error: unknown): string {
  return error instanceof Error ? `${error.name}: ${error.message}` : String(error);
}

/** Size of a cached entry: the length the store wrote, else the body's size. */
async function entryBytes(response: Response | undefined): Promise<number> {
  if (response === undefined) return 0;
  const length = Number(response.headers.get('content-length'));
  return Number.isInteger(length) && length > 0 ? length : (await response.blob()).size;
}

/** The cache keys of the package at `baseUrl`: its manifest, its files, their partial downloads. */
async function packageKeys(cache: Cache, baseUrl: string, network: typeof fetch | undefined): Promise<Set<string>> {
  const url = fileUrl(baseUrl, 'manifest.json');
  const cached = await cache.match(manifestKey(url));
  // The cached copy lists what was stored with it (and works offline); only a package whose manifest was never
  // stored asks the network. Either way fetchManifest validates it.
  const fromCache: typeof fetch | undefined = cached === undefined ? undefined : () => Promise.resolve(cached);
  const source = fromCache ?? network;
  const manifest = await fetchManifest(baseUrl, source === undefined ? {} : { fetch: source });
  const keys = new Set([manifestKey(url), ...manifest.files.map((file) => fileKey(file.sha256))]);
  for (const request of await cache.keys()) {
    if (manifest.files.some((file) => request.url.startsWith(partKeyPrefix(file.sha256)))) keys.add(request.url);
  }
  return keys;
}

/**
 * Deletes cached model files; resolves the bytes freed (0 when nothing was cached). Files are stored once per
 * content, so a file two packages share is deleted for both.
 *
 * @throws {TTSError} ERR_UNSUPPORTED_ENV when the Cache API is missing (not a secure context) or refuses to be used;
 *   for one package, ERR_ASSET_FETCH / ERR_MODEL_FORMAT when its manifest is neither cached nor fetchable.
 */
export async function clearModelCache(options: ClearModelCacheOptions = {}): Promise<number> {
  const storage = options.caches ?? (globalThis as { caches?: CacheStorage }).caches;
  if (typeof storage?.open !== 'function') {
    throw new TTSError(
      'ERR_UNSUPPORTED_ENV',
      'The Cache API is not available here (it needs a secure context: HTTPS or localhost), so no model is cached.',
    );
  }
  const name = options.cacheName ?? MODEL_CACHE_NAME;
  try {
    if (!(await storage.has(name))) return 0;
    const cache = await storage.open(name);
    // nothing cached: nothing to look up (a package's manifest may not be reachable, e.g. offline)
    if ((await cache.keys()).length === 0) return 0;
    const only = options.baseUrl === undefined ? undefined : await packageKeys(cache, options.baseUrl, options.fetch);
    let freed = 0;
    for (const request of await cache.keys()) {
      if (only !== undefined && !only.has(request.url)) continue;
      freed += await entryBytes(await cache.match(request));
      await cache.delete(request);
    }
    if (only === undefined) await storage.delete(name);
    return freed;
  } catch (error) {
    if (error instanceof TTSError) throw error;
    throw new TTSError('ERR_UNSUPPORTED_ENV', `Could not clear the model cache "${name}" (${describe(error)}).`, {
      cause: error,
    });
  }
}
