/**
 * Repetition-aware sampling (RAS) of the speech-token LM (spec §4.4; upstream `cosyvoice/utils/common.py`
 * `ras_sampling`, `nucleus_sampling`, `random_sampling` and `Qwen2LM.sampling_ids`).
 *
 * Numerics follow the upstream float32 tensors: probabilities are computed in float64 and rounded to float32 (what a
 * float32 softmax returns up to an ulp), the top-p walk keeps a float32 running sum and compares it with
 * `float32(topP)` *before* adding, sorting is descending and stable. Draws invert the float64 CDF of the (unnormalised)
 * weights at one uniform from an injected {@link UniformSource}, so a decision is a pure function of
 * (scores, history, uniforms) and can be replayed.
 */

import { invalidInput, TTSError } from '../../errors.ts';
import type { UniformSource } from './rng.ts';

/**
 * RAS fallback when the drawn id repeats inside the window:
 * - `'current'` (upstream since 2026-02-04, `f2ddcbe`): the repeated id is set to −∞, then one id is drawn from the
 *   softmax over all ids;
 * - `'dec2024'` (the code behind the published CosyVoice 2 results): redraw from the full distribution, repeated id
 *   included.
 */
export const RAS_VARIANTS = ['current', 'dec2024'] as const;

/** One of {@link RAS_VARIANTS}. */
export type RasVariant = (typeof RAS_VARIANTS)[number];

/**
 * How EOS is forbidden while `ignoreEos` (decode steps i < min_len):
 * - `'mask'` (upstream since 2026-02-11, `0e62489`): EOS (id V only) is set to −∞ before sampling;
 * - `'reject'` (earlier upstream): sample, and redraw while the id is ≥ V, at most 100 redraws.
 */
export const EOS_RULES = ['mask', 'reject'] as const;

/** One of {@link EOS_RULES}. */
export type EosRule = (typeof EOS_RULES)[number];

/** Sampling hyper-parameters; structurally a subset of `ModelConstants['sampling']`. */
export interface RasConfig {
  /** Nucleus mass. @defaultValue 0.8 (cosyvoice2.yaml) */
  readonly topP: number;
  /** Nucleus size cap. @defaultValue 25 */
  readonly topK: number;
  /** Repetition window (last emitted tokens). @defaultValue 10 */
  readonly winSize: number;
  /** Repetition ratio: the fallback fires when the drawn id occurs ≥ winSize·tauR times. @defaultValue 0.1 */
  readonly tauR: number;
}

/** Per-call options of {@link sampleRas}. */
export interface RasOptions extends RasConfig {
  /** EOS id (= V, the speech vocabulary size). */
  readonly eosId: number;
  /** Forbid EOS (decode steps i < min_len; the bistream streaming phase). */
  readonly ignoreEos: boolean;
  /** Fallback variant. @defaultValue 'current' */
  readonly variant?: RasVariant;
  /** EOS rule. @defaultValue 'mask' */
  readonly eosRule?: EosRule;
}

/**
 * `log_softmax` of raw logits, computed in float64 and rounded to float32.
 *
 * @param logits - raw scores (`llm` graph output, V+3 values).
 * @param out - optional destination (same length).
 * @returns `out` (or a new array) holding `x − max − ln Σ exp(x − max)`.
 * @throws {TTSError} ERR_INFERENCE when the logits contain NaN or no finite maximum.
 * @see torch.nn.functional.log_softmax
 */
export function logSoftmax(logits: ArrayLike<number>, out = new Float32Array(logits.length)): Float32Array {
  const max = finiteMax(logits, 'logits');
  let sum = 0;
  for (let i = 0; i < logits.length; i++) sum += Math.exp((logits[i] ?? 0) - max);
  const shift = max + Math.log(sum);
  for (let i = 0; i < logits.length; i++) out[i] = (logits[i] ?? 0) - shift;
  return out;
}

/**
 * `softmax` computed in float64 and rounded to float32; −∞ scores get probability 0.
 *
 * @throws {TTSError} ERR_INFERENCE when the scores contain NaN or no finite maximum.
 * @see torch.softmax
 */
export function softmax(scores: ArrayLike<number>, out = new Float32Array(scores.length)): Float32Array {
  const max = finiteMax(scores, 'scores');
  let sum = 0;
  for (let i = 0; i < scores.length; i++) sum += Math.exp((scores[i] ?? 0) - max);
  for (let i = 0; i < scores.length; i++) out[i] = Math.exp((scores[i] ?? 0) - max) / sum;
  return out;
}

/**
 * Copy of `logp` with only the EOS id set to −∞ when `ignoreEos` (spec §4.4 step 1; V+1 and V+2 stay).
 */
export function maskEos(logp: ArrayLike<number>, eosId: number, ignoreEos: boolean): Float32Array {
  const scores = Float32Array.from(logp);
  if (ignoreEos) {
    checkIndex(eosId, scores.length, 'eosId');
    scores[eosId] = Number.NEGATIVE_INFINITY;
  }
  return scores;
}

