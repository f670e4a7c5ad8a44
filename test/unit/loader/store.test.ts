/**
 * Best-effort storage (issue #13.4): the real loader (`fetchManifest`, `RemotePackageFiles`, `fetchVerified`) over the
 * real `CacheApiStore`, whose Cache API is a fake that can fail the way browsers do (a quota refusal, Chromium's
 * "Unexpected internal error" in a private window, a cache that cannot be opened). The load must go on from memory,
 * with the verified bytes, and report the failure once.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import type { StorageFailure } from '../../../src/base/storage-failure.ts';
import { TTSError } from '../../../src/errors.ts';
import { fetchVerified } from '../../../src/loader/fetch-file.ts';
import { parseManifest } from '../../../src/loader/manifest.ts';
import { fetchManifest, RemotePackageFiles } from '../../../src/loader/remote-package.ts';
import { CacheApiStore, fileKey } from '../../../src/loader/store.ts';
import { TINY_PACKAGE } from '../../helpers/package.ts';

const BASE = 'https://models.example/tiny/';
const manifestText = readFileSync(join(TINY_PACKAGE, 'manifest.json'), 'utf8');
const manifest = parseManifest(JSON.parse(manifestText));
/** A few real package files (the smallest graphs, so the test stays quick). */
const FILES = [...manifest.files].sort((a, b) => a.bytes - b.bytes).slice(0, 3);

/** The tiny package over "HTTP": whole files, status 200, counting requests. */
function packageServer() {
  const requests: string[] = [];
  const fetchFn = (input: string | URL | Request): Promise<Response> => {
    const url = input instanceof Request ? input.url : input.toString();
    requests.push(url);
    const body = new Uint8Array(readFileSync(join(TINY_PACKAGE, decodeURIComponent(url.slice(BASE.length)))));
    return Promise.resolve(new Response(body, { headers: { 'content-length': String(body.byteLength) } }));
  };
  return { fetchFn, requests };
}

/** How the fake cache fails. */
interface Faults {
  /** `caches.open` rejects with this. */
  readonly open?: DOMException;
  /** `cache.put` rejects with this once `okPuts` puts have succeeded. */
  readonly put?: DOMException;
  readonly okPuts?: number;
  /** `cache.match` rejects with this. */
  readonly match?: DOMException;
}

/** A Cache API over a Map, with the failures of `faults`; `puts` counts attempted writes. */
function fakeCaches(faults: Faults = {}) {
  const entries = new Map<string, Response>();
  let puts = 0;
  const cache = {
    match: (key: string) =>
      faults.match === undefined ? Promise.resolve(entries.get(key)?.clone()) : Promise.reject(faults.match),
    put: async (key: string, response: Response) => {
      puts++;
      if (faults.put !== undefined && puts > (faults.okPuts ?? 0)) throw faults.put;
      entries.set(key, new Response(await response.arrayBuffer(), { headers: response.headers }));
    },
    delete: (key: string) => Promise.resolve(entries.delete(key)),
  };
  const storage = {
    open: () => (faults.open === undefined ? Promise.resolve(cache) : Promise.reject(faults.open)),
  } as unknown as CacheStorage;
  return { storage, entries, puts: () => puts };
}

/** Loads the manifest and {@link FILES} through one store, as a worker and the main thread do. */
async function load(store: CacheApiStore, fetchFn: typeof fetch) {
  const loaded = await fetchManifest(BASE, { fetch: fetchFn, store });
  const files = new RemotePackageFiles(BASE, { fetch: fetchFn, store });
  const data = [];
  for (const file of FILES) data.push(await files.read(file));
  return { loaded, data };
}

function expectPackageBytes(data: readonly Uint8Array[]): void {
  expect(data.map((d) => d.byteLength)).toEqual(FILES.map((f) => f.bytes));
  for (const [i, file] of FILES.entries()) {
    expect(Buffer.from(data[i] ?? new Uint8Array()).equals(readFileSync(join(TINY_PACKAGE, file.path)))).toBe(true);
  }
}

