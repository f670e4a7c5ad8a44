/**
 * Minimal demo of the public API only (`cosyvoice-web`, aliased to src/index.ts by Vite in development).
 * Workers come from Vite `?worker` imports of the TypeScript sources, so the demo runs the code with HMR.
 */
import AcousticWorker from '../workers/acoustic.worker.ts?worker';
import FlowWorker from '../workers/flow.worker.ts?worker';
import LmWorker from '../workers/lm.worker.ts?worker';
import VocoderWorker from '../workers/vocoder.worker.ts?worker';
import VoiceWorker from '../workers/voice.worker.ts?worker';
import { CosyVoice, isAbortError } from 'cosyvoice-web';
import type { DeviceRequest, VoiceProfile } from 'cosyvoice-web';
import { startServiceWorker } from './pwa/register.ts';

// eslint-disable-next-line @typescript-eslint/no-unnecessary-type-parameters -- a typed getElementById, on purpose
function $<T extends HTMLElement = HTMLElement>(id: string): T {
  return document.getElementById(id) as T;
}

/** Click handler that reports failures instead of leaving unhandled rejections. */
function onClick(id: string, handler: () => Promise<void> | void): void {
  $(id).addEventListener('click', () => {
    Promise.resolve(handler()).catch((error: unknown) => {
      status('metrics', `Error: ${error instanceof Error ? error.message : String(error)}`);
    });
  });
}
const workers = {
  lm: () => new LmWorker({ name: 'tts-lm' }),
  flow: () => new FlowWorker({ name: 'tts-flow' }),
  vocoder: () => new VocoderWorker({ name: 'tts-vocoder' }),
  acoustic: () => new AcousticWorker({ name: 'tts-acoustic' }),
  voice: () => new VoiceWorker({ name: 'tts-voice' }),
};

let tts: CosyVoice | undefined;
let voice: VoiceProfile | undefined;
let current: AbortController | undefined;

const params = new URLSearchParams(location.search);
$<HTMLInputElement>('model-url').value = params.get('model') ?? new URL('models/tiny/', location.href).href;

function status(id: string, text: string): void {
  $(id).textContent = text;
}

/** True while an utterance plays: an update is never applied then. */
let speaking = false;

/**
 * The built app runs under its service worker (offline use, isolation headers on hosts that cannot set them); the dev
 * server sets the headers itself and has no service worker. Loading waits until isolation is settled, because the
 * page may reload once for it.
 */
async function settleIsolation(): Promise<void> {
  const load = $<HTMLButtonElement>('load');
  load.disabled = true;
  status('app-status', 'Preparing the app for offline use…');
  const state = await startServiceWorker({
    onUpdateWaiting: (apply) => {
      $('update').hidden = false;
      $('update-apply').onclick = () => {
        if (!speaking) apply();
      };
    },
  });
  if (state === 'reloading') return;
  status(
    'app-status',
    state === 'isolated'
      ? 'Ready for offline use; cross-origin isolated (shared-memory playback, threaded WASM).'
      : 'Not cross-origin isolated: everything works, with message-port playback and single-threaded WASM.',
  );
  load.disabled = false;
}

if (import.meta.env.PROD) {
  settleIsolation().catch((error: unknown) => {
    status('app-status', `Offline use is unavailable: ${error instanceof Error ? error.message : String(error)}`);
    $<HTMLButtonElement>('load').disabled = false;
  });
}

function mb(bytes: number): string {
  return `${(bytes / 1e6).toFixed(1)} MB`;
}

onClick('load', async () => {
  await tts?.dispose();
  tts = undefined;
  status('load-status', 'Loading…');
  try {
    tts = await CosyVoice.create({
      model: $<HTMLInputElement>('model-url').value,
      device: $<HTMLSelectElement>('device').value as DeviceRequest,
      assets: { workers },
      onProgress: (e) => {
        if (e.type === 'load-progress') {
          $<HTMLProgressElement>('progress').value = e.fraction;
          status('load-status', `Downloading ${mb(e.loaded)} / ${mb(e.total)}`);
        } else if (e.type === 'ready') {
          status(
            'load-status',
            `Ready: ${Object.entries(e.devices)
              .map(([s, d]) => `${s} on ${d}`)
              .join(', ')}`,
          );
        }
      },
    });
    $<HTMLButtonElement>('clone').disabled = false;
  } catch (error) {
    status('load-status', `Could not load: ${error instanceof Error ? error.message : String(error)}`);
  }
});

function promptBlob(): Blob | undefined {
  const file = $<HTMLInputElement>('prompt-file').files?.[0];
  return file ?? recorded;
}

