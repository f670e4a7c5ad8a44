/**
 * What the engine benchmarks share: the full-size random-weight package read from disk (built by
 * `.venv/bin/python -m tools.fixtures.full_size`) and a synthetic zero-shot voice of realistic size
 * (`synthetic-voice.ts`, also used by the browser bench page).
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseManifest } from '../../src/loader/manifest.ts';
import { ModelPackage } from '../../src/runtime/model-package.ts';

export { PROMPT_TOKENS, syntheticVoice } from './synthetic-voice.ts';

/** The package in `dir`, files read on demand; no hashing (multi-GB files, and this is a benchmark, not a loader). */
export async function openBenchPackage(dir: string): Promise<ModelPackage> {
  const manifest = parseManifest(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  return new ModelPackage(manifest, { read: async (f) => new Uint8Array(await readFile(join(dir, f.path))) });
}
