/**
 * A synthetic zero-shot voice of realistic size for the benchmarks, in Node and in the browser bench page alike (no
 * Node imports here): what a 3.5 s cloning prompt gives, with seeded random contents.
 */
import type { ModelManifest } from '../../src/loader/manifest.ts';
import { Xoshiro128 } from '../../src/models/lm/rng.ts';
import type { VoiceProfile } from '../../src/models/voice/voice-profile.ts';
import { voiceModelInfo } from '../../src/models/voice/voice-profile.ts';

/** Speech tokens of the synthetic prompt: 3.5 s, a typical cloning prompt (pad 13 to the 25-token chunk grid). */
export const PROMPT_TOKENS = 87;

/** A random zero-shot voice (87 prompt tokens, their 174 mel frames, a 10-id transcript), seeded. */
export function syntheticVoice(pkg: { readonly manifest: ModelManifest }, seed = 1): VoiceProfile {
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
