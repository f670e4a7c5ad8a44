/**
 * RAS sampler against the upstream vectors (llm.npz, README "LLM"): EOS masking → scores_in, nucleus filter →
 * nucleus_ids / count exact, probs / cum ≤ 1e-5, repetition check → rep_num / rep_fire exact, fallback distribution
 * ≤ 1e-5; decisions equal the Python reference (tools/reference/llm.py) given the same uniform draws; empirical
 * frequencies match the kept probabilities (chi-square, fixed seed).
 */
import { execFileSync } from 'node:child_process';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';

import { TTSError } from '../../../src/errors.ts';
import { Xoshiro128 } from '../../../src/models/lm/rng.ts';
import type { RasVariant } from '../../../src/models/lm/sampler.ts';
import {
  drawIndex,
  logSoftmax,
  maskEos,
  nucleusCandidates,
  rasFallbackProbs,
  repetitionCount,
  sampleRas,
  sampleRasDetailed,
  softmax,
} from '../../../src/models/lm/sampler.ts';
import { maxAbsDiff } from '../../helpers/npz.ts';
import type { Mode } from './vectors.ts';
import { ROOT } from '../../helpers/package.ts';
import { floatArray, GoldenUniforms, intArray, MODES, row, ScriptedUniforms, TINY, VECTORS_DIR } from './vectors.ts';

const TOL_PROB = 1e-5;
const worst = { probs: 0, cum: 0, fallback: 0, scores: 0 };

function stepScores(mode: Mode, i: number): Float32Array {
  return row(floatArray(`${mode}.scores_in`), i);
}

describe.each(MODES)('sampler vs upstream vectors: %s', (mode) => {
  const logp = floatArray(`${mode}.logp`);
  const ignoreEos = intArray(`${mode}.ignore_eos`);
  const forced = intArray(`${mode}.forced`);
  /** Decode steps recorded for this mode. */
  const STEPS = forced.length;

  it('EOS masking reproduces scores_in (only id V masked)', () => {
    for (let i = 0; i < STEPS; i++) {
      const scores = maskEos(row(logp, i), TINY.eosId, ignoreEos[i] === 1);
      const stored = stepScores(mode, i);
      for (let j = 0; j < scores.length; j++) {
        if (!Number.isFinite(stored[j] ?? 0)) expect(scores[j], `${mode} step ${i} id ${j}`).toBe(stored[j]);
      }
      const d = maxAbsDiff(scores, stored);
      worst.scores = Math.max(worst.scores, d);
      expect(d).toBe(0);
      expect(scores[TINY.eosId] === -Infinity).toBe(ignoreEos[i] === 1);
      expect(Number.isFinite(scores[TINY.eosId + 1] ?? NaN) && Number.isFinite(scores[TINY.fillId] ?? NaN)).toBe(true);
    }
  });

  it('nucleus filter: ids and counts exact, probs and cum within 1e-5 (from scores_in and from masked logp)', () => {
    const ids = intArray(`${mode}.nucleus_ids`);
    const probs = floatArray(`${mode}.nucleus_probs`).data;
    const counts = intArray(`${mode}.nucleus_count`);
    const cums = floatArray(`${mode}.nucleus_cum`).data;
    for (let i = 0; i < STEPS; i++) {
      for (const scores of [stepScores(mode, i), maskEos(row(logp, i), TINY.eosId, ignoreEos[i] === 1)]) {
        const set = nucleusCandidates(scores, TINY.topP, TINY.topK);
        const n = counts[i] ?? -1;
        expect(set.count, `${mode} step ${i}`).toBe(n);
        expect(Array.from(set.ids)).toEqual(ids.slice(i * TINY.topK, i * TINY.topK + n));
        const dp = maxAbsDiff(set.probs, probs.subarray(i * TINY.topK, i * TINY.topK + n));
        const dc = Math.abs(set.cum - (cums[i] ?? NaN));
        worst.probs = Math.max(worst.probs, dp);
        worst.cum = Math.max(worst.cum, dc);
        expect(dp).toBeLessThanOrEqual(TOL_PROB);
        expect(dc).toBeLessThanOrEqual(TOL_PROB);
        expect(set.cum >= Math.fround(TINY.topP) || set.count === TINY.topK).toBe(true);
      }
    }
  });

  it('RAS window check: rep_num and rep_fire exact against the forced history', () => {
    const repNum = intArray(`${mode}.rep_num`);
    const repFire = intArray(`${mode}.rep_fire`);
    for (let i = 0; i < STEPS; i++) {
      const n = repetitionCount(forced[i] ?? -1, forced.slice(0, i), TINY.winSize);
      expect(n, `${mode} step ${i}`).toBe(repNum[i]);
      expect(n >= TINY.winSize * TINY.tauR ? 1 : 0).toBe(repFire[i]);
    }
  });

  it('RAS fallback distribution (current variant) within 1e-5; dec2024 = plain softmax', () => {
    const steps = intArray(`${mode}.ras_fallback_step`);
    const stored = floatArray(`${mode}.ras_fallback_probs`);
    steps.forEach((step, k) => {
      const scores = stepScores(mode, step);
      const repeated = forced[step] ?? -1;
      const current = rasFallbackProbs(scores, repeated, 'current');
      const d = maxAbsDiff(current, row(stored, k));
      worst.fallback = Math.max(worst.fallback, d);
      expect(d).toBeLessThanOrEqual(TOL_PROB);
      expect(current[repeated]).toBe(0);
      const dec = rasFallbackProbs(scores, repeated, 'dec2024');
      expect(dec[repeated]).toBeGreaterThan(0);
      expect(maxAbsDiff(dec, softmax(scores))).toBe(0);
    });
  });

  it('each kept id is drawn from its CDF interval; the fallback fires iff the id is in the window', () => {
    // Drive sampleRasDetailed so that the nucleus draw picks each kept id in turn; the repetition check uses the
    // forced history, so the fallback fires iff the drawn id is in the last 10 forced tokens.
    for (let i = 0; i < STEPS; i++) {
      const scores = stepScores(mode, i);
      const set = nucleusCandidates(scores, TINY.topP, TINY.topK);
      const history = forced.slice(0, i);
      const total = set.probs.reduce((a, b) => a + b, 0);
      let before = 0;
      for (let j = 0; j < set.count; j++) {
        const p = set.probs[j] ?? 0;
        const u = (before + p / 2) / total;
        before += p;
        const r = sampleRasDetailed(
          row(logp, i),
          history,
          { ...TINY, ignoreEos: ignoreEos[i] === 1 },
          new ScriptedUniforms([u, 0.5]),
        );
        expect(r.drawn).toBe(set.ids[j]);
        expect(r.fellBack).toBe(history.slice(-TINY.winSize).includes(r.drawn));
        if (!r.fellBack) expect(r.token).toBe(r.drawn);
        else expect(r.token).not.toBe(r.drawn);
      }
    }
  });
});

