/**
 * Unistream decode loop with fake LM steps: the teacher-forced upstream runs (llm.npz: rows fed per step, positions,
 * ignore_eos flags, logp), min/max length, stop ids, abort, callbacks, seed determinism; and the bistream driver's
 * abort / iterator handling.
 */
import { describe, expect, it } from 'vitest';

import { isAbortError, TTSError } from '../../../src/errors.ts';
import type { LmStepFn, LmStepRecord, TokenSampler } from '../../../src/models/lm/decode-loop.ts';
import { createRasSampler, decodeBistream, decodeUnistream } from '../../../src/models/lm/decode-loop.ts';
import { Xoshiro128 } from '../../../src/models/lm/rng.ts';
import { maskEos, nucleusCandidates } from '../../../src/models/lm/sampler.ts';
import type { LmRequest } from '../../../src/models/lm/sequence.ts';
import { buildLmInput, flattenSegments } from '../../../src/models/lm/sequence.ts';
import { maxAbsDiff } from '../../helpers/npz.ts';
import type { Mode } from './vectors.ts';
import { floatArray, intArray, MODES, row, TINY } from './vectors.ts';

const V3 = TINY.speechTokenSize + 3;

function request(mode: Mode): LmRequest {
  const textIds = intArray(`${mode}.text`);
  const promptTextIds = intArray(`${mode}.prompt_text`);
  if (mode === 'zero_shot') {
    return { mode: 'zero-shot', textIds, promptTextIds, promptSpeechIds: intArray(`${mode}.prompt_speech_token`) };
  }
  if (mode === 'instruct2') return { mode: 'instruct2', textIds, instructionIds: promptTextIds };
  return { mode: 'cross-lingual', textIds };
}

describe.each(MODES)('unistream teacher-forced replay: %s', (mode) => {
  it('feeds the prefix then each forced token at L−1+i, with ignore_eos = i < min_len', async () => {
    const input = buildLmInput(request(mode), TINY);
    const logp = floatArray(`${mode}.logp`);
    const forced = intArray(`${mode}.forced`);
    const counts = intArray(`${mode}.nucleus_count`);
    const records: LmStepRecord[] = [];
    const flags: boolean[] = [];
    let logpErr = 0;
    const step: LmStepFn = (_segments, position) => row(logp, position === 0 ? 0 : position - input.rowCount + 1);
    const sampler: TokenSampler = (lp, history, ignoreEos) => {
      const i = history.length;
      expect(history).toEqual(forced.slice(0, i));
      logpErr = Math.max(logpErr, maxAbsDiff(lp, row(logp, i)));
      // the production filter on the loop's log-probs gives the recorded nucleus size
      expect(nucleusCandidates(maskEos(lp, TINY.eosId, ignoreEos), TINY.topP, TINY.topK).count).toBe(counts[i]);
      flags.push(ignoreEos);
      return forced[i] ?? -1;
    };
    const emitted: number[] = [];
    // upstream closed the generator after the forced tokens: cap the loop there
    const result = await decodeUnistream({ ...input, maxLen: forced.length }, step, {
      tokens: TINY,
      sampler,
      onStep: (r) => records.push(r),
      onToken: (t, i) => emitted.push(t, i),
    });
    expect(Array.from(result.tokens)).toEqual(intArray(`${mode}.emitted`));
    expect(result.stopReason).toBe('max-length');
    expect(result.calls).toBe(forced.length);
    expect(emitted).toEqual(forced.flatMap((t, i) => [t, i]));
    expect(flags.map((f) => (f ? 1 : 0))).toEqual(intArray(`${mode}.ignore_eos`));
    expect(records.map((r) => r.position)).toEqual(forced.map((_, i) => (i === 0 ? 0 : input.rowCount + i - 1)));
    expect(records[0]?.segments).toBe(input.segments);
    records.slice(1).forEach((r, k) => {
      expect(flattenSegments(r.segments)).toEqual([{ kind: 'speech', id: forced[k] }]);
    });
    expect(logpErr).toBeLessThan(2e-6);
  });
});

