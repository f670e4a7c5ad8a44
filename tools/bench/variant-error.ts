/**
 * `npx tsx tools/bench/variant-error.ts [--model test/fixtures/tiny-package] [--out build/variant-error.json]
 *   [--steps 60] [--seed 1] [--threads 2] [--skip-lm] [--lm-reference fp32|fp16] [--skip-audio]`
 *
 * What each quantised variant of a model package computes, against fp32, on onnxruntime-web's wasm EP in Node (the
 * kernels the browser's wasm path runs). Prints a table and writes the figures as JSON:
 *
 * - LM (`embed_text` + `embed_speech` + `llm` of the variant): teacher-forced over one sequence — SOS, seeded text
 *   ids, TASK_ID, then `--steps` seeded speech tokens fed one row at a time — the next-token distribution (softmax of
 *   the raw logits, all V + 3 rows) at every speech position: top-1 agreement with fp32 and total variation distance
 *   (½ Σ |p − q|, mean and max).
 * - flow (`flow_encoder` + `flow_step` of the variant, fp32 vocoder): the offline mel of the same tokens and voice
 *   (the package's fixed noise) — max |Δ| and RMS |Δ| over the mel's peak.
 * - end to end (`token2wav`: the variant's flow and vocoder, vocoder noise seeded): the waveform — max |Δ| and RMS over
 *   the fp32 waveform's peak; the mel figures are those of the flow row (the vocoder does not change the mel).
 * - the vocoder alone: each vocoder file other than fp32's (its fp16w graph; fp16, int8 and q4 are the fp32 file) on the
 *   fp32 flow's mel — F0 (Hz) and waveform, max |Δ| and RMS over the fp32 vocoder's.
 * - for every waveform also its log-mel distance in dB (`spectralError`): a phase drift of the sine source looks large
 *   sample by sample and is not heard; the spectrum says what changed in the sound.
 *
 * The voice and tokens are synthetic (tools/bench/full-size.ts) so any package works. The LM rows need a reference LM:
 * the full-size fp32 one (1.46 GB) does not fit the wasm32 heap (tools/bench/engine.ts), so on that package pass
 * `--lm-reference fp16` (fp16 is fp32 to 6e-3 in the logits, onnxruntime's own comparison in docs/model-package.md: far
 * below the int8 and q4 errors measured against it) or `--skip-lm`. `--skip-audio` measures the LM rows only.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { dirname } from 'node:path';
import { parseArgs } from 'node:util';
import type { Dtype } from '../../src/base/stages.ts';
import { createPromptMelPlan, promptMel } from '../../src/dsp/mel.ts';
import { stageDtypes } from '../../src/loader/manifest.ts';
import type { Mel } from '../../src/models/flow/flow-matcher.ts';
import { FlowMatcher } from '../../src/models/flow/flow-matcher.ts';
import { Xoshiro128 } from '../../src/models/lm/rng.ts';
import { tokensToWave } from '../../src/models/token2wav.ts';
import type { VocoderOutput } from '../../src/models/vocoder/vocoder.ts';
import { Vocoder } from '../../src/models/vocoder/vocoder.ts';
import type { ModelPackage } from '../../src/runtime/model-package.ts';
import type { OrtModule } from '../../src/runtime/ort.ts';
import { configureOrt, loadOrt } from '../../src/runtime/ort.ts';
import { openBenchPackage, syntheticVoice } from './full-size.ts';

const { values } = parseArgs({
  options: {
    model: { type: 'string', default: 'test/fixtures/tiny-package' },
    out: { type: 'string', default: 'build/variant-error.json' },
    steps: { type: 'string', default: '60' },
    seed: { type: 'string', default: '1' },
    threads: { type: 'string', default: '2' },
    'skip-lm': { type: 'boolean', default: false },
    'lm-reference': { type: 'string', default: 'fp32' },
    'skip-audio': { type: 'boolean', default: false },
  },
});
const steps = Number(values.steps);
const seed = Number(values.seed);

/** Text ids of the teacher-forced prefix: ordinary BPE ids (below the special tokens), seeded. */
const TEXT_IDS = 20;

function softmax(logits: Float32Array): Float64Array {
  let max = -Infinity;
  for (const v of logits) max = Math.max(max, v);
  const p = Float64Array.from(logits, (v) => Math.exp(v - max));
  const sum = p.reduce((a, b) => a + b, 0);
  return p.map((v) => v / sum);
}