describe('decisions equal the Python reference given the same uniform draws', () => {
  // Expected values from tools/reference/llm.py (`mask_eos` + `ras_sample`, run by tools/reference/sampler_decisions.py)
  // on the same stored logp rows with the same uniforms u_k = frac(k·φ⁻¹), history = the tokens sampled so far
  // (closed loop, so repetitions occur).
  const expected = JSON.parse(
    execFileSync(join(ROOT, '.venv/bin/python'), ['-m', 'tools.reference.sampler_decisions', VECTORS_DIR], {
      cwd: ROOT,
      encoding: 'utf8',
    }),
  ) as Record<`${RasVariant}.${Mode | 'bistream'}`, { tokens: number[]; uniforms: number }>;
  const sources = [...MODES, 'bistream'] as const;
  it.each((['current', 'dec2024'] as const).flatMap((v) => sources.map((s) => [v, s] as const)))('%s %s', (v, s) => {
    const logp = floatArray(s === 'bistream' ? 'bistream.call_logp' : `${s}.logp`);
    const ignore = s === 'bistream' ? new Array<number>(logp.shape[0] ?? 0).fill(1) : intArray(`${s}.ignore_eos`);
    const rng = new GoldenUniforms();
    const tokens: number[] = [];
    for (let i = 0; i < ignore.length; i++) {
      tokens.push(sampleRas(row(logp, i), tokens, { ...TINY, ignoreEos: ignore[i] === 1, variant: v }, rng));
    }
    expect(tokens).toEqual(expected[`${v}.${s}`].tokens);
    expect(rng.count).toBe(expected[`${v}.${s}`].uniforms);
  });
});

function bump(a: Float64Array, i: number, by = 1): void {
  a[i] = (a[i] ?? 0) + by;
}

/** Upper chi-square quantile (Wilson–Hilferty), z = 3.29 ≈ p 0.0005. */
function chi2Critical(df: number, z = 3.29): number {
  const a = 2 / (9 * df);
  return df * (1 - a + z * Math.sqrt(a)) ** 3;
}

