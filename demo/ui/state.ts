/** What the demo's sections share: the loaded model, the current voice, whether an utterance is playing. */
import type { CosyVoice, VoiceProfile } from 'cosyvoice-web';

export interface AppState {
  tts: CosyVoice | undefined;
  voice: VoiceProfile | undefined;
  /** An update is never applied while this is true. */
  speaking: boolean;
}
