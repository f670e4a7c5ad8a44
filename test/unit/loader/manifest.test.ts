/**
 * `config.flow.vocabSize` in the manifest: read when present (and checked), filled from `llm.speechTokenSize` when an
 * older manifest lacks it (docs/model-package.md, `manifest.json`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { TTSError } from '../../../src/errors.ts';
import { parseManifest } from '../../../src/loader/manifest.ts';
import { TINY_PACKAGE } from '../../helpers/package.ts';

interface RawManifest {
  config: { flow: Record<string, unknown>; llm: { speechTokenSize: number } };
}

const raw = (): RawManifest => JSON.parse(readFileSync(join(TINY_PACKAGE, 'manifest.json'), 'utf8')) as RawManifest;

/** The error `parseManifest` refuses `data` with, checked to be ERR_MODEL_FORMAT. */
function refusal(data: unknown): TTSError {
  let error: unknown;
  try {
    parseManifest(data);
  } catch (e) {
    error = e;
  }
  expect(error).toBeInstanceOf(TTSError);
  expect((error as TTSError).code).toBe('ERR_MODEL_FORMAT');
  return error as TTSError;
}

describe('manifest config.flow.vocabSize', () => {
  it('is read from the manifest when present', () => {
    const data = raw();
    data.config.flow['vocabSize'] = data.config.llm.speechTokenSize + 17;
    expect(parseManifest(data).config.flow.vocabSize).toBe(data.config.llm.speechTokenSize + 17);
  });

  it('falls back to llm.speechTokenSize for manifests written before the field existed', () => {
    const data = raw();
    delete data.config.flow['vocabSize'];
    const parsed = parseManifest(data);
    expect(parsed.config.flow.vocabSize).toBe(data.config.llm.speechTokenSize);
    expect(parsed.config.flow.chunkTokens).toBe(data.config.flow['chunkTokens']);
  });

  it.each([0, 2.5, -3, 'many'])('rejects %j with ERR_MODEL_FORMAT naming the field', (value) => {
    const data = raw();
    data.config.flow['vocabSize'] = value;
    expect(refusal(data).message).toContain('config.flow.vocabSize');
  });
});

describe('manifest format versions and compressed files', () => {
  interface RawFiles {
    formatVersion: number;
    files: Array<Record<string, unknown>>;
    graphs: Record<string, Record<string, { file: string; externalData: string[] }>>;
  }
  const rawFiles = (): RawFiles => raw() as unknown as RawFiles;
  /** The tiny manifest with its tokenizer stored as gzip (the first file entry that is not a graph's). */
  function withGzipTokenizer(version: number, change: (file: Record<string, unknown>) => void = () => {}): unknown {
    const data = rawFiles() as RawFiles & { tokenizer: string };
    data.formatVersion = version;
    const file = data.files.find((f) => f['path'] === data.tokenizer) ?? {};
    file['decodedBytes'] = file['bytes'];
    file['path'] = `${data.tokenizer}.gz`;
    file['encoding'] = 'gzip';
    data.tokenizer = `${data.tokenizer}.gz`;
    change(file);
    return data;
  }

  it('reads versions 1 and 2; a gzip file of version 2 keeps its decoded size', () => {
    expect(parseManifest(rawFiles()).formatVersion).toBe(rawFiles().formatVersion);
    const parsed = parseManifest(withGzipTokenizer(2));
    const tokenizer = parsed.files.find((f) => f.path === parsed.tokenizer);
    expect(tokenizer?.encoding).toBe('gzip');
    expect(tokenizer?.decodedBytes).toBe(rawFiles().files.find((f) => f['kind'] === 'tokenizer')?.['bytes']);
  });

  it('refuses a newer version, saying to update', () => {
    const data = rawFiles();
    data.formatVersion = 3;
    expect(refusal(data).message).toMatch(/versions 1 and 2 \(the package is newer: update cosyvoice-web\)/);
  });

  it.each<[string, number, (file: Record<string, unknown>) => void, string]>([
    ['an encoding in a version 1 manifest', 1, () => {}, 'needs formatVersion 2'],
    ['an unknown encoding', 2, (f) => (f['encoding'] = 'br'), 'must be one of gzip'],
    ['a gzip path without ".gz"', 2, (f) => (f['path'] = 'tokenizer.json'), 'must end in ".gz"'],
    ['no decodedBytes', 2, (f) => delete f['decodedBytes'], 'decodedBytes must be a finite number'],
    ['a fractional decodedBytes', 2, (f) => (f['decodedBytes'] = 1.5), 'must be a non-negative integer'],
  ])('refuses %s, naming the field', (_, version, change, message) => {
    expect(refusal(withGzipTokenizer(version, change)).message).toContain(message);
  });

  it('refuses decodedBytes on a file stored as is', () => {
    const data = rawFiles();
    const first = data.files[0] ?? {};
    first['decodedBytes'] = 10;
    expect(refusal(data).message).toContain('decodedBytes is only allowed with an encoding');
  });
});