/** The top-p / top-k candidate set of one step. */
export interface NucleusSet {
  /** Kept ids in collection order (probability descending, stable). */
  readonly ids: Int32Array;
  /** Their float32 softmax probabilities, unnormalised (what the multinomial draw receives). */
  readonly probs: Float32Array;
  /** Number of kept ids (= `ids.length`). */
  readonly count: number;
  /** float32 running sum of `probs`. */
  readonly cum: number;
}

/**
 * Nucleus filter of `nucleus_sampling` (spec §4.4 step 2): p = softmax(scores), walk p in descending stable order
 * adding items while `cum < topP` and `count < topK` (test before adding, so the item crossing topP is kept).
 *
 * @param scores - log-probabilities or logits (EOS already masked if needed).
 * @param topP - nucleus mass in (0, 1].
 * @param topK - positive integer cap.
 * @throws {TTSError} ERR_INVALID_INPUT for bad topP / topK; ERR_INFERENCE for non-finite scores.
 */
export function nucleusCandidates(scores: ArrayLike<number>, topP: number, topK: number): NucleusSet {
  if (!(topP > 0 && topP <= 1)) throw invalidInput(`topP must be in (0, 1], got ${topP}.`);
  if (!Number.isInteger(topK) || topK < 1) throw invalidInput(`topK must be a positive integer, got ${topK}.`);
  const probs = softmax(scores);
  const k = Math.min(topK, probs.length);
  // Partial stable selection of the k largest: an item enters only if strictly larger than the current k-th, and is
  // inserted after every item ≥ it, which reproduces a stable descending sort restricted to its first k items.
  const topIds = new Int32Array(k);
  const topProbs = new Float32Array(k);
  let filled = 0;
  for (let i = 0; i < probs.length; i++) {
    const p = probs[i] ?? 0;
    if (filled === k && !(p > (topProbs[k - 1] ?? 0))) continue;
    let j = filled < k ? filled : k - 1;
    while (j > 0 && (topProbs[j - 1] ?? 0) < p) {
      topProbs[j] = topProbs[j - 1] ?? 0;
      topIds[j] = topIds[j - 1] ?? 0;
      j--;
    }
    topProbs[j] = p;
    topIds[j] = i;
    if (filled < k) filled++;
  }
  const threshold = Math.fround(topP);
  let cum = 0;
  let count = 0;
  while (count < filled && cum < threshold) {
    cum = Math.fround(cum + (topProbs[count] ?? 0));
    count++;
  }
  return { ids: topIds.slice(0, count), probs: topProbs.slice(0, count), count, cum };
}

/**
 * Index drawn with probability ∝ `weights` (need not sum to 1) by inverting the float64 CDF at `u`: the first index
 * whose cumulative weight exceeds `u · total`; zero-weight entries are never chosen.
 *
 * @param u - one uniform draw in [0, 1).
 * @throws {TTSError} ERR_INVALID_INPUT when `u` is outside [0, 1); ERR_INFERENCE when no weight is positive.
 */
export function drawIndex(weights: ArrayLike<number>, u: number): number {
  if (!(u >= 0 && u < 1)) throw invalidInput(`Uniform draw must be in [0, 1), got ${u}.`);
  let total = 0;
  let lastPositive = -1;
  for (let i = 0; i < weights.length; i++) {
    const w = weights[i] ?? 0;
    if (w > 0) {
      total += w;
      lastPositive = i;
    }
  }
  if (!(total > 0) || !Number.isFinite(total)) {
    throw new TTSError('ERR_INFERENCE', 'Sampling failed: no positive finite probability to draw from.');
  }
  const target = u * total;
  let cdf = 0;
  for (let i = 0; i < lastPositive; i++) {
    const w = weights[i] ?? 0;
    if (w > 0) cdf += w;
    if (cdf > target) return i;
  }
  return lastPositive;
}

/** Occurrences of `token` among the last `winSize` entries of `history` (spec §4.4 step 3). */
export function repetitionCount(token: number, history: ArrayLike<number>, winSize: number): number {
  let n = 0;
  for (let i = Math.max(0, history.length - winSize); i < history.length; i++) if (history[i] === token) n++;
  return n;
}

/**
 * Distribution of the RAS fallback draw over all ids (no top-p / top-k): `softmax(scores)` with the repeated id
 * set to −∞ for `'current'`, unchanged for `'dec2024'`.
 */
export function rasFallbackProbs(scores: ArrayLike<number>, repeated: number, variant: RasVariant): Float32Array {
  if (variant === 'dec2024') return softmax(scores);
  if (!(RAS_VARIANTS as readonly string[]).includes(variant)) {
    throw invalidInput(`Unknown RAS variant ${variant}; expected one of ${RAS_VARIANTS.join(', ')}.`);
  }
  const masked = Float32Array.from(scores);
  checkIndex(repeated, masked.length, 'repeated id');
  masked[repeated] = Number.NEGATIVE_INFINITY;
  return softmax(masked);
}

