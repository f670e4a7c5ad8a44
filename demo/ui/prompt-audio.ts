/**
 * Checks a voice prompt before cloning (pure, no DOM): trims leading and trailing silence and says what is wrong
 * with it (clipping, silence, too short or too long for CosyVoice's 3–10 s prompts).
 */

/** Prompt length the demo asks for, in seconds. */
export const PROMPT_SECONDS = { min: 3, max: 10 } as const;

/** A frame is speech when its RMS is within this many dB of the loudest frame's. */
const SPEECH_BELOW_PEAK_DB = 40;
/** …and above this absolute floor (dBFS), so that a recording of room noise is called silent. */
const SILENCE_FLOOR_DBFS = -50;
/** Silence kept around the speech so that onsets and releases are not cut. */
const KEEP_MARGIN_SECONDS = 0.15;
const FRAME_SECONDS = 0.02;
/** Samples at or above this magnitude count as clipped; more than this fraction of them is a warning. */
const CLIP_LEVEL = 0.99;
const CLIP_FRACTION = 0.001;

export type PromptWarning = 'clipping' | 'silence' | 'too-short' | 'too-long';

/** What {@link preparePrompt} found. */
export interface PreparedPrompt {
  /** The speech with at most {@link KEEP_MARGIN_SECONDS} of silence on either side (a view, not a copy). */
  readonly samples: Float32Array;
  readonly sampleRate: number;
  /** Seconds removed at the start and at the end. */
  readonly trimmed: readonly [number, number];
  readonly warnings: readonly PromptWarning[];
}

function rmsDb(samples: Float32Array, from: number, to: number): number {
  let sum = 0;
  for (let i = from; i < to; i++) {
    const x = samples[i] as number;
    sum += x * x;
  }
  return 10 * Math.log10(sum / Math.max(1, to - from) + 1e-20);
}

/** Trims silence and checks the prompt; see the module comment. */
export function preparePrompt(samples: Float32Array, sampleRate: number): PreparedPrompt {
  const frame = Math.max(1, Math.round(FRAME_SECONDS * sampleRate));
  const frames = Math.ceil(samples.length / frame);
  const levels = Array.from({ length: frames }, (_, f) =>
    rmsDb(samples, f * frame, Math.min(samples.length, (f + 1) * frame)),
  );
  const peak = Math.max(-Infinity, ...levels);
  const threshold = Math.max(peak - SPEECH_BELOW_PEAK_DB, SILENCE_FLOOR_DBFS);
  const first = levels.findIndex((level) => level >= threshold);
  let clipped = 0;
  for (const x of samples) if (Math.abs(x) >= CLIP_LEVEL) clipped++;
  const warnings: PromptWarning[] = [];
  if (samples.length > 0 && clipped / samples.length > CLIP_FRACTION) warnings.push('clipping');
  if (first < 0) {
    warnings.push('silence');
    return { samples: samples.subarray(0, 0), sampleRate, trimmed: [samples.length / sampleRate, 0], warnings };
  }
  const last = levels.findLastIndex((level) => level >= threshold);
  const margin = Math.round(KEEP_MARGIN_SECONDS * sampleRate);
  const start = Math.max(0, first * frame - margin);
  const end = Math.min(samples.length, (last + 1) * frame + margin);
  const seconds = (end - start) / sampleRate;
  if (seconds < PROMPT_SECONDS.min) warnings.push('too-short');
  if (seconds > PROMPT_SECONDS.max) warnings.push('too-long');
  return {
    samples: samples.subarray(start, end),
    sampleRate,
    trimmed: [start / sampleRate, (samples.length - end) / sampleRate],
    warnings,
  };
}

/** The warnings as sentences that say what to do. */
export const WARNING_TEXT: Readonly<Record<PromptWarning, string>> = {
  clipping: 'The recording is clipped (too loud): move away from the microphone or lower its gain, and record again.',
  silence: 'No speech was found: check that the right microphone is selected and not muted.',
  'too-short': `Less than ${PROMPT_SECONDS.min} s of speech: the voice will be imitated poorly; record a longer sentence.`,
  'too-long': `More than ${PROMPT_SECONDS.max} s: cloning is slower and not better; a ${PROMPT_SECONDS.min}–${PROMPT_SECONDS.max} s sentence is best.`,
};
