/**
 * Section 3: the text (language examples, instruct presets, tag buttons), streaming playback through `speak()` with a
 * live output waveform and captions, pause/stop, figures (first audio, RTF, tokens/s) and a WAV download.
 */
import { isAbortError } from 'cosyvoice-web';
import type { AudioPlayer, RequestOptions } from 'cosyvoice-web';
import { download } from './download.ts';
import { $, describeError, onClick, setStatus } from './dom.ts';
import type { AppState } from './state.ts';
import { EXAMPLES, INSTRUCT_PRESETS, TAGS, insertTag } from './text-presets.ts';
import { LiveWaveform } from './waveform.ts';

function presetButtons(groupId: string, items: readonly { label: string }[], onPick: (index: number) => void): void {
  $(groupId).replaceChildren(
    ...items.map((item, index) => {
      const button = document.createElement('button');
      button.type = 'button';
      button.textContent = item.label;
      button.addEventListener('click', () => {
        onPick(index);
      });
      return button;
    }),
  );
}

/** Wires the speak section; returns `enable()` for when a voice is ready. */
export function setUpSpeakSection(state: AppState): { enable(): void } {
  const text = $<HTMLTextAreaElement>('text');
  const examples = Object.entries(EXAMPLES);
  presetButtons(
    'examples',
    examples.map(([language]) => ({ label: language })),
    (i) => {
      text.value = examples[i]?.[1] ?? '';
    },
  );
  presetButtons('tags', TAGS, (i) => {
    const tag = TAGS[i];
    if (tag !== undefined) insertTag(text, tag);
  });
  presetButtons('instruct-buttons', INSTRUCT_PRESETS, (i) => {
    $<HTMLInputElement>('instruct').value = INSTRUCT_PRESETS[i]?.text ?? '';
  });
  $('instruct-presets').replaceChildren(
    ...INSTRUCT_PRESETS.map((preset) => Object.assign(document.createElement('option'), { value: preset.text })),
  );

  let current: AbortController | undefined;
  let paused = false;
  let lastSeed: number | undefined;
  const waves = new WeakMap<AudioPlayer, LiveWaveform>();

  const requestOptions = (): RequestOptions | undefined => {
    if (state.voice === undefined) return undefined;
    const seed = $<HTMLInputElement>('seed').value;
    const instruct = $<HTMLInputElement>('instruct').value.trim();
    return {
      voice: state.voice,
      ...(seed === '' ? {} : { seed: Number(seed) }),
      ...(instruct === '' ? {} : { instruct }),
      flowSteps: Number($<HTMLSelectElement>('flow-steps').value),
    };
  };

  onClick('speak-btn', 'metrics', async () => {
    const tts = state.tts;
    const options = requestOptions();
    if (tts === undefined || options === undefined) return;
    current?.abort();
    const controller = new AbortController();
    current = controller;
    const playerReady = tts.unlockAudio(); // inside the click: creates/resumes the AudioContext
    const player = await playerReady;
    let wave = waves.get(player);
    if (wave === undefined) {
      wave = new LiveWaveform($<HTMLCanvasElement>('output-wave'), player.node);
      waves.set(player, wave);
    }
    for (const id of ['stop-btn', 'pause-btn']) $<HTMLButtonElement>(id).disabled = false;
    state.speaking = true;
    wave.start();
    setStatus('metrics', 'Synthesising…');
    const offs = [
      tts.on('first-audio', (e) => {
        setStatus('metrics', `First audio after ${e.ttfaMs.toFixed(0)} ms…`);
      }),
      // the segment being synthesised, as spoken (numbers read out); chunks arrive ahead of playback
      tts.on('chunk', (e) => {
        setStatus('caption', e.text);
      }),
    ];
    try {
      const m = await tts.speak(text.value, { ...options, signal: controller.signal });
      lastSeed = m.seed;
      setStatus(
        'metrics',
        `${m.audioSeconds.toFixed(1)} s of audio · first audio ${m.ttfaMs.toFixed(0)} ms · RTF ${m.rtf.toFixed(2)} · ${m.tokensPerSecond.toFixed(1)} tokens/s · seed ${m.seed}`,
      );
    } catch (error) {
      setStatus('metrics', isAbortError(error) ? 'Stopped.' : describeError(error));
    } finally {
      for (const off of offs) off();
      wave.stop();
      state.speaking = false;
      paused = false;
      $('pause-btn').textContent = 'Pause';
      for (const id of ['stop-btn', 'pause-btn']) $<HTMLButtonElement>(id).disabled = true;
    }
  });

  onClick('pause-btn', 'metrics', async () => {
    const tts = state.tts;
    if (tts === undefined) return;
    paused = !paused;
    $('pause-btn').textContent = paused ? 'Resume' : 'Pause';
    await (paused ? tts.pause() : tts.resume());
  });

  onClick('stop-btn', 'metrics', () => {
    current?.abort();
  });

  // The last utterance again with its seed: the same samples (synthesis is deterministic for a seed), as a file.
  onClick('download-btn', 'metrics', async () => {
    const tts = state.tts;
    const options = requestOptions();
    if (tts === undefined || options === undefined) return;
    setStatus('metrics', 'Synthesising the WAV…');
    const audio = await tts.synthesize(text.value, {
      ...options,
      ...(options.seed === undefined && lastSeed !== undefined ? { seed: lastSeed } : {}),
    });
    download(audio.toWav(), 'cosyvoice.wav');
    setStatus(
      'metrics',
      `Downloaded ${audio.metrics.audioSeconds.toFixed(1)} s · RTF ${audio.metrics.rtf.toFixed(2)} · seed ${audio.metrics.seed}`,
    );
  });

  return {
    enable: () => {
      for (const id of ['speak-btn', 'download-btn']) $<HTMLButtonElement>(id).disabled = false;
    },
  };
}
