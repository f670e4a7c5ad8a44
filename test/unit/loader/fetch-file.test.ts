import { createHash } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { TTSError } from '../../../src/errors.ts';
import { fetchVerified } from '../../../src/loader/fetch-file.ts';
import { fileKey, MemoryStore, partKey } from '../../../src/loader/store.ts';

const URL_ = 'https://models.example/pkg/llm.int8.onnx';

function bytes(n: number, seed = 7): Uint8Array {
  const out = new Uint8Array(n);
  let x = seed;
  for (let i = 0; i < n; i++) {
    x = (x * 1103515245 + 12345) >>> 0;
    out[i] = x >>> 24;
  }
  return out;
}

function sha(data: Uint8Array): string {
  return createHash('sha256').update(data).digest('hex');
}

interface ServerOptions {
  /** Serve 200 + whole body even for Range requests. */
  readonly ignoreRange?: boolean;
  /** Cut the body after this many bytes for the first N responses. */
  readonly cutAfter?: number;
  readonly cutTimes?: number;
  readonly status?: number;
  /** Bytes per body chunk. */
  readonly piece?: number;
}

/** A fake HTTP server for one file, recording the Range headers it saw. */
function server(content: Uint8Array, opts: ServerOptions = {}) {
  const ranges: Array<string | null> = [];
  let cuts = 0;
  const fetchFn = (_url: string | URL | Request, init?: RequestInit): Promise<Response> => {
    const range = new Headers(init?.headers).get('range');
    ranges.push(range);
    if (opts.status !== undefined) return Promise.resolve(new Response('nope', { status: opts.status }));
    let body = content;
    let status = 200;
    if (range !== null && opts.ignoreRange !== true) {
      const m = /bytes=(\d+)-(\d+)/.exec(range);
      if (m === null) throw new Error('bad range');
      const a = Number(m[1]);
      const b = Number(m[2]);
      if (a >= content.length) return Promise.resolve(new Response(null, { status: 416 }));
      body = content.subarray(a, Math.min(content.length, b + 1));
      status = 206;
    }
    const cut = opts.cutAfter !== undefined && cuts < (opts.cutTimes ?? 1);
    if (cut) cuts++;
    const piece = opts.piece ?? 1000;
    const limit = cut ? Math.min(body.length, opts.cutAfter ?? 0) : body.length;
    let sent = 0;
    // pull-based so the bytes before a simulated reset really reach the reader
    const stream = new ReadableStream<Uint8Array>({
      pull(controller) {
        if (sent >= limit) {
          if (cut) controller.error(new TypeError('network reset'));
          else controller.close();
          return;
        }
        controller.enqueue(body.slice(sent, Math.min(limit, sent + piece)));
        sent += piece;
      },
    });
    const headers: Record<string, string> =
      status === 206
        ? {
            'content-range': `bytes ${range?.slice(6).split('-')[0] ?? ''}-${String(Number(range?.slice(6).split('-')[0]) + body.length - 1)}/${content.length}`,
          }
        : { 'content-length': String(content.length) };
    return Promise.resolve(new Response(stream, { status, headers }));
  };
  return { fetchFn, ranges };
}

const noDelay = { retryDelayMs: () => 0 };