let recorded: Blob | undefined;
onClick('record', async () => {
  const stream = await navigator.mediaDevices.getUserMedia({ audio: true });
  const recorder = new MediaRecorder(stream);
  const parts: Blob[] = [];
  recorder.ondataavailable = (e) => parts.push(e.data);
  recorder.start();
  status('voice-status', 'Recording for 5 s…');
  await new Promise((r) => setTimeout(r, 5000));
  recorder.stop();
  await new Promise((r) => (recorder.onstop = r));
  for (const t of stream.getTracks()) t.stop();
  recorded = new Blob(parts, { type: recorder.mimeType });
  status('voice-status', 'Recorded. Now clone.');
});

function voiceReady(v: VoiceProfile): void {
  voice = v;
  status(
    'voice-status',
    `Voice ready: ${(v.promptTokens.length / 25).toFixed(1)} s prompt, ${v.promptTextIds.length > 0 ? 'with' : 'without'} transcript.`,
  );
  for (const id of ['speak-btn', 'download-btn', 'save-voice']) $<HTMLButtonElement>(id).disabled = false;
}

onClick('clone', async () => {
  if (tts === undefined) return;
  const blob = promptBlob();
  if (blob === undefined) {
    status('voice-status', 'Choose or record a recording first.');
    return;
  }
  status('voice-status', 'Cloning…');
  try {
    voiceReady(await tts.cloneVoice(blob, { transcript: $<HTMLInputElement>('prompt-text').value }));
  } catch (error) {
    status('voice-status', `Could not clone: ${error instanceof Error ? error.message : String(error)}`);
  }
});

onClick('save-voice', () => {
  if (tts === undefined || voice === undefined) return;
  const url = URL.createObjectURL(new Blob([tts.saveVoice(voice)]));
  Object.assign(document.createElement('a'), { href: url, download: 'voice.bin' }).click();
});

$('voice-file').addEventListener('change', () => void loadVoiceFile());

async function loadVoiceFile(): Promise<void> {
  const file = $<HTMLInputElement>('voice-file').files?.[0];
  if (tts === undefined || file === undefined) return;
  try {
    voiceReady(tts.loadVoice(await file.arrayBuffer()));
  } catch (error) {
    status('voice-status', `Not a voice for this model: ${error instanceof Error ? error.message : String(error)}`);
  }
}

function requestOptions() {
  const seed = $<HTMLInputElement>('seed').value;
  const instruct = $<HTMLInputElement>('instruct').value.trim();
  return {
    voice: voice as VoiceProfile,
    ...(seed === '' ? {} : { seed: Number(seed) }),
    ...(instruct === '' ? {} : { instruct }),
    flowSteps: Number($<HTMLSelectElement>('flow-steps').value),
  };
}

onClick('speak-btn', async () => {
  if (tts === undefined || voice === undefined) return;
  current?.abort();
  current = new AbortController();
  void tts.unlockAudio(); // inside the click: creates/resumes the AudioContext
  $<HTMLButtonElement>('stop-btn').disabled = false;
  speaking = true;
  const offs = [
    tts.on('first-audio', (e) => {
      status('metrics', `First audio after ${e.ttfaMs.toFixed(0)} ms…`);
    }),
    // the segment being synthesised, as spoken (numbers read out); chunks arrive ahead of playback
    tts.on('chunk', (e) => {
      status('caption', e.text);
    }),
  ];
  try {
    const m = await tts.speak($<HTMLTextAreaElement>('text').value, { ...requestOptions(), signal: current.signal });
    if (m !== undefined) {
      status(
        'metrics',
        `${m.audioSeconds.toFixed(1)} s of audio · first audio ${m.ttfaMs.toFixed(0)} ms · RTF ${m.rtf.toFixed(2)} · ${m.tokensPerSecond.toFixed(1)} tokens/s · seed ${m.seed}`,
      );
    }
  } catch (error) {
    if (!isAbortError(error)) status('metrics', `Error: ${error instanceof Error ? error.message : String(error)}`);
  } finally {
    for (const off of offs) off();
    speaking = false;
    $<HTMLButtonElement>('stop-btn').disabled = true;
  }
});

onClick('stop-btn', () => {
  current?.abort();
});

onClick('download-btn', async () => {
  if (tts === undefined || voice === undefined) return;
  status('metrics', 'Synthesizing…');
  const audio = await tts.synthesize($<HTMLTextAreaElement>('text').value, requestOptions());
  const url = URL.createObjectURL(audio.toWav());
  Object.assign(document.createElement('a'), { href: url, download: 'cosyvoice.wav' }).click();
  status(
    'metrics',
    `${audio.metrics.audioSeconds.toFixed(1)} s · RTF ${audio.metrics.rtf.toFixed(2)} · seed ${audio.metrics.seed}`,
  );
});
