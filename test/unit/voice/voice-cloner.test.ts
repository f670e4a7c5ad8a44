/**
 * The cloning front-end on the tiny fixture package (stand-in speech tokenizer and CAM++ with the official I/O):
 * - graphs fed the golden features (`golden/voice.npz`, torchaudio/Whisper features) reproduce the golden speech
 *   tokens exactly and the embedding ≤ 1e-5;
 * - the whole `clone()` on the real prompt recording (TS DSP features) against the golden voice;
 * - the 16 kHz recordings (no 16 kHz resampling) and the 22.05 kHz cross-lingual prompt;
 * - input validation (> 30 s, empty, too short, silent, NaN, low rates, bad transcript ids), abort, dispose, the
 *   int64 tokenizer output path (fake session), and a voice-file round trip of a real clone.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { createWhisperMelPlan, decodeWav, whisperLogMel } from '../../../src/dsp/index.ts';
import { TTSError } from '../../../src/errors.ts';
import type { CloneGraphSession } from '../../../src/models/voice/voice-cloner.ts';
import { VoiceCloner } from '../../../src/models/voice/voice-cloner.ts';
import {
  deserializeVoice,
  serializeVoice,
  voiceExpectation,
  voiceModelInfo,
} from '../../../src/models/voice/voice-profile.ts';
import type { ModelPackage } from '../../../src/runtime/model-package.ts';
import type { OrtTensor } from '../../../src/runtime/ort.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import type { NpyArray } from '../../helpers/npz.ts';
import { floats, ints, maxAbsDiff, need, readNpz } from '../../helpers/npz.ts';
import { GOLDEN, openPackageDir, SHARED_DATA, TINY_PACKAGE } from '../../helpers/package.ts';

/** Measured when written: 87/87 tokens identical (100 %), 1 − cosine 2.2e-13, promptFeat max error 2.7e-5. */
const MIN_TOKEN_AGREEMENT = 0.95;
const MIN_COSINE = 0.999;
const FEAT_TOL = 1e-4;

let pkg: ModelPackage;
let cloner: VoiceCloner;
let voice: Map<string, NpyArray>;

function wav(path: string): { samples: Float32Array; sampleRate: number } {
  const decoded = decodeWav(readFileSync(path));
  return { samples: decoded.samples, sampleRate: decoded.sampleRate };
}

function cosine(a: Float32Array, b: Float32Array): number {
  let ab = 0;
  let aa = 0;
  let bb = 0;
  for (let i = 0; i < a.length; i++) {
    const x = a[i] ?? 0;
    const y = b[i] ?? 0;
    ab += x * y;
    aa += x * x;
    bb += y * y;
  }
  return ab / Math.sqrt(aa * bb);
}

async function rejection(promise: Promise<unknown>): Promise<TTSError> {
  try {
    await promise;
  } catch (error) {
    expect(error).toBeInstanceOf(TTSError);
    return error as TTSError;
  }
  throw new Error('expected a rejection');
}

beforeAll(async () => {
  voice = readNpz(join(GOLDEN, 'voice.npz'));
  pkg = await openPackageDir(TINY_PACKAGE);
  cloner = await VoiceCloner.create(pkg, await loadOrt('wasm'), { device: 'wasm', dtype: 'fp32' });
});

afterAll(async () => {
  await cloner.dispose();
});

