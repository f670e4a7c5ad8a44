// A consumer app of the published package (identical in test/integration/vite-app and webpack-app): only the public
// API, no worker factories, no ortWasmPaths, so the package's default workers, ORT's wasm and the built-in worklet
// must all come out of this app's bundler.
//
// Query: ?model=<package URL>&voice=<voice file URL>&text=<text>&seed=<n>[&threads=<wasm threads per worker>].
// The outcome is published as `window.cosyvoiceResult` (plain JSON) and summarised in the page.
/* global document */
import { CosyVoice, TTSError } from 'cosyvoice-web';

const params = new URLSearchParams(globalThis.location.search);

/** @param {string} name */
function param(name) {
  const value = params.get(name);
  if (value === null) throw new Error(`missing ?${name}=`);
  return value;
}

async function run() {
  const events = [];
  const threads = params.has('threads') ? Number(params.get('threads')) : undefined;
  const tts = await CosyVoice.create({
    model: new URL(param('model'), globalThis.location.href).href,
    device: 'wasm',
    dtype: 'fp32',
    cache: 'none',
    ...(threads === undefined ? {} : { threads: { lm: threads, flow: threads, vocoder: threads } }),
    onProgress: (event) => events.push(event.type),
  });
  const voiceFile = await fetch(param('voice'));
  if (!voiceFile.ok) throw new Error(`voice file: HTTP ${voiceFile.status}`);
  const voice = tts.loadVoice(new Uint8Array(await voiceFile.arrayBuffer()));
  const text = param('text');
  const seed = Number(param('seed'));

  const audio = await tts.synthesize(text, { voice, seed });

  // speak(): the same utterance through the AudioWorklet player (the worklet module is built into the package)
  const player = await tts.unlockAudio();
  const before = (await player.status()).framesPlayed;
  await tts.speak(text, { voice, seed });
  const played = (await player.status()).framesPlayed - before;

  const result = {
    ok: true,
    crossOriginIsolated: globalThis.crossOriginIsolated,
    placement: tts.placement,
    events,
    sampleRate: audio.sampleRate,
    samples: Array.from(audio.samples),
    transport: player.transport,
    framesPlayed: played,
  };
  await tts.dispose();
  return result;
}

run().then(
  (result) => {
    globalThis.cosyvoiceResult = result;
    document.body.textContent = `ok: ${result.samples.length} samples`;
  },
  (error) => {
    globalThis.cosyvoiceResult = {
      ok: false,
      code: error instanceof TTSError ? error.code : undefined,
      message: error instanceof Error ? `${error.name}: ${error.message}` : String(error),
    };
    document.body.textContent = `error: ${globalThis.cosyvoiceResult.message}`;
  },
);