const FAILURES = [
  {
    what: 'the quota refuses a write',
    faults: { put: new DOMException('The quota has been exceeded.', 'QuotaExceededError'), okPuts: 1 },
    reason: 'quota',
    words: /QuotaExceededError: The quota has been exceeded/,
  },
  {
    what: "Cache.put fails with Chromium's private-window internal error",
    faults: { put: new DOMException("Failed to execute 'put' on 'Cache': Unexpected internal error.", 'UnknownError') },
    reason: 'error',
    words: /UnknownError: .*Unexpected internal error/,
  },
  {
    what: 'the cache cannot be opened',
    faults: { open: new DOMException('The operation is insecure.', 'SecurityError') },
    reason: 'unavailable',
    words: /SecurityError/,
  },
  {
    what: 'the cache cannot be read',
    faults: { match: new DOMException('Unexpected internal error.', 'UnknownError') },
    reason: 'error',
    words: /Could not read from the model cache/,
  },
] as const;

describe('CacheApiStore is best-effort', () => {
  it('with a working cache, keeps every file and serves the next load without the network', async () => {
    const caches = fakeCaches();
    const failures: StorageFailure[] = [];
    const first = packageServer();
    expectPackageBytes(
      (await load(new CacheApiStore({ caches: caches.storage, onFailure: (f) => failures.push(f) }), first.fetchFn))
        .data,
    );
    for (const file of FILES) expect(caches.entries.has(fileKey(file.sha256))).toBe(true);
    const second = packageServer();
    const again = await load(new CacheApiStore({ caches: caches.storage }), second.fetchFn);
    expectPackageBytes(again.data);
    expect(second.requests).toEqual([`${BASE}manifest.json`]); // the manifest is network-first; files come from the cache
    expect(failures).toEqual([]);
  });

  for (const { what, faults, reason, words } of FAILURES) {
    it(`when ${what}, the load goes on from memory and the failure is reported once (${reason})`, async () => {
      const caches = fakeCaches(faults);
      const failures: StorageFailure[] = [];
      const server = packageServer();
      const store = new CacheApiStore({ caches: caches.storage, onFailure: (f) => failures.push(f) });
      const { loaded, data } = await load(store, server.fetchFn);
      expect(loaded).toEqual(manifest);
      expectPackageBytes(data);
      expect(server.requests).toHaveLength(1 + FILES.length);
      expect(failures).toHaveLength(1);
      expect(failures[0]?.reason).toBe(reason);
      expect(failures[0]?.message).toMatch(words);
    });
  }

  it('stops writing after the first failed write (a full cache would refuse every later file too)', async () => {
    const caches = fakeCaches({ put: new DOMException('quota', 'QuotaExceededError'), okPuts: 1 });
    const store = new CacheApiStore({ caches: caches.storage });
    await load(store, packageServer().fetchFn);
    // the manifest was stored, the first file's write failed, no write was attempted after it
    expect(caches.puts()).toBe(2);
    expect([...caches.entries.keys()]).toHaveLength(1);
  });

  it('fetchVerified says a file that could not be kept was not stored, and returns it verified', async () => {
    const caches = fakeCaches({ put: new DOMException('Unexpected internal error.', 'UnknownError') });
    const file = FILES[0];
    if (file === undefined) throw new Error('the tiny package has no files');
    const got = await fetchVerified(
      { url: `${BASE}${file.path}`, bytes: file.bytes, sha256: file.sha256 },
      { fetch: packageServer().fetchFn, store: new CacheApiStore({ caches: caches.storage }) },
    );
    expect(got).toMatchObject({ fromCache: false, stored: false });
    expect(got.data.byteLength).toBe(file.bytes);
  });

  it('where the Cache API is missing altogether, every method still answers (reported as unavailable)', async () => {
    const failures: StorageFailure[] = [];
    // Node has no global `caches`: the store's default Cache API is missing here
    expect(CacheApiStore.available()).toBe(false);
    const store = new CacheApiStore({ onFailure: (f) => failures.push(f) });
    expect(await store.get('k')).toBeUndefined();
    expect(await store.put('k', new Uint8Array(4))).toBe(false);
    await store.delete('k');
    expect(failures.map((f) => f.reason)).toEqual(['unavailable']);
  });
});

describe('ERR_STORAGE_QUOTA only where nothing can work', () => {
  it('a file larger than memory can hold is a typed error naming the file and its size', async () => {
    const bytes = 2 ** 53; // no realm can allocate this
    const error = await fetchVerified(
      { url: `${BASE}huge.onnx`, bytes, sha256: '0'.repeat(64) },
      { fetch: packageServer().fetchFn },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TTSError);
    expect(error).toMatchObject({ code: 'ERR_STORAGE_QUOTA', details: { url: `${BASE}huge.onnx`, bytes } });
    expect((error as TTSError).message).toMatch(/not enough memory to hold the file/);
  });
});