function argmax(x: ArrayLike<number>): number {
  let best = 0;
  for (let i = 1; i < x.length; i++) if ((x[i] ?? -Infinity) > (x[best] ?? -Infinity)) best = i;
  return best;
}

/** The teacher-forced sequence: embed_speech / embed_text ids per row. */
interface ForcedRow {
  readonly graph: 'embed_text' | 'embed_speech';
  readonly id: number;
}

function forcedSequence(pkg: ModelPackage): ForcedRow[] {
  const llm = pkg.manifest.config.llm;
  const rng = new Xoshiro128(seed);
  const textLimit = Math.min(...Object.values(pkg.manifest.config.specialTokens));
  return [
    { graph: 'embed_speech', id: llm.sosRow },
    ...Array.from({ length: TEXT_IDS }, () => ({
      graph: 'embed_text' as const,
      id: Math.floor(rng.uniform() * textLimit),
    })),
    { graph: 'embed_speech', id: llm.taskIdRow },
    ...Array.from({ length: steps }, () => ({
      graph: 'embed_speech' as const,
      id: Math.floor(rng.uniform() * llm.speechTokenSize),
    })),
  ];
}

/** Next-token distributions at every row from TASK_ID on (the positions that predict speech tokens). */
async function lmDistributions(pkg: ModelPackage, ort: OrtModule, dtype: Dtype): Promise<Float64Array[]> {
  const options = { device: 'wasm' as const, dtype };
  const [embedText, embedSpeech, llm] = await Promise.all([
    pkg.session(ort, 'embed_text', options),
    pkg.session(ort, 'embed_speech', options),
    pkg.session(ort, 'llm', options),
  ]);
  const { numLayers, numKvHeads, headDim } = pkg.manifest.config.llm;
  const rows = forcedSequence(pkg);
  const firstPredicting = TEXT_IDS + 1;
  const past: Record<string, ReturnType<typeof llm.tensor>> = {};
  for (let i = 0; i < numLayers; i++) {
    for (const kind of ['key', 'value']) {
      past[`past_key_values.${i}.${kind}`] = llm.tensor('float32', new Float32Array(0), [1, numKvHeads, 0, headDim]);
    }
  }
  const distributions: Float64Array[] = [];
  try {
    for (const [position, row] of rows.entries()) {
      const embed = row.graph === 'embed_text' ? embedText : embedSpeech;
      const idName = row.graph === 'embed_text' ? 'input_ids' : 'speech_ids';
      const { inputs_embeds } = await embed.run({
        [idName]: embed.tensor('int64', BigInt64Array.of(BigInt(row.id)), [1, 1]),
      });
      if (inputs_embeds === undefined) throw new Error(`${embed.name} returned no inputs_embeds`);
      const out = await llm.run({
        inputs_embeds,
        attention_mask: llm.tensor('int64', new BigInt64Array(position + 1).fill(1n), [1, position + 1]),
        position_ids: llm.tensor('int64', BigInt64Array.of(BigInt(position)), [1, 1]),
        ...past,
      });
      for (const name of Object.keys(past)) {
        const present = out[name.replace('past_key_values', 'present')];
        if (present === undefined) throw new Error(`llm returned no cache for ${name}`);
        past[name] = present;
      }
      const logits = out['logits'];
      if (logits === undefined) throw new Error('llm returned no logits');
      if (position >= firstPredicting) distributions.push(softmax(logits.data as Float32Array));
    }
  } finally {
    await Promise.all([embedText.release(), embedSpeech.release(), llm.release()]);
  }
  return distributions;
}

interface LmError {
  readonly positions: number;
  readonly top1Agreement: number;
  readonly tvdMean: number;
  readonly tvdMax: number;
}

function compareDistributions(reference: readonly Float64Array[], variant: readonly Float64Array[]): LmError {
  let agree = 0;
  let tvdSum = 0;
  let tvdMax = 0;
  for (const [i, p] of reference.entries()) {
    const q = variant[i] ?? new Float64Array(p.length).fill(NaN);
    if (argmax(p) === argmax(q)) agree++;
    let tvd = 0;
    for (const [k, pk] of p.entries()) tvd += Math.abs(pk - (q[k] ?? NaN));
    tvd /= 2;
    tvdSum += tvd;
    tvdMax = Math.max(tvdMax, tvd);
  }
  return {
    positions: reference.length,
    top1Agreement: agree / reference.length,
    tvdMean: tvdSum / reference.length,
    tvdMax,
  };
}

interface AudioOut {
  readonly mel: Mel;
  readonly wave: Float32Array;
}