/** A sampling decision with its intermediate facts (for tests and debugging). */
export interface RasSample {
  /** The returned id. */
  readonly token: number;
  /** The id the nucleus draw produced (before the repetition check) in the accepted trial. */
  readonly drawn: number;
  /** Occurrences of `drawn` in the repetition window. */
  readonly repNum: number;
  /** True when the repetition fallback replaced `drawn`. */
  readonly fellBack: boolean;
  /** Sampling trials (> 1 only with `eosRule: 'reject'`). */
  readonly trials: number;
  /** Uniform draws consumed (1 per trial, +1 per fallback). */
  readonly uniforms: number;
}

const MAX_REJECTIONS = 100;

/**
 * Repetition-aware sampling of one token (upstream `sampling_ids` + `ras_sampling`).
 *
 * 1. EOS handling per `eosRule` when `ignoreEos`;
 * 2. one draw from the nucleus set ({@link nucleusCandidates});
 * 3. if the drawn id occurs ≥ winSize·tauR times in the last winSize entries of `history`, one draw from
 *    {@link rasFallbackProbs}.
 *
 * @param logp - log-probabilities (V+3 values; raw logits give the same decisions).
 * @param history - tokens decided so far (unistream: emitted tokens; bistream: `out_tokens` incl. FILL).
 * @throws {TTSError} ERR_INVALID_INPUT for bad options; ERR_INFERENCE for non-finite scores or when `'reject'` still
 *   draws a special id after 100 redraws.
 */
export function sampleRasDetailed(
  logp: ArrayLike<number>,
  history: ArrayLike<number>,
  options: RasOptions,
  rng: UniformSource,
): RasSample {
  const variant = options.variant ?? 'current';
  const eosRule = options.eosRule ?? 'mask';
  if (!(EOS_RULES as readonly string[]).includes(eosRule)) {
    throw invalidInput(`Unknown EOS rule ${eosRule}; expected one of ${EOS_RULES.join(', ')}.`);
  }
  if (!Number.isInteger(options.winSize) || options.winSize < 1 || !(options.tauR >= 0 && options.tauR <= 1)) {
    throw invalidInput(
      `RAS needs an integer winSize ≥ 1 and tauR in [0, 1], got ${options.winSize} and ${options.tauR}.`,
    );
  }
  const scores = maskEos(logp, options.eosId, options.ignoreEos && eosRule === 'mask');
  const nucleus = nucleusCandidates(scores, options.topP, options.topK);
  const threshold = options.winSize * options.tauR;
  let uniforms = 0;
  for (let trial = 1; ; trial++) {
    uniforms++;
    const drawn = nucleus.ids[drawIndex(nucleus.probs, rng.uniform())] ?? -1;
    const repNum = repetitionCount(drawn, history, options.winSize);
    let token = drawn;
    const fellBack = repNum >= threshold;
    if (fellBack) {
      uniforms++;
      token = drawIndex(rasFallbackProbs(scores, drawn, variant), rng.uniform());
    }
    const rejected = eosRule === 'reject' && options.ignoreEos && token >= options.eosId;
    if (!rejected) return { token, drawn, repNum, fellBack, trials: trial, uniforms };
    if (trial > MAX_REJECTIONS) {
      throw new TTSError(
        'ERR_INFERENCE',
        `Sampling drew a stop id ${MAX_REJECTIONS + 1} times while EOS is forbidden; check the input.`,
        { details: { token } },
      );
    }
  }
}

/**
 * Repetition-aware sampling of one token; see {@link sampleRasDetailed}.
 *
 * @example
 * ```ts
 * const rng = new Xoshiro128(1234);
 * const token = sampleRas(logp, history, { ...constants.sampling, eosId: 6561, ignoreEos: step < minLen }, rng);
 * ```
 */
export function sampleRas(
  logp: ArrayLike<number>,
  history: ArrayLike<number>,
  options: RasOptions,
  rng: UniformSource,
): number {
  return sampleRasDetailed(logp, history, options, rng).token;
}

function finiteMax(values: ArrayLike<number>, name: string): number {
  let max = Number.NEGATIVE_INFINITY;
  for (let i = 0; i < values.length; i++) {
    const v = values[i] ?? Number.NaN;
    if (Number.isNaN(v)) throw new TTSError('ERR_INFERENCE', `The LM ${name} contain NaN (index ${i}).`);
    if (v > max) max = v;
  }
  if (!Number.isFinite(max)) {
    throw new TTSError('ERR_INFERENCE', `The LM ${name} have no finite maximum (max = ${max}).`);
  }
  return max;
}

function checkIndex(index: number, length: number, name: string): void {
  if (!Number.isInteger(index) || index < 0 || index >= length) {
    throw invalidInput(`${name} ${index} is outside [0, ${length}).`);
  }
}
