/** Prompt audio for cloning, from whatever the app has: WAV bytes (decoded in TS), other formats through the
browser's decoder, an AudioBuffer, or samples. Main thread only (`decodeAudioData`). */
import { decodeWav } from '../dsp/index.ts';
import { fromDspError, invalidInput, TTSError } from '../errors.ts';

/** Audio the caller can hand to `CosyVoice.cloneVoice`. */
export type CloneInput =
  Blob | ArrayBuffer | Uint8Array | AudioBuffer | { readonly samples: ArrayLike<number>; readonly sampleRate: number };

/** Mono float samples from whatever the caller gave. Non-WAV files use the browser's decoder. */
export async function decodeAudioInput(audio: CloneInput): Promise<{ samples: Float32Array; sampleRate: number }> {
  if (typeof AudioBuffer === 'function' && audio instanceof AudioBuffer) return mixDown(audio);
  if (!(audio instanceof Blob) && !(audio instanceof ArrayBuffer) && !(audio instanceof Uint8Array)) {
    if (!('samples' in audio)) throw invalidInput('cloneVoice: unsupported audio input.');
    return { samples: Float32Array.from(audio.samples), sampleRate: audio.sampleRate };
  }
  const bytes =
    audio instanceof Blob
      ? new Uint8Array(await audio.arrayBuffer())
      : audio instanceof Uint8Array
        ? audio
        : new Uint8Array(audio);
  const tag = (from: number): string => String.fromCharCode(...bytes.subarray(from, from + 4));
  if (bytes.length > 12 && tag(0) === 'RIFF' && tag(8) === 'WAVE') {
    try {
      const wav = decodeWav(bytes);
      return { samples: wav.samples, sampleRate: wav.sampleRate };
    } catch (error) {
      throw fromDspError(error);
    }
  }
  const Ctx = (globalThis as { OfflineAudioContext?: typeof OfflineAudioContext }).OfflineAudioContext;
  if (Ctx === undefined)
    throw invalidInput("Only WAV can be decoded here; other formats need the browser's audio decoder.");
  const context = new Ctx(1, 1, 44100);
  try {
    return mixDown(await context.decodeAudioData(bytes.slice().buffer));
  } catch (cause) {
    throw new TTSError(
      'ERR_INVALID_INPUT',
      'The audio could not be decoded (supported: WAV, and whatever this browser plays: webm/opus, ogg, mp3, m4a…).',
      { cause },
    );
  }
}

function mixDown(audio: AudioBuffer): { samples: Float32Array; sampleRate: number } {
  const samples = new Float32Array(audio.length);
  for (let c = 0; c < audio.numberOfChannels; c++) {
    const data = audio.getChannelData(c);
    for (let i = 0; i < data.length; i++) samples[i] = (samples[i] ?? 0) + (data[i] ?? 0) / audio.numberOfChannels;
  }
  return { samples, sampleRate: audio.sampleRate };
}