/** Offline token2wav of seeded tokens with the variant's flow and vocoder. */
async function synthesize(pkg: ModelPackage, ort: OrtModule, dtype: Dtype): Promise<AudioOut> {
  const flow = await FlowMatcher.create(pkg, ort, { device: 'wasm', dtype });
  const vocoder = await Vocoder.create(pkg, ort, { device: 'wasm', dtype });
  try {
    const voice = syntheticVoice(pkg, seed);
    const rng = new Xoshiro128(seed + 7);
    const tokens = Int32Array.from({ length: steps }, () =>
      Math.floor(rng.uniform() * pkg.manifest.config.flow.vocabSize),
    );
    const chunk = await tokensToWave(flow, vocoder, voice, tokens, { rng: new Xoshiro128(seed + 1) });
    return { mel: chunk.mel, wave: chunk.samples };
  } finally {
    await Promise.all([flow.release(), vocoder.release()]);
  }
}

/** The vocoder alone (dtype `dtype`) on a given mel, its excitation noise seeded as in {@link synthesize}. */
async function vocode(pkg: ModelPackage, ort: OrtModule, dtype: Dtype, mel: Mel): Promise<VocoderOutput> {
  const vocoder = await Vocoder.create(pkg, ort, { device: 'wasm', dtype });
  try {
    return await vocoder.synthesize(mel, { rng: new Xoshiro128(seed + 1) });
  } finally {
    await vocoder.release();
  }
}

/** Vocoder dtypes served by a file other than fp32's, one per file (fp16w; its fp16, int8 and q4 are fp32's file). */
function compactVocoderDtypes(pkg: ModelPackage): Dtype[] {
  const fileOf = (d: Dtype): string | undefined => pkg.manifest.graphs.hift_decoder?.[d]?.file;
  const seen = new Set([fileOf('fp32')]);
  return stageDtypes(pkg.manifest, 'vocoder').filter((d) => {
    const file = fileOf(d);
    if (seen.has(file)) return false;
    seen.add(file);
    return true;
  });
}

interface SignalError {
  readonly maxAbs: number;
  readonly rms: number;
  /** max |reference|: the scale the relative figures divide by. */
  readonly peak: number;
  readonly relMaxAbs: number;
  readonly relRms: number;
}

function signalError(reference: Float32Array, variant: Float32Array): SignalError {
  if (reference.length !== variant.length) throw new Error(`lengths differ: ${reference.length} vs ${variant.length}`);
  let maxAbs = 0;
  let sq = 0;
  let peak = 0;
  for (let i = 0; i < reference.length; i++) {
    const r = reference[i] ?? NaN;
    const d = Math.abs((variant[i] ?? NaN) - r);
    maxAbs = Math.max(maxAbs, d);
    sq += d * d;
    peak = Math.max(peak, Math.abs(r));
  }
  const rms = Math.sqrt(sq / reference.length);
  return { maxAbs, rms, peak, relMaxAbs: maxAbs / peak, relRms: rms / peak };
}

/** Log-mel distance of two waveforms in dB (20·log10 of the Matcha mel's magnitudes, its 1e-5 floor included). */
interface SpectralError {
  readonly meanAbsDb: number;
  readonly maxAbsDb: number;
}

const melPlan = createPromptMelPlan();
const DB_PER_NEPER = 20 / Math.LN10;

/**
 * How far apart two waveforms sound, roughly: the sample-wise figures count a phase drift of the sine source (an F0
 * off by 0.05 % moves every later period a little) as a large error, while the spectrum it shapes barely changes.
 */
function spectralError(reference: Float32Array, variant: Float32Array): SpectralError {
  const a = promptMel(reference, melPlan);
  const b = promptMel(variant, melPlan);
  let sum = 0;
  let max = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs((a[i] ?? NaN) - (b[i] ?? NaN)) * DB_PER_NEPER;
    sum += d;
    max = Math.max(max, d);
  }
  return { meanAbsDb: sum / a.length, maxAbsDb: max };
}

const pkg = await openBenchPackage(values.model);
const ort = await loadOrt('wasm');
configureOrt(ort, { numThreads: Number(values.threads) });
const lmReferenceDtype = values['lm-reference'] as Dtype;
if (!stageDtypes(pkg.manifest, 'lm').includes(lmReferenceDtype)) {
  throw new Error(
    `--lm-reference ${lmReferenceDtype}: the package's LM ships ${stageDtypes(pkg.manifest, 'lm').join(', ')}`,
  );
}
const skipAudio = values['skip-audio'];
const variants = [...new Set([...stageDtypes(pkg.manifest, 'flow'), ...stageDtypes(pkg.manifest, 'lm')])].filter(
  (d) => d !== 'fp32',
);

