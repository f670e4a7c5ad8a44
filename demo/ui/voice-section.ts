/**
 * Section 2: a prompt from the microphone or a file (dropped or chosen), trimmed and checked, shown as a waveform;
 * cloning with an optional transcript; saved voices (IndexedDB) to use, play, rename, delete, export and import.
 */
import type { VoiceProfile } from 'cosyvoice-web';
import { decodeWav, encodeWav } from 'cosyvoice-web/dsp';
import { $, describeError, onClick, setStatus } from './dom.ts';
import { preparePrompt, WARNING_TEXT, type PreparedPrompt } from './prompt-audio.ts';
import { startRecording, type Recording } from './recorder.ts';
import type { AppState } from './state.ts';
import { renderVoiceList } from './voice-list.ts';
import { saveVoice, type SavedVoice } from './voice-store.ts';
import { drawWaveform } from './waveform.ts';

/** Decodes any audio file to mono samples: WAV exactly (no resampling), other formats with the browser's decoder. */
async function decodeAudio(blob: Blob): Promise<{ samples: Float32Array; sampleRate: number }> {
  const bytes = new Uint8Array(await blob.arrayBuffer());
  if (String.fromCharCode(...bytes.subarray(0, 4)) === 'RIFF') {
    const wav = decodeWav(bytes);
    return { samples: wav.samples, sampleRate: wav.sampleRate };
  }
  const decoded = await new OfflineAudioContext(1, 1, 48000).decodeAudioData(bytes.buffer);
  const samples = new Float32Array(decoded.length);
  for (let c = 0; c < decoded.numberOfChannels; c++) {
    const channel = decoded.getChannelData(c);
    for (let i = 0; i < samples.length; i++)
      samples[i] = (samples[i] as number) + (channel[i] as number) / decoded.numberOfChannels;
  }
  return { samples, sampleRate: decoded.sampleRate };
}

