/**
 * Verified, resumable download of one model file.
 *
 * The file is fetched in byte ranges (`Range: bytes=a-b`); every completed range is stored as a part, so a download
 * interrupted by a network error resumes from the current offset (retries) and one interrupted by a reload resumes
 * from the stored parts. Servers that ignore ranges (status 200) are read in one stream. Size and SHA-256 are
 * checked before the bytes are used or stored under the file's key; nothing unverified is ever returned.
 */
import { TTSError } from '../errors.ts';
import { fileBuffer } from './file-buffer.ts';
import { sha256Hex } from './hash.ts';
import type { ByteStore } from './store.ts';
import { fileKey, NO_STORE, partKey } from './store.ts';

/** What to fetch: the URL plus the manifest's size and hash. */
export interface FileRequest {
  readonly url: string;
  readonly bytes: number;
  readonly sha256: string;
}

/** Options of {@link fetchVerified}. */
export interface FetchFileOptions {
  /** `fetch` implementation. @defaultValue globalThis.fetch */
  readonly fetch?: typeof fetch;
  /** Where verified files and download parts are kept. @defaultValue NO_STORE */
  readonly store?: ByteStore;
  readonly signal?: AbortSignal;
  /** Progress in bytes of this file. */
  readonly onProgress?: (loaded: number, total: number, fromCache: boolean) => void;
  /** Range size. @defaultValue 16 MiB */
  readonly chunkBytes?: number;
  /** Retries per range after a network error. @defaultValue 3 */
  readonly retries?: number;
  /** Delay before retry n (ms). @defaultValue 500·2ⁿ */
  readonly retryDelayMs?: (attempt: number) => number;
}

/** A verified file. */
export interface FetchedFile {
  readonly data: Uint8Array;
  /** Served entirely from the store. */
  readonly fromCache: boolean;
  /** Stored for next time (false when the store could not keep it, or no store was given). */
  readonly stored: boolean;
}

const DEFAULT_CHUNK = 16 * 1024 * 1024;

/**
 * Downloads (or reads from the store) a file and verifies its size and SHA-256.
 *
 * @throws {TTSError} ERR_ASSET_FETCH (HTTP status or network failure after retries; details: url, status),
 *   ERR_ASSET_INTEGRITY (size or hash mismatch; details: url, expected, actual), ERR_STORAGE_QUOTA (not even memory
 *   can hold the file; a store that cannot keep it is no error). Aborts reject with the signal's reason.
 */
export async function fetchVerified(request: FileRequest, options: FetchFileOptions = {}): Promise<FetchedFile> {
  const store = options.store ?? NO_STORE;
  const signal = options.signal;
  signal?.throwIfAborted();
  const cached = await store.get(fileKey(request.sha256));
  if (cached?.byteLength === request.bytes) {
    options.onProgress?.(request.bytes, request.bytes, true);
    return { data: cached, fromCache: true, stored: true };
  }
  const data = await download(request, store, options);
  const actual = await sha256Hex(data);
  if (actual !== request.sha256) {
    await deleteParts(request, store, options.chunkBytes ?? DEFAULT_CHUNK);
    throw new TTSError(
      'ERR_ASSET_INTEGRITY',
      `${request.url}: SHA-256 mismatch (expected ${request.sha256}, got ${actual}). The file is corrupted or does not belong to this model package; it was not used or cached.`,
      { details: { url: request.url, expected: request.sha256, actual } },
    );
  }
  const stored = await store.put(fileKey(request.sha256), data);
  await deleteParts(request, store, options.chunkBytes ?? DEFAULT_CHUNK);
  return { data, fromCache: false, stored };
}

function ranges(total: number, chunk: number): Array<[number, number]> {
  const out: Array<[number, number]> = [];
  for (let start = 0; start < total; start += chunk) out.push([start, Math.min(total, start + chunk)]);
  return out;
}

async function deleteParts(request: FileRequest, store: ByteStore, chunk: number): Promise<void> {
  const parts = ranges(request.bytes, chunk);
  if (parts.length > 1) await Promise.all(parts.map(([a, b]) => store.delete(partKey(request.sha256, a, b))));
}

async function download(request: FileRequest, store: ByteStore, options: FetchFileOptions): Promise<Uint8Array> {
  const chunk = Math.max(1, options.chunkBytes ?? DEFAULT_CHUNK);
  const buffer = fileBuffer(request.bytes, request.url, 'hold', { url: request.url });
  const parts = ranges(request.bytes, chunk);
  const multipart = parts.length > 1;
  let loaded = 0;
  const progress = (n: number): void => {
    loaded += n;
    options.onProgress?.(loaded, request.bytes, false);
  };
  for (const [start, end] of parts) {
    if (multipart) {
      const part = await store.get(partKey(request.sha256, start, end));
      if (part?.byteLength === end - start) {
        buffer.set(part, start);
        progress(part.byteLength);
        continue;
      }
    }
    const whole = await fetchRange(request, buffer, start, end, multipart, progress, options);
    if (whole) return buffer; // the server ignored the range and sent everything
    if (multipart) await store.put(partKey(request.sha256, start, end), buffer.subarray(start, end));
  }
  return buffer;
}