const lmReference = !values['skip-lm'] ? await lmDistributions(pkg, ort, lmReferenceDtype) : [];
const audioReference = skipAudio ? undefined : await synthesize(pkg, ort, 'fp32');
const report: Record<string, unknown> = {
  model: values.model,
  modelId: pkg.manifest.modelId,
  lmReference: values['skip-lm'] ? undefined : lmReferenceDtype,
  forcedSpeechPositions: lmReference.length,
  tokens: steps,
  seed,
  variants: {},
};
const percent = (x: number, digits: number): string => `${(x * 100).toFixed(digits)} %`;
for (const dtype of variants) {
  const lm =
    !values['skip-lm'] && dtype !== lmReferenceDtype && stageDtypes(pkg.manifest, 'lm').includes(dtype)
      ? compareDistributions(lmReference, await lmDistributions(pkg, ort, dtype))
      : undefined;
  const audio = audioReference === undefined ? undefined : await synthesize(pkg, ort, dtype);
  // the LM reference itself with the audio rows skipped: nothing to report
  if (lm === undefined && audio === undefined) continue;
  const row = {
    lm,
    flowMel: audio && audioReference && signalError(audioReference.mel.data, audio.mel.data),
    wave: audio && audioReference && signalError(audioReference.wave, audio.wave),
    waveLogMel: audio && audioReference && spectralError(audioReference.wave, audio.wave),
  };
  (report['variants'] as Record<string, unknown>)[dtype] = row;
  const lmText =
    lm === undefined
      ? '—'
      : `${percent(lm.top1Agreement, 1)}, TVD mean ${lm.tvdMean.toFixed(4)} max ${lm.tvdMax.toFixed(4)}`;
  const signalText = (name: string, e: SignalError | undefined, digits: number): string =>
    e === undefined
      ? `${name} —`
      : `${name} max|Δ| ${e.maxAbs.toExponential(2)} (${percent(e.relMaxAbs, 2)} of ${e.peak.toFixed(digits)}), rms ${percent(e.relRms, 3)}`;
  const logMelText = (e: SpectralError | undefined): string =>
    e === undefined ? '' : `; wave log-mel |Δ| mean ${e.meanAbsDb.toFixed(3)} dB, max ${e.maxAbsDb.toFixed(2)} dB`;
  console.log(
    `${dtype}: LM (vs ${lmReferenceDtype}) top-1 ${lmText}; ${signalText('mel', row.flowMel, 2)}; ${signalText('wave', row.wave, 3)}${logMelText(row.waveLogMel)}`,
  );
}
// the vocoder alone: its fp16w file (fp16-stored weights, fp32 arithmetic) against fp32 on the fp32 flow's mel
const vocoderRows: Record<string, unknown> = {};
if (audioReference !== undefined) {
  const reference = await vocode(pkg, ort, 'fp32', audioReference.mel);
  for (const dtype of compactVocoderDtypes(pkg)) {
    const out = await vocode(pkg, ort, dtype, audioReference.mel);
    const row = {
      f0: signalError(reference.f0, out.f0),
      wave: signalError(reference.samples, out.samples),
      waveLogMel: spectralError(reference.samples, out.samples),
    };
    vocoderRows[dtype] = { file: pkg.manifest.graphs.hift_decoder?.[dtype]?.file, ...row };
    console.log(
      `vocoder ${dtype} alone (${pkg.manifest.graphs.hift_decoder?.[dtype]?.file}, on the fp32 mel): F0 max|Δ| ` +
        `${row.f0.maxAbs.toExponential(2)} Hz (${percent(row.f0.relMaxAbs, 3)} of ${row.f0.peak.toFixed(1)} Hz), ` +
        `wave max|Δ| ${row.wave.maxAbs.toExponential(2)} (${percent(row.wave.relMaxAbs, 3)} of ` +
        `${row.wave.peak.toFixed(3)}), rms ${percent(row.wave.relRms, 4)}; log-mel |Δ| mean ` +
        `${row.waveLogMel.meanAbsDb.toFixed(3)} dB, max ${row.waveLogMel.maxAbsDb.toFixed(2)} dB`,
    );
  }
}
report['vocoder'] = vocoderRows;
mkdirSync(dirname(values.out), { recursive: true });
writeFileSync(values.out, JSON.stringify(report, null, 2) + '\n');
console.log(`wrote ${values.out}`);
