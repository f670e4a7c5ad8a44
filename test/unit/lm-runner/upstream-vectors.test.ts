/**
 * The ORT LM runner against the upstream test vectors (`../shared/data/upstream-vectors/llm.npz`, README section
 * "LLM"), on the upstream-vector checkpoint exported fp32 by test/global-setup.ts (`build/upstream-package`):
 * - teacher-forced per-step log-probs of the three unistream modes (prefill + KV-cached steps) ≤ 5e-5;
 * - the sampler's candidate sets computed from *our* log-probs: nucleus ids and counts exact;
 * - bistream: replaying `sampler_returns` reproduces the call sequence (rows, positions, forced FILLs, EOS flags,
 *   out_tokens) exactly and `call_logp` ≤ 5e-5.
 * Ids index the set's tiny text vocabulary (config.json `llm.model.text_vocab`): they are fed directly, no tokenizer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import type { LmStepRecord } from '../../../src/models/lm/decode-loop.ts';
import { maskEos, nucleusCandidates } from '../../../src/models/lm/sampler.ts';
import type { LmRequest } from '../../../src/models/lm/sequence.ts';
import { flattenSegments, rowCount } from '../../../src/models/lm/sequence.ts';
import { SpeechLm } from '../../../src/models/lm/speech-lm.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import type { NpyArray } from '../../helpers/npz.ts';
import { floats, ints, maxAbsDiff, need, readNpz } from '../../helpers/npz.ts';
import { openPackageDir, UPSTREAM_PACKAGE, UPSTREAM_VECTORS } from '../../helpers/package.ts';

const LOGP_TOL = 5e-5;
const KIND_CODE = { sos: 0, task: 1, text: 2, speech: 3 } as const;

let npz: Map<string, NpyArray>;
let lm: SpeechLm;

const intsOf = (name: string): number[] => ints(need(npz, name));
function rows(name: string): Float32Array[] {
  const a = need(npz, name);
  const width = a.shape.at(-1) ?? 0;
  const data = floats(a);
  return Array.from({ length: data.length / width }, (_, r) => data.subarray(r * width, (r + 1) * width));
}

beforeAll(async () => {
  npz = readNpz(`${UPSTREAM_VECTORS}/llm.npz`);
  const pkg = await openPackageDir(UPSTREAM_PACKAGE);
  lm = await SpeechLm.create(pkg, await loadOrt('wasm'), { device: 'wasm', dtype: 'fp32' });
});

afterAll(async () => {
  await lm.dispose();
});

function request(mode: 'zero_shot' | 'cross_lingual' | 'instruct2'): LmRequest {
  const textIds = intsOf(`${mode}.text`);
  if (mode === 'zero_shot') {
    return {
      mode: 'zero-shot',
      textIds,
      promptTextIds: intsOf('zero_shot.prompt_text'),
      promptSpeechIds: intsOf('zero_shot.prompt_speech_token'),
    };
  }
  if (mode === 'instruct2') return { mode: 'instruct2', textIds, instructionIds: intsOf('instruct2.prompt_text') };
  return { mode: 'cross-lingual', textIds };
}

describe('unistream teacher forcing vs upstream Qwen2LM', () => {
  it.each(['zero_shot', 'cross_lingual', 'instruct2'] as const)('%s: logp, EOS flags, nucleus sets', async (mode) => {
    const forced = intsOf(`${mode}.forced`);
    const records: LmStepRecord[] = [];
    const result = await lm.generate(request(mode), {
      sampler: (_logp, history) => forced[history.length] ?? -1,
      onStep: (r) => records.push(r),
      maxTokens: forced.length,
    });
    expect(Array.from(result.tokens)).toEqual(intsOf(`${mode}.emitted`));
    expect(result.stopReason).toBe('max-length');
    expect(lm.cachedRows).toBe(0); // the cache is freed after the request
    const want = rows(`${mode}.logp`);
    expect(records).toHaveLength(want.length);
    // prefill over the whole lm_input, then one row per step at consecutive positions
    const prefill = need(npz, `${mode}.lm_input`).shape[1] ?? 0;
    expect(records.map((r) => [r.position, rowCount(r.segments)])).toEqual(
      records.map((_, i) => (i === 0 ? [0, prefill] : [prefill + i - 1, 1])),
    );
    let err = 0;
    records.forEach((r, i) => {
      err = Math.max(err, maxAbsDiff(r.logp, want[i] ?? new Float32Array(0)));
    });
    console.log(`upstream ${mode}: max |logp − upstream| over ${records.length} steps = ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(LOGP_TOL);
    // EOS flags and the candidate sets from our own log-probs
    const ignoreEos = intsOf(`${mode}.ignore_eos`);
    const nucleusIds = need(npz, `${mode}.nucleus_ids`);
    const width = nucleusIds.shape[1] ?? 0;
    const allIds = ints(nucleusIds);
    const probs = rows(`${mode}.nucleus_probs`);
    const cums = floats(need(npz, `${mode}.nucleus_cum`));
    const counts = intsOf(`${mode}.nucleus_count`);
    const c = lm.config;
    let probErr = 0;
    records.forEach((r, i) => {
      expect(r.ignoreEos).toBe(ignoreEos[i] === 1);
      const set = nucleusCandidates(maskEos(r.logp, c.eosId, r.ignoreEos), c.topP, c.topK);
      const expected = allIds.slice(i * width, (i + 1) * width).filter((id) => id >= 0);
      expect(set.count).toBe(counts[i]);
      expect(Array.from(set.ids)).toEqual(expected);
      probErr = Math.max(
        probErr,
        maxAbsDiff(set.probs, (probs[i] ?? new Float32Array(0)).subarray(0, set.count)),
        Math.abs(set.cum - (cums[i] ?? NaN)),
      );
    });
    console.log(`upstream ${mode}: max |nucleus probs/cum − upstream| = ${probErr.toExponential(2)}`);
    expect(probErr).toBeLessThanOrEqual(1e-5);
  });
});

describe('bistream replay vs upstream inference_bistream', () => {
  it('reproduces the call sequence and call_logp', async () => {
    const text = intsOf('bistream.text');
    const pieces: number[][] = [];
    let at = 0;
    for (const n of intsOf('bistream.text_piece_len')) {
      pieces.push(text.slice(at, at + n));
      at += n;
    }
    async function* source(): AsyncGenerator<number[]> {
      for (const p of pieces) {
        await Promise.resolve();
        yield p;
      }
    }
    const returns = intsOf('bistream.sampler_returns');
    let next = 0;
    const records: LmStepRecord[] = [];
    const result = await lm.generateBistream(
      source(),
      { promptTextIds: intsOf('bistream.prompt_text'), promptSpeechIds: intsOf('bistream.prompt_speech_token') },
      { sampler: () => returns[next++] ?? -1, onStep: (r) => records.push(r) },
    );
    expect(next).toBe(returns.length);
    expect(Array.from(result.outTokens)).toEqual(intsOf('bistream.out_tokens'));
    expect(Array.from(result.tokens)).toEqual(intsOf('bistream.emitted'));
    expect(records.map((r) => r.position)).toEqual(intsOf('bistream.call_past_len'));
    expect(records.map((r) => (r.sampled ? 1 : 0))).toEqual(intsOf('bistream.call_sampled'));
    expect(records.map((r) => (r.sampled && r.ignoreEos ? 1 : 0))).toEqual(intsOf('bistream.call_ignore_eos'));
    const fed = records.flatMap((r) => flattenSegments(r.segments));
    expect(fed.map((r) => KIND_CODE[r.kind])).toEqual(intsOf('bistream.call_row_kind'));
    expect(fed.map((r) => r.id)).toEqual(intsOf('bistream.call_row_id'));
    const want = rows('bistream.call_logp');
    let err = 0;
    records.forEach((r, i) => {
      err = Math.max(err, maxAbsDiff(r.logp, want[i] ?? new Float32Array(0)));
    });
    console.log(`upstream bistream: max |call_logp − upstream| over ${records.length} calls = ${err.toExponential(2)}`);
    expect(err).toBeLessThanOrEqual(LOGP_TOL);
  });
});