/** Chi-square statistic over bins with expected count ≥ 5 plus one bin for the rest. */
function chiSquare(counts: Float64Array, probs: ArrayLike<number>, n: number): { stat: number; df: number } {
  let stat = 0;
  let bins = 0;
  let restObs = 0;
  let restExp = 0;
  for (let i = 0; i < counts.length; i++) {
    const e = (probs[i] ?? 0) * n;
    const o = counts[i] ?? 0;
    if (e >= 5) {
      stat += (o - e) ** 2 / e;
      bins++;
    } else {
      restObs += o;
      restExp += e;
    }
  }
  if (restExp >= 5) {
    stat += (restObs - restExp) ** 2 / restExp;
    bins++;
  } else if (restObs > 0 && restExp === 0) {
    stat = Infinity;
  }
  return { stat, df: bins - 1 };
}

describe('sampler statistics (seeded)', () => {
  const N = 20_000;
  const V3 = TINY.speechTokenSize + 3;

  it('nucleus draws follow the kept probabilities (no repetition history)', () => {
    // per mode, the recorded step whose nucleus keeps the most ids (found in the stored counts, not named)
    for (const mode of MODES) {
      const kept = intArray(`${mode}.nucleus_count`);
      const step = kept.indexOf(Math.max(...kept));
      const scores = stepScores(mode, step);
      const set = nucleusCandidates(scores, TINY.topP, TINY.topK);
      const expectedProbs = new Float64Array(V3);
      set.ids.forEach((id, j) => (expectedProbs[id] = (set.probs[j] ?? 0) / set.cum));
      const rng = new Xoshiro128(42 + step);
      const counts = new Float64Array(V3);
      for (let k = 0; k < N; k++) bump(counts, sampleRas(scores, [], { ...TINY, ignoreEos: false }, rng));
      const { stat, df } = chiSquare(counts, expectedProbs, N);
      expect(df).toBeGreaterThan(3);
      expect(stat, `${mode} step ${step}: chi2 ${stat.toFixed(1)} df ${df}`).toBeLessThan(chi2Critical(df));
    }
  });

  it.each(['current', 'dec2024'] as const)('the %s fallback follows its mixture distribution', (variant) => {
    // History = the nucleus ids, as many as the repetition window holds (all of them unless top-k exceeds winSize):
    // a draw of one of those falls back, any other is kept, so P(k) = Σ_j q_j · (fallback_j(k) or [k = id_j]).
    // The step is the recorded one whose nucleus keeps the most ids (found in the stored counts).
    const kept = Array.from(intArray('zero_shot.nucleus_count'));
    const scores = stepScores('zero_shot', kept.indexOf(Math.max(...kept)));
    const set = nucleusCandidates(scores, TINY.topP, TINY.topK);
    expect(set.count).toBeGreaterThan(1); // a mixture, not one fallback distribution
    const history = Array.from(set.ids).slice(0, TINY.winSize);
    const mixture = new Float64Array(V3);
    set.ids.forEach((id, j) => {
      const q = (set.probs[j] ?? 0) / set.cum;
      if (history.includes(id)) {
        rasFallbackProbs(scores, id, variant).forEach((p, k) => {
          bump(mixture, k, q * p);
        });
      } else bump(mixture, id, q);
    });
    const rng = new Xoshiro128(7);
    const counts = new Float64Array(V3);
    let fellBack = 0;
    for (let k = 0; k < N; k++) {
      const r = sampleRasDetailed(scores, history, { ...TINY, ignoreEos: false, variant }, rng);
      expect(r.fellBack).toBe(history.includes(r.drawn));
      if (r.fellBack) fellBack++;
      bump(counts, r.token);
    }
    expect(fellBack).toBeGreaterThan(N / 2); // the fallback is what is being tested: most draws take it
    const { stat, df } = chiSquare(counts, mixture, N);
    expect(df).toBeGreaterThan(3);
    expect(stat, `chi2 ${stat.toFixed(1)} df ${df}`).toBeLessThan(chi2Critical(df));
  });
});

