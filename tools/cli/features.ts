/**
 * `npm run cli -- features --kind whisper-mel|fbank|prompt-mel|resample [--rate N] --in in.wav --out out.f32`
 *
 * Reads any WAV (PCM 8/16/24/32-bit, float 32/64, any rate and channel count; mixed to mono), converts it the way
 * the engine does — whisper-mel and fbank at 16 kHz, prompt-mel at 24 kHz, resample at --rate — and writes the
 * result as raw little-endian float32 (row-major), printing its shape:
 *
 * - whisper-mel: [128, T], T = ⌊N/160⌋ (speech-tokenizer `feats`)
 * - fbank:       [T, 80], Kaldi fbank + per-utterance mean normalisation (CAM++ input)
 * - prompt-mel:  [T, 80], T = ⌊N/480⌋ (flow `prompt_feat`)
 * - resample:    [N'] samples at --rate Hz
 */

import { readFile, writeFile } from 'node:fs/promises';
import { parseArgs } from 'node:util';
import {
  createFbankPlan,
  createPromptMelPlan,
  createResamplePlan,
  createWhisperMelPlan,
  decodeWav,
  promptMel,
  resample,
  speakerFbank,
  whisperLogMel,
} from '../../src/dsp/index.ts';

const KINDS = ['whisper-mel', 'fbank', 'prompt-mel', 'resample'] as const;
type Kind = (typeof KINDS)[number];

const USAGE = `usage: npm run cli -- features --kind <kind> [--rate N] --in in.wav --out out.f32

kinds:
  whisper-mel   128-bin Whisper log-mel at 16 kHz          → [128, T], T = floor(N/160)
  fbank         80-bin Kaldi fbank + mean norm. at 16 kHz  → [T, 80]
  prompt-mel    80-bin Matcha prompt mel at 24 kHz         → [T, 80], T = floor(N/480)
  resample      the audio at --rate Hz (required)          → [N']

Input: any PCM/float WAV (mixed to mono). Output: raw little-endian float32, row-major.`;

class UsageError extends Error {}

function isKind(value: string): value is Kind {
  return (KINDS as readonly string[]).includes(value);
}

interface Result {
  readonly data: Float32Array;
  readonly shape: readonly number[];
  readonly rate: number;
}

function toRate(samples: Float32Array, from: number, to: number): Float32Array {
  return from === to ? samples : resample(samples, createResamplePlan(from, to));
}

function compute(kind: Kind, samples: Float32Array, sampleRate: number, rate: number | undefined): Result {
  switch (kind) {
    case 'whisper-mel': {
      const audio = toRate(samples, sampleRate, 16000);
      const plan = createWhisperMelPlan();
      return { data: whisperLogMel(audio, plan), shape: [plan.nMels, plan.numFrames(audio.length)], rate: 16000 };
    }
    case 'fbank': {
      const audio = toRate(samples, sampleRate, 16000);
      const plan = createFbankPlan();
      return { data: speakerFbank(audio, plan), shape: [plan.numFrames(audio.length), plan.numMelBins], rate: 16000 };
    }
    case 'prompt-mel': {
      const audio = toRate(samples, sampleRate, 24000);
      const plan = createPromptMelPlan();
      return { data: promptMel(audio, plan), shape: [plan.numFrames(audio.length), plan.nMels], rate: 24000 };
    }
    case 'resample': {
      if (rate === undefined) throw new UsageError('--kind resample needs --rate N (output sample rate in Hz).');
      const data = toRate(samples, sampleRate, rate);
      return { data, shape: [data.length], rate };
    }
  }
}

function parseRate(value: string | undefined): number | undefined {
  if (value === undefined) return undefined;
  const rate = Number(value);
  if (!/^\d+$/.test(value) || !Number.isSafeInteger(rate) || rate <= 0) {
    throw new UsageError(`--rate must be a positive integer number of Hz, e.g. 16000 or 24000 (got "${value}").`);
  }
  return rate;
}

/** Little-endian bytes of a float32 array (copies only on big-endian hosts). */
function littleEndianBytes(data: Float32Array): Uint8Array {
  const bytes = new Uint8Array(data.buffer, data.byteOffset, data.byteLength);
  if (new Uint8Array(Float32Array.of(1).buffer)[3] === 0x3f) return bytes;
  const out = new Uint8Array(data.byteLength);
  const view = new DataView(out.buffer);
  data.forEach((v, i) => {
    view.setFloat32(4 * i, v, true);
  });
  return out;
}

function parse(argv: string[]) {
  return parseArgs({
    args: argv,
    options: {
      kind: { type: 'string' },
      rate: { type: 'string' },
      in: { type: 'string' },
      out: { type: 'string' },
      help: { type: 'boolean', short: 'h' },
    },
    strict: true,
    allowPositionals: false,
  }).values;
}

/**
 * Runs the `features` subcommand.
 *
 * @param argv - arguments after `features`
 * @returns the process exit code: 0 on success, 2 for usage errors, 1 for unreadable or invalid input
 */
export async function run(argv: string[]): Promise<number> {
  let values: ReturnType<typeof parse>;
  try {
    values = parse(argv);
  } catch (error) {
    console.error(`features: ${error instanceof Error ? error.message : String(error)}\n\n${USAGE}`);
    return 2;
  }
  if (values.help === true) {
    console.log(USAGE);
    return 0;
  }
  try {
    const kind = values.kind;
    if (kind === undefined || !isKind(kind)) {
      throw new UsageError(
        `--kind must be one of ${KINDS.join(', ')} (got ${kind === undefined ? 'nothing' : `"${kind}"`}).`,
      );
    }
    if (values.in === undefined) throw new UsageError('--in <file.wav> is required.');
    if (values.out === undefined) throw new UsageError('--out <file.f32> is required.');
    const rate = parseRate(values.rate);
    if (rate === undefined && kind === 'resample') {
      throw new UsageError('--kind resample needs --rate N (output sample rate in Hz).');
    }
    if (rate !== undefined && kind !== 'resample') {
      throw new UsageError(`--rate only applies to --kind resample (${kind} always uses its model's rate).`);
    }
    let bytes: Uint8Array;
    try {
      bytes = await readFile(values.in);
    } catch (error) {
      console.error(`features: cannot read ${values.in}: ${error instanceof Error ? error.message : String(error)}`);
      return 1;
    }
    const wav = decodeWav(bytes);
    const result = compute(kind, wav.samples, wav.sampleRate, rate);
    await writeFile(values.out, littleEndianBytes(result.data));
    console.log(
      `${kind}: [${result.shape.join(', ')}] float32 LE (from ${wav.numFrames} samples at ${wav.sampleRate} Hz, ` +
        `${wav.numChannels} ch ${wav.encoding}; computed at ${result.rate} Hz) → ${values.out}`,
    );
    return 0;
  } catch (error) {
    if (error instanceof UsageError) {
      console.error(`features: ${error.message}\n\n${USAGE}`);
      return 2;
    }
    console.error(`features: ${error instanceof Error ? error.message : String(error)}`);
    return 1;
  }
}
