/**
 * The voice of a request, checked where it enters (issue #13.2) exactly as a voice file is when it is loaded: the
 * arrays have their types, lengths agree with the model info, ids are in range, floats are finite — a NaN in the
 * embedding would otherwise come out as an all-NaN waveform without any error.
 */
import { invalidInput } from '../errors.ts';
import type { ModelManifest } from '../loader/manifest.ts';
import type { VoiceProfile } from '../models/voice/voice-profile.ts';
import { checkVoiceCompatible, validateVoiceProfile, voiceExpectation } from '../models/voice/voice-profile.ts';
import { checkPromptRoom } from './limits.ts';

const ARRAYS = [
  ['promptTextIds', Int32Array],
  ['promptTokens', Int32Array],
  ['promptFeat', Float32Array],
  ['embedding', Float32Array],
] as const;

/**
 * Checks a voice passed to `synthesize` / `stream` / `speak`, that it fits the loaded model and that its prompt
 * leaves room to speak.
 *
 * @throws {TTSError} ERR_INVALID_INPUT naming the first problem.
 */
export function checkRequestVoice(voice: unknown, manifest: ModelManifest, name = 'options.voice'): VoiceProfile {
  if (typeof voice !== 'object' || voice === null) {
    throw invalidInput(`${name} must be a VoiceProfile (from cloneVoice() or loadVoice()).`);
  }
  const fields = voice as Record<string, unknown>;
  if (typeof fields['model'] !== 'object' || fields['model'] === null) {
    throw invalidInput(`${name}.model must be the voice's model info (as cloneVoice() and loadVoice() make it).`);
  }
  for (const [field, type] of ARRAYS) {
    if (!(fields[field] instanceof type)) {
      throw invalidInput(`${name}.${field} must be an ${type.name}.`, { field });
    }
  }
  const profile = voice as VoiceProfile;
  validateVoiceProfile(profile);
  checkVoiceCompatible(profile, voiceExpectation(manifest));
  checkPromptRoom(profile.promptTokens.length, manifest.config);
  return profile;
}
