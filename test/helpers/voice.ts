/** The golden voice of the tiny fixture (test/fixtures/golden/voice.npz) as a VoiceProfile. */
import { join } from 'node:path';
import type { VoiceProfile } from '../../src/models/voice/voice-profile.ts';
import { voiceModelInfo } from '../../src/models/voice/voice-profile.ts';
import type { ModelPackage } from '../../src/runtime/model-package.ts';
import { floats, need, readNpz } from './npz.ts';
import { GOLDEN } from './package.ts';

/**
 * Zero-shot voice of the golden fixture (prompt tokens/mel/embedding from the reference), for `pkg` (a
 * {@link ModelPackage}, or just its parsed manifest as `{ manifest }`).
 */
export function goldenVoice(pkg: Pick<ModelPackage, 'manifest'>): VoiceProfile {
  const voice = readNpz(join(GOLDEN, 'voice.npz'));
  return {
    promptTextIds: Int32Array.from(need(voice, 'prompt_text_ids').data as Int32Array),
    promptTokens: Int32Array.from(need(voice, 'prompt_tokens').data as Int32Array),
    promptFeat: floats(need(voice, 'prompt_feat')),
    embedding: floats(need(voice, 'embedding')),
    model: voiceModelInfo(pkg.manifest),
    sampleRate: pkg.manifest.config.sampleRate,
  };
}