/** Wires the voice section; `onVoice` runs whenever a voice becomes current. */
export function setUpVoiceSection(state: AppState, onVoice: () => void): { refreshList(): Promise<void> } {
  let prompt: PreparedPrompt | undefined;
  /** The prompt the current voice was cloned from (saved with it), if it was cloned here. */
  let voicePrompt: PreparedPrompt | undefined;
  let recording: Recording | undefined;

  const useVoice = (voice: VoiceProfile, source: string, clonedFrom?: PreparedPrompt): void => {
    state.voice = voice;
    voicePrompt = clonedFrom;
    setStatus(
      'voice-status',
      `Voice ready${source}: ${(voice.promptTokens.length / 25).toFixed(1)} s prompt, ${voice.promptTextIds.length > 0 ? 'with transcript' : 'cross-lingual (no transcript)'}.`,
    );
    $<HTMLButtonElement>('save-voice').disabled = false;
    onVoice();
  };

  const showPrompt = async (blob: Blob): Promise<void> => {
    const audio = await decodeAudio(blob);
    prompt = preparePrompt(audio.samples, audio.sampleRate);
    drawWaveform($<HTMLCanvasElement>('prompt-wave'), prompt.samples);
    const seconds = prompt.samples.length / prompt.sampleRate;
    setStatus(
      'prompt-status',
      [
        `${seconds.toFixed(1)} s of speech (trimmed ${prompt.trimmed[0].toFixed(1)} s at the start, ${prompt.trimmed[1].toFixed(1)} s at the end).`,
        ...prompt.warnings.map((warning) => WARNING_TEXT[warning]),
      ].join(' '),
    );
    $<HTMLButtonElement>('clone').disabled = prompt.samples.length === 0;
  };

  const list = $<HTMLUListElement>('voice-list');
  const refreshList = (): Promise<void> =>
    renderVoiceList(list, {
      onUse: (saved: SavedVoice) => {
        if (state.tts === undefined) {
          setStatus('voice-status', 'Load the model first, then choose the voice.');
          return;
        }
        try {
          useVoice(state.tts.loadVoice(saved.voice), ` (“${saved.name}”)`);
        } catch (error) {
          setStatus('voice-status', `This voice does not fit the loaded model. ${describeError(error)}`);
        }
      },
    });

  onClick('record', 'prompt-status', async () => {
    const button = $<HTMLButtonElement>('record');
    if (recording !== undefined) {
      recording.stop();
      return;
    }
    recording = await startRecording((peak, seconds) => {
      $<HTMLMeterElement>('level').value = peak;
      setStatus('record-time', `${seconds.toFixed(1)} s`);
    });
    button.textContent = 'Stop recording';
    setStatus('prompt-status', 'Recording: say one sentence (it stops by itself after 10 s).');
    const blob = await recording.done;
    recording = undefined;
    button.textContent = 'Record';
    $<HTMLMeterElement>('level').value = 0;
    await showPrompt(blob);
  });

  $('prompt-file').addEventListener('change', () => {
    const file = $<HTMLInputElement>('prompt-file').files?.[0];
    if (file !== undefined)
      showPrompt(file).catch((error: unknown) => {
        setStatus('prompt-status', `Could not read that file. ${describeError(error)}`);
      });
  });
  const zone = $('drop-zone');
  zone.addEventListener('dragover', (event) => {
    event.preventDefault();
    zone.classList.add('dragging');
  });
  zone.addEventListener('dragleave', () => {
    zone.classList.remove('dragging');
  });
  zone.addEventListener('drop', (event) => {
    event.preventDefault();
    zone.classList.remove('dragging');
    const file = event.dataTransfer?.files[0];
    if (file !== undefined)
      showPrompt(file).catch((error: unknown) => {
        setStatus('prompt-status', `Could not read that file. ${describeError(error)}`);
      });
  });

  onClick('clone', 'voice-status', async () => {
    if (state.tts === undefined) {
      setStatus('voice-status', 'Load the model first.');
      return;
    }
    if (prompt === undefined) {
      setStatus('voice-status', 'Record or choose a recording first.');
      return;
    }
    setStatus('voice-status', 'Cloning…');
    try {
      const transcript = $<HTMLInputElement>('prompt-text').value.trim();
      const cloned = prompt;
      useVoice(
        await state.tts.cloneVoice({ samples: cloned.samples, sampleRate: cloned.sampleRate }, { transcript }),
        '',
        cloned,
      );
    } catch (error) {
      setStatus('voice-status', `Could not clone. ${describeError(error)}`);
    }
  });

  onClick('save-voice', 'voice-status', async () => {
    if (state.tts === undefined || state.voice === undefined) return;
    const name = $<HTMLInputElement>('voice-name').value.trim() || 'Voice';
    await saveVoice({
      name,
      voice: state.tts.saveVoice(state.voice),
      ...(voicePrompt === undefined
        ? {}
        : { prompt: new Blob([encodeWav(voicePrompt.samples, voicePrompt.sampleRate)], { type: 'audio/wav' }) }),
    });
    setStatus('voice-status', `Saved “${name}”: it stays in this browser, also offline.`);
    await refreshList();
  });

  $('voice-file').addEventListener('change', () => {
    const file = $<HTMLInputElement>('voice-file').files?.[0];
    if (file === undefined) return;
    void (async () => {
      try {
        const bytes = new Uint8Array(await file.arrayBuffer());
        if (state.tts === undefined) throw new Error('Load the model first: a voice file is checked against it.');
        useVoice(state.tts.loadVoice(bytes), ` (from ${file.name})`);
        await saveVoice({ name: file.name.replace(/\.[^.]*$/, ''), voice: bytes });
        await refreshList();
      } catch (error) {
        setStatus('voice-status', `Not a voice for this model. ${describeError(error)}`);
      }
    })();
  });

  return { refreshList };
}