describe('sampler edge cases', () => {
  const base = { ...TINY, ignoreEos: false };

  it('logSoftmax matches a float64 reference and is idempotent on stored log-probs', () => {
    const logp = row(floatArray('zero_shot.logp'), 0);
    expect(maxAbsDiff(logSoftmax(logp), logp)).toBeLessThan(2e-6);
    const logits = Float32Array.from([1, 2, 3, -Infinity]);
    const out = logSoftmax(logits);
    const lse = Math.log(Math.exp(1) + Math.exp(2) + Math.exp(3));
    expect(maxAbsDiff(out, [1 - lse, 2 - lse, 3 - lse, -Infinity])).toBeLessThan(1e-6);
  });

  it('stable descending order on ties, top-k cap and the "check before adding" rule', () => {
    // four equal probabilities 0.25: cum 0.25, 0.5, 0.75 < 0.8 → the 4th is added (crossing item kept)
    const tie = nucleusCandidates([0, 0, 0, 0], 0.8, 25);
    expect(Array.from(tie.ids)).toEqual([0, 1, 2, 3]);
    expect(tie.cum).toBe(1);
    const capped = nucleusCandidates([1, 3, 3, 2, 3], 0.99, 2);
    expect(Array.from(capped.ids)).toEqual([1, 2]);
    expect(nucleusCandidates([10, 0, 0], 0.5, 25).count).toBe(1);
  });

  it('drawIndex inverts the CDF and never picks zero weights', () => {
    expect(drawIndex([0, 1, 0, 1, 0], 0)).toBe(1);
    expect(drawIndex([0, 1, 0, 1, 0], 0.4999)).toBe(1);
    expect(drawIndex([0, 1, 0, 1, 0], 0.5)).toBe(3);
    expect(drawIndex([0, 1, 0, 1, 0], 1 - 2 ** -53)).toBe(3);
    expect(() => drawIndex([1], 1)).toThrow(TTSError);
    expect(() => drawIndex([0, 0], 0.5)).toThrow(/no positive/);
  });

  it("eosRule 'reject' redraws while the id is ≥ V and fails after 100 redraws", () => {
    const scores = new Float32Array(TINY.speechTokenSize + 3).fill(-20);
    scores[TINY.eosId] = 1; // EOS ≈ 73 % of the mass
    scores[5] = 0;
    const rng = new Xoshiro128(3);
    let maxTrials = 0;
    for (let k = 0; k < 50; k++) {
      const r = sampleRasDetailed(scores, [], { ...base, ignoreEos: true, eosRule: 'reject' }, rng);
      expect(r.token).toBe(5);
      expect(r.uniforms).toBe(r.trials);
      maxTrials = Math.max(maxTrials, r.trials);
    }
    expect(maxTrials).toBeGreaterThan(1);
    // without ignoreEos, EOS is returned as drawn
    expect(sampleRas(scores, [], { ...base, eosRule: 'reject' }, new ScriptedUniforms([0]))).toBe(TINY.eosId);
    const onlyEos = new Float32Array(TINY.speechTokenSize + 3).fill(-Infinity);
    onlyEos[TINY.eosId] = 0;
    expect(() => sampleRas(onlyEos, [], { ...base, ignoreEos: true, eosRule: 'reject' }, rng)).toThrow(/101 times/);
    // 'mask' forbids EOS outright
    expect(sampleRas(scores, [], { ...base, ignoreEos: true }, rng)).toBe(5);
  });

  it('rejects bad options and non-finite scores with TTSError codes', () => {
    const rng = new Xoshiro128(1);
    const scores = [0, 1, 2, 3];
    expect(() => nucleusCandidates(scores, 0, 25)).toThrow(TTSError);
    expect(() => nucleusCandidates(scores, 0.8, 0)).toThrow(TTSError);
    expect(() => sampleRas(scores, [], { ...base, eosId: 2, winSize: 0 }, rng)).toThrow(/winSize/);
    expect(() => sampleRas(scores, [], { ...base, eosId: 9, ignoreEos: true }, rng)).toThrow(/eosId/);
    expect(() => softmax([0, NaN])).toThrow(expect.objectContaining({ code: 'ERR_INFERENCE' }) as Error);
    expect(() => softmax([-Infinity, -Infinity])).toThrow(expect.objectContaining({ code: 'ERR_INFERENCE' }) as Error);
    expect(() =>
      sampleRas(scores, [], { ...base, eosId: 2, variant: 'nope' as RasVariant }, new ScriptedUniforms([0, 0])),
    ).not.toThrow(); // no fallback fired, the variant is never consulted
    expect(() => rasFallbackProbs(scores, 1, 'nope' as RasVariant)).toThrow(/current, dec2024/);
  });
});

describe('report', () => {
  it('max errors observed', () => {
    console.log(
      `[lm sampler] max |Δ| nucleus_probs ${worst.probs.toExponential(2)}, nucleus_cum ${worst.cum.toExponential(2)}, ` +
        `ras_fallback_probs ${worst.fallback.toExponential(2)}, scores_in ${worst.scores.toExponential(2)}`,
    );
    expect(worst.probs).toBeLessThanOrEqual(TOL_PROB);
  });
});
