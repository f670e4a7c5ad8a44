/** Node-side access to a model package directory, with the same size + SHA-256 checks as the browser loader. */
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { readFile, stat } from 'node:fs/promises';
import { join } from 'node:path';
import { modelFormatError, TTSError } from '../../src/errors.ts';
import { sha256Hex } from '../../src/loader/hash.ts';
import type { ManifestFile, ModelManifest } from '../../src/loader/manifest.ts';
import { parseManifest } from '../../src/loader/manifest.ts';
import { ModelPackage } from '../../src/runtime/model-package.ts';

/**
 * Opens the package in `dir` (its `manifest.json` and the files it lists). Files are checked (size, then SHA-256) by
 * `ModelPackage.verify` — which `Engine.create` calls for every file its stages need before it makes a session — or
 * else when they are read; a verified file is not hashed again when it is read unless it changed since.
 *
 * @throws {TTSError} ERR_ASSET_FETCH when the manifest or a file is missing, ERR_ASSET_INTEGRITY on a size (or, when
 *   verified or read, hash) mismatch, ERR_MODEL_FORMAT for an invalid manifest (naming the file).
 */
export async function openModelDir(dir: string): Promise<ModelPackage> {
  const manifestPath = join(dir, 'manifest.json');
  let text: string;
  try {
    text = await readFile(manifestPath, 'utf8');
  } catch (cause) {
    throw new TTSError('ERR_ASSET_FETCH', `${dir}: no manifest.json (is this a model package made by tools.export?)`, {
      cause,
      details: { url: manifestPath, status: 0 },
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw modelFormatError(manifestPath, 'valid JSON', cause);
  }
  let manifest: ModelManifest;
  try {
    manifest = parseManifest(json);
  } catch (error) {
    if (!(error instanceof TTSError)) throw error;
    throw new TTSError(error.code, `${manifestPath}: ${error.message}`, {
      cause: error,
      details: { ...error.details, file: manifestPath },
    });
  }
  /** Files whose hash was checked, with the modification time they had then (so reading them skips the hash). */
  const verified = new Map<string, number>();
  return new ModelPackage(manifest, {
    verify: async (files, signal) => {
      // sizes first: a missing or truncated file is reported before anything is hashed
      const stats = await Promise.all(files.map((file) => statFile(join(dir, file.path))));
      for (const [i, file] of files.entries()) checkSize(file, stats[i] ?? { size: -1, path: file.path });
      for (const [i, file] of files.entries()) {
        const { path, mtimeMs } = stats[i] ?? { path: file.path, mtimeMs: Number.NaN };
        if (verified.get(path) === mtimeMs) continue;
        checkHash(file, path, await streamSha256(path, signal));
        verified.set(path, mtimeMs);
      }
    },
    read: async (file) => {
      const path = join(dir, file.path);
      let data: Uint8Array;
      let mtimeMs: number;
      try {
        mtimeMs = (await stat(path)).mtimeMs;
        data = new Uint8Array(await readFile(path));
      } catch (cause) {
        throw unreadable(path, cause);
      }
      checkSize(file, { size: data.byteLength, path });
      if (verified.get(path) !== mtimeMs) checkHash(file, path, await sha256Hex(data));
      return data;
    },
  });
}

async function statFile(path: string): Promise<{ size: number; mtimeMs: number; path: string }> {
  try {
    const s = await stat(path);
    return { size: s.size, mtimeMs: s.mtimeMs, path };
  } catch (cause) {
    throw unreadable(path, cause);
  }
}

function unreadable(path: string, cause: unknown): TTSError {
  return new TTSError('ERR_ASSET_FETCH', `${path}: cannot read (${String(cause)})`, {
    cause,
    details: { url: path, status: 0 },
  });
}

function checkSize(file: ManifestFile, actual: { size: number; path: string }): void {
  if (actual.size !== file.bytes) {
    throw new TTSError(
      'ERR_ASSET_INTEGRITY',
      `${actual.path}: ${actual.size} bytes, the manifest says ${file.bytes} (truncated or replaced).`,
      { details: { url: actual.path, expectedBytes: file.bytes, bytes: actual.size } },
    );
  }
}

function checkHash(file: ManifestFile, path: string, sha256: string): void {
  if (sha256 !== file.sha256) {
    throw new TTSError('ERR_ASSET_INTEGRITY', `${path}: SHA-256 differs from the manifest (the file is damaged).`, {
      details: { url: path, expected: file.sha256, actual: sha256 },
    });
  }
}

/** SHA-256 of a file read as a stream (a graph can be larger than is worth holding twice). */
async function streamSha256(path: string, signal?: AbortSignal): Promise<string> {
  const hash = createHash('sha256');
  try {
    for await (const chunk of createReadStream(path, signal === undefined ? {} : { signal })) {
      hash.update(chunk as Buffer);
    }
  } catch (cause) {
    signal?.throwIfAborted();
    throw unreadable(path, cause);
  }
  return hash.digest('hex');
}
