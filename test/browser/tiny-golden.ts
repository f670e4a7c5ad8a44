/**
 * The tiny fixture package and its reference goldens, as the browser suites compare against them: the manifest, the
 * golden texts and seed, the reference voice (also as a voice file, what an app would have saved) and the reference
 * offline audio for that text, voice and seed.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseManifest } from '../../src/loader/manifest.ts';
import { serializeVoice } from '../../src/models/voice/voice-profile.ts';
import { floats, need, readNpz } from '../helpers/npz.ts';
import { goldenVoice } from '../helpers/voice.ts';

export const ROOT = join(import.meta.dirname, '../..');
export const GOLDEN = join(ROOT, 'test/fixtures/golden');
export const TINY_PACKAGE = join(ROOT, 'test/fixtures/tiny-package');
export const e2e = readNpz(join(GOLDEN, 'e2e.npz'));
export const manifest = parseManifest(JSON.parse(readFileSync(join(TINY_PACKAGE, 'manifest.json'), 'utf8')));
export const texts = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
export const ZH = texts['zh']?.text ?? '';
export const SEED = Number((need(e2e, 'seed').data as BigInt64Array)[0]);
export const GOLDEN_VOICE = goldenVoice({ manifest });
export const VOICE = Array.from(serializeVoice(GOLDEN_VOICE));
/** The reference's offline audio of {@link ZH} with {@link GOLDEN_VOICE} and {@link SEED}. */
export const REFERENCE = floats(need(e2e, 'offline_wave'));
