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
    let error: unknown;
    try {
      parseManifest(data);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(TTSError);
    expect((error as TTSError).code).toBe('ERR_MODEL_FORMAT');
    expect((error as TTSError).message).toContain('config.flow.vocabSize');
  });
});
