/** Node-side access to a model package directory, with the same size + SHA-256 checks as the browser loader. */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { modelFormatError, TTSError } from '../../src/errors.ts';
import { sha256Hex } from '../../src/loader/hash.ts';
import { parseManifest } from '../../src/loader/manifest.ts';
import { ModelPackage } from '../../src/runtime/model-package.ts';

/**
 * Opens the package in `dir` (its `manifest.json` and the files it lists).
 *
 * @throws {TTSError} ERR_ASSET_FETCH when a file is missing, ERR_ASSET_INTEGRITY on a size or hash mismatch,
 *   ERR_MODEL_FORMAT for an invalid manifest.
 */
export async function openModelDir(dir: string): Promise<ModelPackage> {
  let text: string;
  try {
    text = await readFile(join(dir, 'manifest.json'), 'utf8');
  } catch (cause) {
    throw new TTSError('ERR_ASSET_FETCH', `${dir}: no manifest.json (is this a model package made by tools.export?)`, {
      cause,
      details: { url: join(dir, 'manifest.json'), status: 0 },
    });
  }
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch (cause) {
    throw modelFormatError(join(dir, 'manifest.json'), 'valid JSON', cause);
  }
  const manifest = parseManifest(json);
  return new ModelPackage(manifest, {
    read: async (file) => {
      const path = join(dir, file.path);
      let data: Uint8Array;
      try {
        data = new Uint8Array(await readFile(path));
      } catch (cause) {
        throw new TTSError('ERR_ASSET_FETCH', `${path}: cannot read (${String(cause)})`, {
          cause,
          details: { url: path, status: 0 },
        });
      }
      if (data.byteLength !== file.bytes || (await sha256Hex(data)) !== file.sha256) {
        throw new TTSError('ERR_ASSET_INTEGRITY', `${path}: size or SHA-256 differs from the manifest.`, {
          details: { url: path, expected: file.sha256 },
        });
      }
      return data;
    },
  });
}
