/**
 * What the engine benchmarks share: the full-size random-weight package read from disk (built by
 * `.venv/bin/python -m tools.fixtures.full_size`) and a synthetic zero-shot voice of realistic size.
 */
import { readFile } from 'node:fs/promises';
import { join } from 'node:path';
import { parseManifest } from '../../src/loader/manifest.ts';
import { Xoshiro128 } from '../../src/models/lm/rng.ts';
import type { VoiceProfile } from '../../src/models/voice/voice-profile.ts';
import { voiceModelInfo } from '../../src/models/voice/voice-profile.ts';
import { ModelPackage } from '../../src/runtime/model-package.ts';

/** Speech tokens of the synthetic prompt: 3.5 s, a typical cloning prompt (pad 13 to the 25-token chunk grid). */
export const PROMPT_TOKENS = 87;

/** The package in `dir`, files read on demand; no hashing (multi-GB files, and this is a benchmark, not a loader). */
export async function openBenchPackage(dir: string): Promise<ModelPackage> {
  const manifest = parseManifest(JSON.parse(await readFile(join(dir, 'manifest.json'), 'utf8')));
  return new ModelPackage(manifest, { read: async (f) => new Uint8Array(await readFile(join(dir, f.path))) });
}

/** A random zero-shot voice (87 prompt tokens, their 174 mel frames, a 10-id transcript), seeded. */
export function syntheticVoice(pkg: ModelPackage, seed = 1): VoiceProfile {
  const rng = new Xoshiro128(seed);
  const model = voiceModelInfo(pkg.manifest);
  return {
    promptTextIds: Int32Array.from({ length: 10 }, (_, i) => 100 + i),
    promptTokens: Int32Array.from({ length: PROMPT_TOKENS }, () => Math.floor(rng.uniform() * model.speechTokenSize)),
    promptFeat: Float32Array.from(
      { length: PROMPT_TOKENS * model.tokenMelRatio * model.melBins },
      () => rng.normal() - 4,
    ),
    embedding: Float32Array.from({ length: model.embeddingDim }, () => rng.normal()),
    model,
    sampleRate: pkg.manifest.config.sampleRate,
  };
}
