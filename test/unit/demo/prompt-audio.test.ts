/** The demo's prompt check (demo/ui/prompt-audio.ts): silence trimming and warnings, on synthetic and real audio. */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { PROMPT_SECONDS, preparePrompt } from '../../../demo/ui/prompt-audio.ts';
import { decodeWav } from '../../../src/dsp/index.ts';

const RATE = 16000;
const PROMPT = join(import.meta.dirname, '../../../../shared/data/prompts/zero_shot_prompt.wav');

/** `seconds` of a 220 Hz tone at `amplitude`, between `before` and `after` seconds of silence (or of `noise`). */
function toneBetweenSilences(before: number, seconds: number, after: number, amplitude = 0.5, noise = 0): Float32Array {
  const out = new Float32Array(Math.round((before + seconds + after) * RATE));
  const start = Math.round(before * RATE);
  const end = start + Math.round(seconds * RATE);
  for (let i = 0; i < out.length; i++) {
    // a deterministic ±noise pattern stands in for room noise
    out[i] =
      (i >= start && i < end ? amplitude * Math.sin((2 * Math.PI * 220 * i) / RATE) : 0) +
      noise * (i % 2 === 0 ? 1 : -1);
  }
  return out;
}

describe('preparePrompt', () => {
  it('trims leading and trailing silence down to a short margin, keeping all of the speech', () => {
    const prepared = preparePrompt(toneBetweenSilences(1.5, 4, 2), RATE);
    const [head, tail] = prepared.trimmed;
    // the speech starts at 1.5 s and ends 2 s before the end; at most the margin (0.15 s) and one 20 ms frame remain
    expect(head).toBeGreaterThan(1.5 - 0.15 - 0.02 - 1e-9);
    expect(head).toBeLessThanOrEqual(1.5);
    expect(tail).toBeGreaterThan(2 - 0.15 - 0.02 - 1e-9);
    expect(tail).toBeLessThanOrEqual(2);
    expect(prepared.samples.length / RATE).toBeCloseTo(7.5 - head - tail, 9);
    expect(prepared.warnings).toEqual([]);
  });

  it('says when there is no speech, or too little, or too much, or clipping', () => {
    expect(preparePrompt(new Float32Array(3 * RATE), RATE).warnings).toEqual(['silence']);
    // room noise at -60 dBFS is below the silence floor
    expect(preparePrompt(toneBetweenSilences(0, 0, 3, 0, 0.001), RATE).warnings).toEqual(['silence']);
    expect(preparePrompt(toneBetweenSilences(1, PROMPT_SECONDS.min - 1, 1), RATE).warnings).toEqual(['too-short']);
    expect(preparePrompt(toneBetweenSilences(0.5, PROMPT_SECONDS.max + 1, 0.5), RATE).warnings).toEqual(['too-long']);
    expect(preparePrompt(toneBetweenSilences(0.5, 4, 0.5, 1.5), RATE).warnings).toEqual(['clipping']);
  });

  it('keeps the real zero-shot prompt whole but for its pauses at the ends', () => {
    const wav = decodeWav(readFileSync(PROMPT));
    const prepared = preparePrompt(wav.samples, wav.sampleRate);
    const seconds = wav.samples.length / wav.sampleRate;
    expect(prepared.warnings).toEqual([]);
    expect(prepared.samples.length).toBeLessThan(wav.samples.length);
    // what was cut is quiet: every removed sample is below 1% of the recording's peak
    let peak = 0;
    for (const x of wav.samples) peak = Math.max(peak, Math.abs(x));
    const start = Math.round(prepared.trimmed[0] * wav.sampleRate);
    const end = wav.samples.length - Math.round(prepared.trimmed[1] * wav.sampleRate);
    let removedPeak = 0;
    for (let i = 0; i < wav.samples.length; i++) {
      if (i < start || i >= end) removedPeak = Math.max(removedPeak, Math.abs(wav.samples[i] as number));
    }
    expect(removedPeak).toBeLessThan(0.01 * peak);
    expect(prepared.samples.length / wav.sampleRate).toBeGreaterThan(PROMPT_SECONDS.min);
    expect(prepared.samples.length / wav.sampleRate).toBeLessThan(seconds);
  });
});
