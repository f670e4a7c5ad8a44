/** The golden voice of the tiny fixture (test/fixtures/golden/voice.npz) as a VoiceProfile, and as browser tests send it. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifest, type ModelManifest } from '../../src/loader/manifest.ts';
import type { VoiceProfile } from '../../src/models/voice/voice-profile.ts';
import { serializeVoice, voiceModelInfo } from '../../src/models/voice/voice-profile.ts';
import type { ModelPackage } from '../../src/runtime/model-package.ts';
import { floats, need, readNpz } from './npz.ts';
import { GOLDEN, TINY_PACKAGE } from './package.ts';

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

/**
 * What a browser test sends to a page for the tiny fixture: its manifest, the golden texts by name, and the golden
 * voice as a voice file's bytes (what an app would have saved).
 */
export function tinyFixture(): { manifest: ModelManifest; texts: Record<string, string>; voiceFile: number[] } {
  const manifest = parseManifest(JSON.parse(readFileSync(join(TINY_PACKAGE, 'manifest.json'), 'utf8')));
  const entries = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
  const texts = Object.fromEntries(Object.entries(entries).map(([name, { text }]) => [name, text]));
  return { manifest, texts, voiceFile: Array.from(serializeVoice(goldenVoice({ manifest }))) };
}
