/**
 * The demo app: public API only (`cosyvoice-web`, aliased to src/index.ts by Vite). Workers come from Vite `?worker`
 * imports of the TypeScript sources (the library's `assets.workers` option), so the demo runs the code as it is.
 * Each section lives in ui/; the service worker and isolation in pwa/.
 */
import AcousticWorker from '../workers/acoustic.worker.ts?worker';
import FlowWorker from '../workers/flow.worker.ts?worker';
import LmWorker from '../workers/lm.worker.ts?worker';
import VocoderWorker from '../workers/vocoder.worker.ts?worker';
import VoiceWorker from '../workers/voice.worker.ts?worker';
import { startServiceWorker } from './pwa/register.ts';
import { $, describeError, setStatus } from './ui/dom.ts';
import { setUpModelSection } from './ui/model-section.ts';
import { setUpSpeakSection } from './ui/speak-section.ts';
import type { AppState } from './ui/state.ts';
import { setUpVoiceSection } from './ui/voice-section.ts';

const workers = {
  lm: () => new LmWorker({ name: 'tts-lm' }),
  flow: () => new FlowWorker({ name: 'tts-flow' }),
  vocoder: () => new VocoderWorker({ name: 'tts-vocoder' }),
  acoustic: () => new AcousticWorker({ name: 'tts-acoustic' }),
  voice: () => new VoiceWorker({ name: 'tts-voice' }),
};

const state: AppState = { tts: undefined, voice: undefined, speaking: false };
/**
 * The app's state on `window.__demo`, for the browser tests (and the console): the loaded instance and the current
 * voice — the demo's trimmed prompt as cloned — so a test can call `stream()` with exactly what `speak()` used.
 */
(window as Window & { __demo?: AppState }).__demo = state;

const speak = setUpSpeakSection(state);
const voices = setUpVoiceSection(state, () => {
  speak.enable();
});
setUpModelSection(state, workers, () => {
  $<HTMLButtonElement>('clone').disabled = false;
});
void voices.refreshList();

/**
 * The built app runs under its service worker (offline use, isolation headers on hosts that cannot set them); the dev
 * server sets the headers itself and has no service worker. Loading waits until isolation is settled, because the
 * page may load itself once more for it.
 */
async function settleIsolation(): Promise<void> {
  const load = $<HTMLButtonElement>('load');
  load.disabled = true;
  setStatus('app-status', 'Preparing the app for offline use…');
  const isolation = await startServiceWorker({
    onTakingOver: () => {
      setStatus('app-status', 'Updating to the new version of the app…');
    },
    onUpdateWaiting: (apply) => {
      $('update').hidden = false;
      $('update-apply').onclick = () => {
        if (state.speaking) setStatus('app-status', 'The update is applied when the speech has finished.');
        else apply();
      };
    },
  });
  if (isolation === 'reloading' || isolation === 'updating') return;
  setStatus(
    'app-status',
    isolation === 'isolated'
      ? 'Ready for offline use; cross-origin isolated (shared-memory playback, threaded WASM).'
      : 'Not cross-origin isolated: everything works, with message-port playback and single-threaded WASM.',
  );
  load.disabled = false;
}

if (import.meta.env.PROD) {
  settleIsolation().catch((error: unknown) => {
    setStatus('app-status', `Offline use is unavailable here. ${describeError(error)}`);
    $<HTMLButtonElement>('load').disabled = false;
  });
}