/**
 * Fills buffer[start, end) from the network, resuming from the current offset after network errors. Returns true
 * when the server ignored the range and answered 200 with the whole file (then the whole buffer is filled).
 */
async function fetchRange(
  request: FileRequest,
  buffer: Uint8Array,
  start: number,
  end: number,
  ranged: boolean,
  progress: (n: number) => void,
  options: FetchFileOptions,
): Promise<boolean> {
  const doFetch = options.fetch ?? globalThis.fetch.bind(globalThis);
  const retries = options.retries ?? 3;
  const delay = options.retryDelayMs ?? ((n: number) => 500 * 2 ** n);
  // Mutated by readInto as bytes arrive, so a retry after a reset resumes where the stream broke.
  const cursor = { offset: start };
  for (let attempt = 0; ; attempt++) {
    options.signal?.throwIfAborted();
    const offset = cursor.offset;
    const useRange = ranged || offset > 0;
    try {
      const response = await doFetch(request.url, {
        ...(useRange ? { headers: { Range: `bytes=${offset}-${end - 1}` } } : {}),
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      });
      checkStatus(response, request);
      if (response.status === 200 && useRange) {
        // No range support: restart from byte 0 and take the whole file from this one response.
        progress(-offset);
        cursor.offset = 0;
        await readInto(response, buffer, cursor, request.bytes, request.url, progress);
        return true;
      }
      await readInto(response, buffer, cursor, end, request.url, progress);
      return false;
    } catch (error) {
      if (error instanceof TTSError) throw error;
      options.signal?.throwIfAborted();
      if (attempt >= retries) throw networkError(request.url, error);
      await sleep(delay(attempt), options.signal);
    }
  }
}

/** The size the server declares for the whole file (Content-Range total on 206, Content-Length on 200). */
function declaredSize(response: Response): number | undefined {
  const range = response.headers.get('content-range');
  const total = range === null ? undefined : /\/(\d+)$/.exec(range)?.[1];
  if (total !== undefined) return Number(total);
  const length = response.headers.get('content-length');
  // Content-Length describes the (possibly compressed) transfer; only trust it for an identity-encoded 200.
  if (response.status === 200 && length !== null && response.headers.get('content-encoding') === null) {
    return Number(length);
  }
  return undefined;
}

function checkStatus(response: Response, request: FileRequest): void {
  if (response.status === 416) {
    throw new TTSError(
      'ERR_ASSET_INTEGRITY',
      `${request.url}: the server's file is smaller than the manifest's size (${request.bytes} bytes).`,
      { details: { url: request.url, expected: request.bytes, status: 416 } },
    );
  }
  if (!response.ok) {
    throw new TTSError('ERR_ASSET_FETCH', `${request.url}: HTTP ${response.status} ${response.statusText}`.trim(), {
      details: { url: request.url, status: response.status },
    });
  }
  const size = declaredSize(response);
  if (size !== undefined && size !== request.bytes) {
    throw new TTSError(
      'ERR_ASSET_INTEGRITY',
      `${request.url}: the server's file has ${size} bytes but the manifest says ${request.bytes}.`,
      { details: { url: request.url, expected: request.bytes, actual: size } },
    );
  }
}

/** Streams a response body into buffer[cursor.offset, end); a short body is a (retryable) network error. */
async function readInto(
  response: Response,
  buffer: Uint8Array,
  cursor: { offset: number },
  end: number,
  url: string,
  progress: (n: number) => void,
): Promise<void> {
  if (response.body === null) throw new TypeError('empty response body');
  const reader = response.body.getReader();
  try {
    for (;;) {
      const { done, value } = await reader.read();
      if (done) break;
      if (cursor.offset + value.byteLength > end) {
        throw new TTSError(
          'ERR_ASSET_INTEGRITY',
          `${url}: the server sent more bytes than the manifest's size (${buffer.byteLength}).`,
          { details: { url, expected: buffer.byteLength, actual: cursor.offset + value.byteLength } },
        );
      }
      buffer.set(value, cursor.offset);
      cursor.offset += value.byteLength;
      progress(value.byteLength);
    }
  } finally {
    reader.releaseLock();
  }
  if (cursor.offset < end) throw new TypeError(`connection closed at byte ${cursor.offset} of ${end}`);
}

function networkError(url: string, cause: unknown): TTSError {
  return new TTSError(
    'ERR_ASSET_FETCH',
    `${url}: network error (${cause instanceof Error ? cause.message : String(cause)}) after retries.`,
    { cause, details: { url, status: 0 } },
  );
}

function sleep(ms: number, signal: AbortSignal | undefined): Promise<void> {
  return new Promise((resolve, reject) => {
    const timer = setTimeout(resolve, ms);
    signal?.addEventListener(
      'abort',
      () => {
        clearTimeout(timer);
        reject(signal.reason as Error);
      },
      { once: true },
    );
  });
}
