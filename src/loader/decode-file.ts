/**
 * Decodes a package file stored compressed (`encoding` in the manifest, format version 2) into the bytes its user
 * needs. The file was verified (size, SHA-256) as stored, so a decoding failure means a writer's bug or a manifest
 * that does not match its files; either way nothing undecodable reaches a session.
 *
 * gzip is decoded by the platform's `DecompressionStream` (every current browser, Node ≥ 18): native code, no
 * dependency, and it streams into one buffer of the manifest's `decodedBytes`, so the peak memory is the stored plus
 * the decoded file, never a list of chunks copied again at the end.
 */
import { TTSError } from '../errors.ts';
import { fileBuffer } from './file-buffer.ts';
import type { ManifestFile } from './manifest.ts';
import { decodedPath } from './manifest.ts';

/**
 * The content of `file` from its stored bytes: `stored` itself when the file has no encoding.
 *
 * @throws {TTSError} ERR_ASSET_INTEGRITY when the stored bytes are not valid gzip or decode to another size than
 *   `decodedBytes`; ERR_UNSUPPORTED_ENV when the platform has no `DecompressionStream`; ERR_STORAGE_QUOTA when
 *   memory cannot hold the decoded file.
 */
export async function decodeFile(file: ManifestFile, stored: Uint8Array, signal?: AbortSignal): Promise<Uint8Array> {
  if (file.encoding === undefined) return stored;
  const expected = file.decodedBytes ?? 0;
  if (typeof DecompressionStream !== 'function') {
    throw new TTSError(
      'ERR_UNSUPPORTED_ENV',
      `${file.path} is gzip-compressed and this platform has no DecompressionStream (Chrome 80, Firefox 113, Safari 16.4, Node 18 or newer).`,
      { details: { file: file.path } },
    );
  }
  const out = fileBuffer(expected, file.path, 'decode', { file: file.path });
  let length = 0;
  const reader = chunks(stored).pipeThrough(new DecompressionStream('gzip')).getReader();
  try {
    for (;;) {
      signal?.throwIfAborted();
      const { done, value } = await reader.read();
      if (done) break;
      if (length + value.byteLength > expected) throw sizeMismatch(file, `more than ${expected}`);
      out.set(value, length);
      length += value.byteLength;
    }
  } catch (error) {
    await reader.cancel().catch(() => undefined);
    if (error instanceof TTSError || signal?.aborted === true) throw error;
    throw new TTSError(
      'ERR_ASSET_INTEGRITY',
      `${file.path} is not valid gzip (${error instanceof Error ? error.message : String(error)}); it matches the manifest's SHA-256, so the package was written wrongly.`,
      { cause: error, details: { file: file.path } },
    );
  }
  if (length !== expected) throw sizeMismatch(file, String(length));
  return out;
}

/** Pieces of a slice to feed a stream without copying it (a Blob would copy it whole). */
const PIECE_BYTES = 1 << 20;

function chunks(bytes: Uint8Array): ReadableStream<Uint8Array<ArrayBuffer>> {
  // a stream refuses views of shared memory; stored files come from fetch or the file system, so this never copies
  const owned = bytes.buffer instanceof ArrayBuffer ? (bytes as Uint8Array<ArrayBuffer>) : new Uint8Array(bytes);
  let offset = 0;
  return new ReadableStream({
    pull(controller) {
      if (offset >= owned.byteLength) {
        controller.close();
        return;
      }
      const end = Math.min(offset + PIECE_BYTES, owned.byteLength);
      controller.enqueue(owned.subarray(offset, end));
      offset = end;
    },
  });
}

function sizeMismatch(file: ManifestFile, actual: string): TTSError {
  return new TTSError(
    'ERR_ASSET_INTEGRITY',
    `${file.path} decodes to ${actual} bytes, but the manifest says ${decodedPath(file)} has ${file.decodedBytes ?? 0}.`,
    { details: { file: file.path } },
  );
}
