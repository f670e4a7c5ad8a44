/**
 * Feature-extraction timings for 30 s of audio, per feature kind: `npx tsx tools/bench/dsp.ts [--runs N]`.
 *
 * Input: the shared 22.05 kHz cross-lingual prompt (../shared/data, or COSYVOICE_SHARED_DATA) tiled to 30 s, or a
 * synthetic signal when the recording is missing. Prints the median of N runs after one warm-up run. Numbers depend
 * on the machine; nothing asserts on them.
 */

import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import {
  createFbankPlan,
  createPromptMelPlan,
  createResamplePlan,
  createStftPlan,
  createWhisperMelPlan,
  decodeWav,
  encodeWav,
  HiftCrossfade,
  istft,
  promptMel,
  resample,
  Resampler,
  sineGen2,
  speakerFbank,
  stft,
  whisperLogMel,
} from '../../src/dsp/index.ts';

const SECONDS = 30;
const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
const runs = Math.max(1, Number(values.runs));

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const shared = process.env['COSYVOICE_SHARED_DATA'] ?? path.resolve(repo, '../shared/data');
const recordingPath = path.join(shared, 'prompts/cross_lingual_prompt.wav');

function source22k(): { samples: Float32Array; what: string } {
  const n = SECONDS * 22050;
  const out = new Float32Array(n);
  if (existsSync(recordingPath)) {
    const wav = decodeWav(readFileSync(recordingPath));
    for (let i = 0; i < n; i++) out[i] = wav.samples[i % wav.samples.length] ?? 0;
    return { samples: out, what: 'cross_lingual_prompt.wav tiled' };
  }
  for (let i = 0; i < n; i++) out[i] = 0.3 * Math.sin((2 * Math.PI * 220 * i) / 22050) + 0.01 * Math.sin(i * i);
  return { samples: out, what: 'synthetic (recording not found)' };
}

function median(xs: number[]): number {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.floor(s.length / 2)] ?? NaN;
}

function bench(name: string, fn: () => unknown): void {
  fn();
  const times: number[] = [];
  for (let r = 0; r < runs; r++) {
    const t0 = performance.now();
    fn();
    times.push(performance.now() - t0);
  }
  const ms = median(times);
  console.log(
    `${name.padEnd(44)} ${ms.toFixed(1).padStart(8)} ms   ${((SECONDS * 1000) / ms).toFixed(0).padStart(6)}× real time`,
  );
}

const { samples: a22, what } = source22k();
const a16 = resample(a22, createResamplePlan(22050, 16000));
const a24 = resample(a22, createResamplePlan(22050, 24000));
const a48 = resample(a22, createResamplePlan(22050, 48000));
const wavBytes = encodeWav(a22, 22050);

console.log(`DSP timings for ${SECONDS} s of audio (${what}), median of ${runs} runs, Node ${process.version}\n`);
bench('decodeWav (16-bit PCM, 22.05 kHz)', () => decodeWav(wavBytes));
bench('encodeWav (16-bit PCM)', () => encodeWav(a22, 22050));

const p2216 = createResamplePlan(22050, 16000);
const p2224 = createResamplePlan(22050, 24000);
const p2416 = createResamplePlan(24000, 16000);
const p4816 = createResamplePlan(48000, 16000);
bench('resample 22.05 → 16 kHz', () => resample(a22, p2216));
bench('resample 22.05 → 24 kHz', () => resample(a22, p2224));
bench('resample 24 → 16 kHz', () => resample(a24, p2416));
bench('resample 48 → 16 kHz', () => resample(a48, p4816));
bench('Resampler 48 → 16 kHz, 10 ms chunks', () => {
  const rs = new Resampler(p4816);
  for (let at = 0; at < a48.length; at += 480) rs.push(a48.subarray(at, at + 480));
  rs.flush();
});

const whisper = createWhisperMelPlan();
const fbank = createFbankPlan();
const prompt = createPromptMelPlan();
bench('whisper log-mel 128 (16 kHz input)', () => whisperLogMel(a16, whisper));
bench('Kaldi fbank 80 + CMN (16 kHz input)', () => speakerFbank(a16, fbank));
bench('prompt mel 80 (24 kHz input)', () => promptMel(a24, prompt));
bench('whisper-mel from 22.05 kHz (incl. resample)', () => whisperLogMel(resample(a22, p2216), whisper));
bench('prompt-mel from 22.05 kHz (incl. resample)', () => promptMel(resample(a22, p2224), prompt));

const hift = createStftPlan({ nFft: 16, hopLength: 4 });
const frames = SECONDS * 50;
const f0 = Float32Array.from({ length: frames }, (_, j) => (j % 100 < 80 ? 150 + 50 * Math.sin(j / 9) : 0));
const noise = new Float32Array(frames * 480 * 9).map((_, i) => Math.sin(i * 12.9898) * 0.5);
bench('SineGen2 excitation (T = 1500 frames)', () => sineGen2(f0, noise));
const spec = stft(a24, hift);
bench('HiFT source STFT (16/4)', () => stft(a24, hift));
bench('HiFT iSTFT (16/4)', () => istft(spec, hift));
bench('HiFT cross-fade, 1 s chunks', () => {
  const fade = new HiftCrossfade();
  for (let at = 0; at < a24.length; at += 24000) fade.push(a24.subarray(at, at + 24000), at + 24000 >= a24.length);
});