describe('graphs on the golden features', () => {
  it('speech tokenizer reproduces the golden tokens exactly', async () => {
    const mel = need(voice, 'whisper_mel');
    const tokens = await cloner.speechTokens(floats(mel), mel.shape[1] ?? 0);
    expect(Array.from(tokens)).toEqual(ints(need(voice, 'speech_tokens')));
  });

  it('CAM++ reproduces the golden embedding ≤ 1e-5', async () => {
    const embedding = await cloner.speakerEmbedding(floats(need(voice, 'fbank')));
    const err = maxAbsDiff(embedding, floats(need(voice, 'embedding')));
    console.log(`CAM++ on golden fbank: max |embedding − golden| = ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(1e-5);
  });
});

describe('clone() on the real recordings (TS DSP features)', () => {
  it('zero-shot prompt (24 kHz) matches the golden voice', async () => {
    const transcriptIds = ints(need(voice, 'prompt_text_ids'));
    const profile = await cloner.clone(wav(join(SHARED_DATA, 'prompts/zero_shot_prompt.wav')), {
      transcriptIds,
      createdAt: 1767225600000,
    });
    const goldenTokens = ints(need(voice, 'prompt_tokens'));
    expect(profile.promptTokens.length).toBe(goldenTokens.length);
    const same = goldenTokens.filter((t, i) => profile.promptTokens[i] === t).length;
    const agreement = same / goldenTokens.length;
    const cos = cosine(profile.embedding, floats(need(voice, 'embedding')));
    const featErr = maxAbsDiff(profile.promptFeat, floats(need(voice, 'prompt_feat')));
    console.log(
      `clone(zero_shot_prompt.wav): tokens ${same}/${goldenTokens.length} identical (${(100 * agreement).toFixed(1)} %), ` +
        `embedding cosine ${cos.toFixed(8)} (1 − cos = ${(1 - cos).toExponential(2)}), embedding max err ${maxAbsDiff(profile.embedding, floats(need(voice, 'embedding'))).toExponential(2)}, ` +
        `promptFeat max err ${featErr.toExponential(2)}`,
    );
    expect(agreement).toBeGreaterThanOrEqual(MIN_TOKEN_AGREEMENT);
    expect(cos).toBeGreaterThanOrEqual(MIN_COSINE);
    expect(featErr).toBeLessThanOrEqual(FEAT_TOL);
    expect(Array.from(profile.promptTextIds)).toEqual(transcriptIds);
    expect(profile.promptFeat.length).toBe(2 * profile.promptTokens.length * 80);
    expect(profile.model).toEqual(voiceModelInfo(pkg.manifest));
    expect(profile.sampleRate).toBe(24000);
    expect(profile.createdAt).toBe(1767225600000);
    // the voice file round-trips a real clone
    const back = deserializeVoice(serializeVoice(profile), {
      expect: voiceExpectation(pkg.manifest, { matchModelId: true }),
    });
    expect(back).toEqual(profile);
  });

  it.each(['BAC009S0764W0121.wav', 'BAC009S0764W0122.wav'])('16 kHz recording %s', async (name) => {
    const audio = wav(join(SHARED_DATA, 'speech16k', name));
    expect(audio.sampleRate).toBe(16000);
    const profile = await cloner.clone(audio, { createdAt: null });
    // the tokens come from the unresampled samples: same as tokenizing the Whisper mel of the input directly
    const plan = createWhisperMelPlan();
    const frames = plan.numFrames(audio.samples.length);
    const direct = await cloner.speechTokens(whisperLogMel(audio.samples, plan), frames);
    const melFrames = Math.floor(Math.ceil((audio.samples.length * 3) / 2) / 480);
    const L = Math.min(Math.floor(melFrames / 2), direct.length);
    expect(Array.from(profile.promptTokens)).toEqual(Array.from(direct.subarray(0, L)));
    expect(profile.promptFeat.length).toBe(2 * L * 80);
    expect(profile.promptTextIds.length).toBe(0);
    expect('createdAt' in profile).toBe(false);
    for (const v of profile.embedding) expect(Number.isFinite(v)).toBe(true);
  });

  it('22.05 kHz cross-lingual prompt without transcript', async () => {
    const audio = wav(join(SHARED_DATA, 'prompts/cross_lingual_prompt.wav'));
    expect(audio.sampleRate).toBe(22050);
    const profile = await cloner.clone(audio);
    const seconds = audio.samples.length / audio.sampleRate;
    // ⌈T/4⌉ tokens for T = ⌊N16k/160⌋ frames, and ⌊N24k/480⌋ mel frames: ≈ 25 tokens per second either way
    expect(Math.abs(profile.promptTokens.length - 25 * seconds)).toBeLessThanOrEqual(1);
    expect(profile.promptFeat.length).toBe(2 * profile.promptTokens.length * 80);
    expect(profile.promptTextIds.length).toBe(0);
    expect(profile.createdAt).toBeGreaterThan(0);
  });
});

describe('clone() input validation', () => {
  const rate = 16000;
  const tone = (seconds: number, r = rate): Float32Array =>
    Float32Array.from({ length: Math.round(seconds * r) }, (_, i) => 0.3 * Math.sin((2 * Math.PI * 220 * i) / r));

  const cases: [string, () => Promise<unknown>, string, RegExp][] = [
    ['longer than 30 s', () => cloner.clone({ samples: tone(30.01), sampleRate: rate }), 'too-long', /at most 30 s/],
    [
      '30 s + 1 sample at 48 kHz',
      () => cloner.clone({ samples: new Float32Array(30 * 48000 + 1).fill(0.1), sampleRate: 48000 }),
      'too-long',
      /at most 30 s/,
    ],
    ['empty', () => cloner.clone({ samples: new Float32Array(0), sampleRate: rate }), 'empty', /empty/],
    ['too short', () => cloner.clone({ samples: tone(0.05), sampleRate: rate }), 'too-short', /at least 0.1 s/],
    ['silent', () => cloner.clone({ samples: new Float32Array(rate), sampleRate: rate }), 'silent', /silent/],
    [
      'NaN sample',
      () => {
        const s = tone(1);
        s[100] = NaN;
        return cloner.clone({ samples: s, sampleRate: rate });
      },
      'non-finite',
      /sample 100 is NaN/,
    ],
    [
      'infinite sample',
      () => {
        const s = tone(1);
        s[5] = -Infinity;
        return cloner.clone({ samples: s, sampleRate: rate });
      },
      'non-finite',
      /-Infinity/,
    ],
    ['8 kHz', () => cloner.clone({ samples: tone(1, 8000), sampleRate: 8000 }), 'sample-rate', /≥ 16000 Hz/],
    [
      'fractional rate',
      () => cloner.clone({ samples: tone(1), sampleRate: 16000.5 }),
      'sample-rate',
      /integer sample rate/,
    ],
  ];

  it.each(cases)('%s → ERR_INVALID_INPUT', async (_name, run, why, message) => {
    const error = await rejection(run());
    expect(error.code).toBe('ERR_INVALID_INPUT');
    expect(error.details?.['reason']).toBe(why);
    expect(error.message).toMatch(message);
  });

  it('accepts exactly 30 s (750 tokens)', async () => {
    const profile = await cloner.clone({ samples: tone(30), sampleRate: rate });
    expect(profile.promptTokens.length).toBe(750);
  });

  it('transcript ids out of range → ERR_INVALID_INPUT', async () => {
    const error = await rejection(cloner.clone({ samples: tone(1), sampleRate: rate }, { transcriptIds: [1, 151936] }));
    expect(error.code).toBe('ERR_INVALID_INPUT');
    expect(error.message).toMatch(/transcriptIds\[1\] = 151936/);
  });

  it('an aborted signal rejects with its reason', async () => {
    const controller = new AbortController();
    controller.abort();
    await expect(
      cloner.clone({ samples: tone(1), sampleRate: rate }, { signal: controller.signal }),
    ).rejects.toMatchObject({ name: 'AbortError' });
  });
});

describe('VoiceCloner over fake sessions', () => {
  const tensor = ((type: string, data: unknown, dims: readonly number[]) =>
    ({ type, data, dims, location: 'cpu' }) as unknown as OrtTensor) as CloneGraphSession['tensor'];
  const fake = (name: string, outputType: string, out: () => Record<string, unknown>): CloneGraphSession => ({
    name,
    tensor,
    outputType: () => outputType,
    run: () => Promise.resolve(out() as Record<string, OrtTensor>),
    release: () => Promise.resolve(),
  });
  const campplus = fake('campplus', 'float32', () => ({
    output: tensor('float32', new Float32Array(192).fill(1), [1, 192]),
  }));

  it('reads int64 speech tokens', async () => {
    const tokenizer = fake('speech_tokenizer', 'int64', () => ({
      indices: tensor('int64', BigInt64Array.of(5n, 6560n, 0n), [1, 3]),
    }));
    const c = VoiceCloner.fromSessions(tokenizer, campplus, pkg.manifest);
    expect(Array.from(await c.speechTokens(new Float32Array(128 * 10), 10))).toEqual([5, 6560, 0]);
  });

  it('rejects tokens outside [0, V) and a non-integer output type', async () => {
    const tokenizer = fake('speech_tokenizer', 'int32', () => ({
      indices: tensor('int32', Int32Array.of(1, 6561), [1, 2]),
    }));
    const c = VoiceCloner.fromSessions(tokenizer, campplus, pkg.manifest);
    const error = await rejection(c.speechTokens(new Float32Array(128 * 8), 8));
    expect(error.code).toBe('ERR_INFERENCE');
    expect(error.message).toMatch(/token 1 = 6561 is outside \[0, 6561\)/);
    expect(() =>
      VoiceCloner.fromSessions(
        fake('speech_tokenizer', 'float32', () => ({})),
        campplus,
        pkg.manifest,
      ),
    ).toThrow(/expected int32 or int64/);
  });

  it('rejects calls after dispose', async () => {
    const c = VoiceCloner.fromSessions(
      fake('speech_tokenizer', 'int32', () => ({})),
      campplus,
      pkg.manifest,
    );
    await c.dispose();
    const error = await rejection(c.clone({ samples: new Float32Array(16000).fill(0.1), sampleRate: 16000 }));
    expect(error.code).toBe('ERR_DISPOSED');
  });
});