/** Fake LM: logits favour `favourite(position)`, with EOS given `eosLogit`. */
function fakeStep(eosLogit: number, favourite = (p: number) => p % 250): { step: LmStepFn; calls: number[] } {
  const calls: number[] = [];
  const step: LmStepFn = (_segments, position) => {
    calls.push(position);
    const logits = new Float32Array(V3).fill(-5);
    for (let k = 0; k < 40; k++) logits[(favourite(position) + k * 7) % TINY.speechTokenSize] = 2 - k * 0.05;
    logits[TINY.eosId] = eosLogit;
    logits[TINY.eosId + 1] = -50; // keep the other stop ids out of reach of the RAS fallback
    logits[TINY.fillId] = -50;
    return Promise.resolve(logits);
  };
  return { step, calls };
}

describe('unistream decode loop rules', () => {
  const input = buildLmInput({ mode: 'cross-lingual', textIds: [1, 2, 3] }, TINY); // min 6, max 60

  it('masks EOS for the first min_len steps, then stops on EOS (not emitted)', async () => {
    const { step } = fakeStep(30); // EOS dominates whenever allowed
    const result = await decodeUnistream(input, step, {
      tokens: TINY,
      sampler: createRasSampler(TINY, new Xoshiro128(1)),
    });
    expect(result.tokens.length).toBe(input.minLen);
    expect(result.stopReason).toBe('stop-token');
    expect(result.stopToken).toBe(TINY.eosId);
    expect(result.calls).toBe(input.minLen + 1);
    expect(Array.from(result.tokens).every((t) => t < TINY.speechTokenSize)).toBe(true);
  });

  it('stops after max_len steps when no stop id is drawn', async () => {
    const { step, calls } = fakeStep(-50);
    const result = await decodeUnistream(input, step, {
      tokens: TINY,
      sampler: createRasSampler(TINY, new Xoshiro128(2)),
    });
    expect(result.tokens.length).toBe(input.maxLen);
    expect(result.stopReason).toBe('max-length');
    expect(calls).toEqual(Array.from({ length: input.maxLen }, (_, i) => (i === 0 ? 0 : input.rowCount + i - 1)));
  });

  it.each([TINY.eosId, TINY.eosId + 1, TINY.fillId])('stop id %i ends decoding', async (stop) => {
    const { step } = fakeStep(0);
    const script = [5, 6, stop, 7];
    const result = await decodeUnistream(input, step, { tokens: TINY, sampler: () => script.shift() ?? -1 });
    expect(Array.from(result.tokens)).toEqual([5, 6]);
    expect(result.stopToken).toBe(stop);
  });

  it('same seed → same tokens; another seed → different tokens; both RAS variants run', async () => {
    const run = async (seed: number, variant: 'current' | 'dec2024' = 'current') => {
      const { step } = fakeStep(-50, () => 0); // the same peaky distribution at every step
      const r = await decodeUnistream(input, step, {
        tokens: TINY,
        sampler: createRasSampler(TINY, new Xoshiro128(seed), { variant }),
      });
      return Array.from(r.tokens);
    };
    const a = await run(11);
    expect(await run(11)).toEqual(a);
    expect(await run(12)).not.toEqual(a);
    expect(a.length).toBe(input.maxLen);
    expect((await run(11, 'dec2024')).length).toBe(input.maxLen);
  });

  it('aborts between steps with the signal reason', async () => {
    const controller = new AbortController();
    const { step, calls } = fakeStep(-50);
    const promise = decodeUnistream(input, step, {
      tokens: TINY,
      sampler: createRasSampler(TINY, new Xoshiro128(3)),
      signal: controller.signal,
      onToken: (_t, i) => {
        if (i === 2) controller.abort();
      },
    });
    await expect(promise).rejects.toSatisfy(isAbortError);
    expect(calls.length).toBe(3);
  });

  it('rejects logits of the wrong length, NaN logits and out-of-range sampler output', async () => {
    const short: LmStepFn = () => new Float32Array(10);
    await expect(decodeUnistream(input, short, { tokens: TINY, sampler: () => 0 })).rejects.toMatchObject({
      code: 'ERR_INFERENCE',
    });
    const nan: LmStepFn = () => new Float32Array(V3).fill(Number.NaN);
    await expect(decodeUnistream(input, nan, { tokens: TINY, sampler: () => 0 })).rejects.toMatchObject({
      code: 'ERR_INFERENCE',
    });
    const { step } = fakeStep(0);
    await expect(decodeUnistream(input, step, { tokens: TINY, sampler: () => V3 })).rejects.toBeInstanceOf(TTSError);
  });
});