describe('fetchVerified', () => {
  it('downloads in ranges, verifies, stores the whole file and drops the parts', async () => {
    const content = bytes(10_000);
    const { fetchFn, ranges } = server(content);
    const store = new MemoryStore();
    const seen: number[] = [];
    const got = await fetchVerified(
      { url: URL_, bytes: content.length, sha256: sha(content) },
      { fetch: fetchFn, store, chunkBytes: 4096, onProgress: (l) => seen.push(l), ...noDelay },
    );
    expect(got.fromCache).toBe(false);
    expect(got.stored).toBe(true);
    expect(Buffer.from(got.data).equals(Buffer.from(content))).toBe(true);
    expect(ranges).toEqual(['bytes=0-4095', 'bytes=4096-8191', 'bytes=8192-9999']);
    expect(seen.at(-1)).toBe(10_000);
    expect(store.keys()).toEqual([fileKey(sha(content))]);
  });

  it('serves the second request from the store without touching the network', async () => {
    const content = bytes(3000);
    const store = new MemoryStore();
    const first = server(content);
    await fetchVerified({ url: URL_, bytes: 3000, sha256: sha(content) }, { fetch: first.fetchFn, store });
    const second = server(content);
    const progress: Array<[number, boolean]> = [];
    const got = await fetchVerified(
      { url: 'https://mirror.example/other-name.onnx', bytes: 3000, sha256: sha(content) },
      { fetch: second.fetchFn, store, onProgress: (l, _t, c) => progress.push([l, c]) },
    );
    expect(got.fromCache).toBe(true);
    expect(second.ranges).toEqual([]);
    expect(progress).toEqual([[3000, true]]);
  });

  it('resumes from the current offset after a connection reset', async () => {
    const content = bytes(5000);
    const { fetchFn, ranges } = server(content, { cutAfter: 1500, cutTimes: 1, piece: 500 });
    const got = await fetchVerified(
      { url: URL_, bytes: 5000, sha256: sha(content) },
      { fetch: fetchFn, chunkBytes: 1 << 20, ...noDelay },
    );
    expect(Buffer.from(got.data).equals(Buffer.from(content))).toBe(true);
    expect(ranges).toEqual([null, 'bytes=1500-4999']);
  });

  it('resumes an interrupted download from stored parts (e.g. after a reload)', async () => {
    const content = bytes(9000);
    const store = new MemoryStore();
    const digest = sha(content);
    // a previous page load completed the first two ranges
    await store.put(partKey(digest, 0, 4000), content.subarray(0, 4000));
    await store.put(partKey(digest, 4000, 8000), content.subarray(4000, 8000));
    const { fetchFn, ranges } = server(content);
    const got = await fetchVerified(
      { url: URL_, bytes: 9000, sha256: digest },
      { fetch: fetchFn, store, chunkBytes: 4000 },
    );
    expect(ranges).toEqual(['bytes=8000-8999']);
    expect(Buffer.from(got.data).equals(Buffer.from(content))).toBe(true);
    expect(store.keys()).toEqual([fileKey(digest)]);
  });

  it('falls back to one stream when the server ignores Range', async () => {
    const content = bytes(7000);
    const { fetchFn, ranges } = server(content, { ignoreRange: true });
    const seen: number[] = [];
    const got = await fetchVerified(
      { url: URL_, bytes: 7000, sha256: sha(content) },
      { fetch: fetchFn, chunkBytes: 3000, onProgress: (l) => seen.push(l) },
    );
    expect(Buffer.from(got.data).equals(Buffer.from(content))).toBe(true);
    expect(ranges).toEqual(['bytes=0-2999']);
    expect(seen.at(-1)).toBe(7000);
    expect(Math.max(...seen)).toBe(7000);
  });

  it('rejects a corrupted file with ERR_ASSET_INTEGRITY and caches nothing', async () => {
    const content = bytes(4000);
    const corrupted = content.slice();
    corrupted[1234] = (corrupted[1234] ?? 0) ^ 0xff;
    const { fetchFn } = server(corrupted);
    const store = new MemoryStore();
    const error = await fetchVerified(
      { url: URL_, bytes: 4000, sha256: sha(content) },
      { fetch: fetchFn, store, chunkBytes: 1000 },
    ).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(TTSError);
    expect((error as TTSError).code).toBe('ERR_ASSET_INTEGRITY');
    expect((error as TTSError).details).toMatchObject({ url: URL_, expected: sha(content), actual: sha(corrupted) });
    expect(store.keys()).toEqual([]);
  });

  it('rejects a file longer or shorter than the manifest says', async () => {
    const content = bytes(4000);
    const longer = await fetchVerified(
      { url: URL_, bytes: 3000, sha256: sha(content.subarray(0, 3000)) },
      { fetch: server(content, { ignoreRange: true }).fetchFn },
    ).catch((e: unknown) => e);
    expect((longer as TTSError).code).toBe('ERR_ASSET_INTEGRITY');
    const shorter = await fetchVerified(
      { url: URL_, bytes: 5000, sha256: sha(bytes(5000)) },
      { fetch: server(content).fetchFn, chunkBytes: 2500, ...noDelay },
    ).catch((e: unknown) => e);
    expect((shorter as TTSError).code).toBe('ERR_ASSET_INTEGRITY');
  });

  it('reports HTTP errors with URL and status', async () => {
    const error = await fetchVerified(
      { url: URL_, bytes: 10, sha256: sha(bytes(10)) },
      { fetch: server(bytes(10), { status: 404 }).fetchFn },
    ).catch((e: unknown) => e);
    expect((error as TTSError).code).toBe('ERR_ASSET_FETCH');
    expect((error as TTSError).details).toEqual({ url: URL_, status: 404 });
    expect((error as TTSError).message).toContain('HTTP 404');
  });

  it('gives up after the retries with ERR_ASSET_FETCH', async () => {
    const content = bytes(2000);
    const { fetchFn, ranges } = server(content, { cutAfter: 100, cutTimes: 99 });
    const error = await fetchVerified(
      { url: URL_, bytes: 2000, sha256: sha(content) },
      { fetch: fetchFn, retries: 2, ...noDelay },
    ).catch((e: unknown) => e);
    expect((error as TTSError).code).toBe('ERR_ASSET_FETCH');
    expect(ranges).toHaveLength(3);
  });

  it('rejects with the abort reason', async () => {
    const controller = new AbortController();
    const content = bytes(2000);
    controller.abort(new DOMException('stop', 'AbortError'));
    const error = await fetchVerified(
      { url: URL_, bytes: 2000, sha256: sha(content) },
      { fetch: server(content).fetchFn, signal: controller.signal },
    ).catch((e: unknown) => e);
    expect((error as DOMException).name).toBe('AbortError');
  });
});
