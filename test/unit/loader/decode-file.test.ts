/** `decodeFile`: stored package files (format version 2) decoded before use, with typed errors for broken ones. */
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { TTSError } from '../../../src/errors.ts';
import { decodeFile } from '../../../src/loader/decode-file.ts';
import type { ManifestFile } from '../../../src/loader/manifest.ts';
import { decodedPath } from '../../../src/loader/manifest.ts';
import { Xoshiro128 } from '../../../src/models/lm/rng.ts';

/** Seeded bytes with the skew of quantised weights (small magnitudes common), several MB: many stream pieces. */
function weightLike(length: number, seed: number): Uint8Array {
  const rng = new Xoshiro128(seed);
  const out = new Uint8Array(length);
  for (let i = 0; i < length; i++) out[i] = Math.round(rng.normal() * 20) & 0xff;
  return out;
}

const entry = (stored: Uint8Array, decodedBytes: number): ManifestFile => ({
  path: 'llm.int8.onnx.gz',
  bytes: stored.byteLength,
  sha256: '0'.repeat(64),
  stage: 'lm',
  kind: 'graph',
  encoding: 'gzip',
  decodedBytes,
});

async function failure(promise: Promise<unknown>): Promise<TTSError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(TTSError);
  return error as TTSError;
}

describe('decodeFile', () => {
  const content = weightLike(3 << 20, 7);
  const stored = new Uint8Array(gzipSync(content));

  it('returns a file without encoding as it is', async () => {
    const file: ManifestFile = { path: 'a.onnx', bytes: 3, sha256: '0'.repeat(64), stage: 'lm', kind: 'graph' };
    const bytes = new Uint8Array([1, 2, 3]);
    expect(await decodeFile(file, bytes)).toBe(bytes);
    expect(decodedPath(file)).toBe('a.onnx');
  });

  it('decodes gzip into exactly the original bytes; the decoded name drops ".gz"', async () => {
    expect(stored.byteLength).toBeLessThan(content.byteLength);
    const decoded = await decodeFile(entry(stored, content.byteLength), stored);
    expect(decoded.byteLength).toBe(content.byteLength);
    expect(Buffer.from(decoded).equals(Buffer.from(content))).toBe(true);
    expect(decodedPath(entry(stored, content.byteLength))).toBe('llm.int8.onnx');
  });

  it.each([
    ['fewer', -1],
    ['more', 1],
  ])('refuses content that decodes to %s bytes than the manifest says (ERR_ASSET_INTEGRITY)', async (_, delta) => {
    const error = await failure(decodeFile(entry(stored, content.byteLength + delta), stored));
    expect(error.code).toBe('ERR_ASSET_INTEGRITY');
    expect(error.message).toContain('llm.int8.onnx');
  });

  it('refuses bytes that are not gzip, or a truncated stream (ERR_ASSET_INTEGRITY)', async () => {
    const notGzip = weightLike(1000, 3);
    expect((await failure(decodeFile(entry(notGzip, 1000), notGzip))).code).toBe('ERR_ASSET_INTEGRITY');
    const truncated = stored.subarray(0, stored.byteLength >> 1);
    const error = await failure(decodeFile(entry(truncated, content.byteLength), truncated));
    expect(error.code).toBe('ERR_ASSET_INTEGRITY');
  });

  it('says which platforms decode gzip when DecompressionStream is missing (ERR_UNSUPPORTED_ENV)', async () => {
    const platform = globalThis.DecompressionStream;
    Reflect.deleteProperty(globalThis, 'DecompressionStream');
    try {
      const error = await failure(decodeFile(entry(stored, content.byteLength), stored));
      expect(error.code).toBe('ERR_UNSUPPORTED_ENV');
      expect(error.message).toMatch(/llm\.int8\.onnx\.gz is gzip-compressed .*Safari 16\.4/);
    } finally {
      globalThis.DecompressionStream = platform;
    }
    expect(await decodeFile(entry(stored, content.byteLength), stored)).toHaveLength(content.byteLength);
  });

  it('a decoded size memory cannot hold is ERR_STORAGE_QUOTA, not a RangeError', async () => {
    const huge = 2 ** 53; // no typed array can be this long
    const error = await failure(decodeFile(entry(stored, huge), stored));
    expect(error.code).toBe('ERR_STORAGE_QUOTA');
    expect(error.message).toContain('not enough memory to decode');
  });

  it('stops when aborted, with the abort reason', async () => {
    const controller = new AbortController();
    controller.abort(new Error('user cancelled'));
    const error = await decodeFile(entry(stored, content.byteLength), stored, controller.signal).catch(
      (e: unknown) => e,
    );
    expect((error as Error).message).toBe('user cancelled');
  });
});