describe('bistream driver', () => {
  const prompt = { promptTextIds: [], promptSpeechIds: [] };

  it('decodes with the RAS sampler: FILL forced every 16 decisions, EOS only in the final phase', async () => {
    const { step } = fakeStep(30); // EOS would win whenever allowed
    const text = [[1, 2, 3, 4, 5], [6, 7, 8, 9, 10], [11]];
    const records: LmStepRecord[] = [];
    const result = await decodeBistream(text, prompt, step, {
      tokens: TINY,
      sampler: createRasSampler(TINY, new Xoshiro128(5)),
      onStep: (r) => records.push(r),
    });
    const out = Array.from(result.outTokens);
    expect(out.filter((t) => t === TINY.fillId).length).toBe(2);
    expect(out.indexOf(TINY.fillId)).toBe(15);
    expect(out.lastIndexOf(TINY.fillId)).toBe(31);
    expect(out.at(-1)).toBe(TINY.eosId);
    expect(out.slice(0, -1).includes(TINY.eosId)).toBe(false);
    expect(result.tokens.length).toBe(30);
    expect(records.at(-1)?.phase).toBe('final');
  });

  it('maxFinalSteps caps the final phase', async () => {
    const { step } = fakeStep(-50); // EOS never drawn
    const result = await decodeBistream([[1, 2]], prompt, step, {
      tokens: TINY,
      sampler: createRasSampler(TINY, new Xoshiro128(6)),
      maxFinalSteps: 4,
    });
    expect(result.stopReason).toBe('max-length');
    expect(result.tokens.length).toBe(4);
    expect(result.stopToken).toBeUndefined();
  });

  it('aborts while waiting for text and closes the text iterator', async () => {
    let closed = false;
    let release: () => void = () => undefined;
    const never = new Promise<void>((resolve) => {
      release = resolve;
    });
    async function* slowText(): AsyncGenerator<number[]> {
      try {
        yield [1, 2, 3, 4, 5];
        await never;
        yield [6];
      } finally {
        closed = true;
      }
    }
    const controller = new AbortController();
    const { step } = fakeStep(-50);
    let tokens = 0;
    const promise = decodeBistream(slowText(), prompt, step, {
      tokens: TINY,
      sampler: createRasSampler(TINY, new Xoshiro128(8)),
      signal: controller.signal,
      onToken: () => tokens++,
    });
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(tokens).toBe(15); // first burst done (FILL forced), now waiting for text
    controller.abort();
    await expect(promise).rejects.toSatisfy(isAbortError);
    release();
    await new Promise((resolve) => setTimeout(resolve, 0));
    expect(closed).toBe(true);
  });

  it('propagates errors of the text source and of the step', async () => {
    function* failing(): Generator<number[]> {
      yield [1];
      throw new Error('tokenizer failed');
    }
    const { step } = fakeStep(0);
    await expect(decodeBistream(failing(), prompt, step, { tokens: TINY, sampler: () => 0 })).rejects.toThrow(
      'tokenizer failed',
    );
    await expect(
      decodeBistream([[1, 2, 3, 4, 5]], prompt, () => Promise.reject(new Error('ort failed')), {
        tokens: TINY,
        sampler: () => 0,
      }),
    ).rejects.toThrow('ort failed');
    await expect(
      decodeBistream([], prompt, step, { tokens: TINY, sampler: () => 0, maxFinalSteps: -1 }),
    ).rejects.toBeInstanceOf(TTSError);
  });
});
