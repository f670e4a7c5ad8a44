/**
 * LM input layout (spec §4.2) and length bounds (§4.3) against the upstream vectors: lengths L (the stored lm_input's),
 * min/max_len, row provenance, and row equality of the stored `lm_input` tensors with the bistream call log's rows
 * wherever the same (kind, id) occurs (pure table lookups, so equality is exact).
 */
import { describe, expect, it } from 'vitest';

import { TTSError } from '../../../src/errors.ts';
import type { ModelConstants } from '../../../src/loader/manifest.ts';
import type { BistreamConfig } from '../../../src/models/lm/bistream.ts';
import type { LmTokenConfig } from '../../../src/models/lm/decode-loop.ts';
import type { RasConfig } from '../../../src/models/lm/sampler.ts';
import type { EmbedSpecialRows, LmLayoutConfig, LmRequest } from '../../../src/models/lm/sequence.ts';
import { buildLmInput, flattenSegments, lengthBounds, rowCount, toEmbedRuns } from '../../../src/models/lm/sequence.ts';
import type { Mode } from './vectors.ts';
import { END_OF_PROMPT_ID, floatArray, intArray, MODES, row, TINY } from './vectors.ts';

const KIND_CODE = { sos: 0, task: 1, text: 2, speech: 3 } as const;

function request(mode: Mode): LmRequest {
  const textIds = intArray(`${mode}.text`);
  const promptTextIds = intArray(`${mode}.prompt_text`);
  if (mode === 'zero_shot') {
    return { mode: 'zero-shot', textIds, promptTextIds, promptSpeechIds: intArray(`${mode}.prompt_speech_token`) };
  }
  if (mode === 'instruct2') return { mode: 'instruct2', textIds, instructionIds: promptTextIds };
  return { mode: 'cross-lingual', textIds };
}

describe('LM input layout vs upstream vectors', () => {
  it.each(MODES)('%s: rows [SOS, prompt text, text, TASK, prompt speech], L and min/max_len', (mode) => {
    const input = buildLmInput(request(mode), { ...TINY, endOfPromptId: END_OF_PROMPT_ID });
    const lmInput = floatArray(`${mode}.lm_input`);
    expect(input.rowCount).toBe(lmInput.shape[1]);
    expect(rowCount(input.segments)).toBe(input.rowCount);
    expect(input.minLen).toBe(intArray(`${mode}.min_len`)[0]);
    expect(input.maxLen).toBe(intArray(`${mode}.max_len`)[0]);
    expect(input.textCount).toBe(intArray(`${mode}.text`).length);
    const expectedRows = [
      { kind: 'sos', id: -1 },
      ...intArray(`${mode}.prompt_text`).map((id) => ({ kind: 'text', id })),
      ...intArray(`${mode}.text`).map((id) => ({ kind: 'text', id })),
      { kind: 'task', id: -1 },
      ...intArray(`${mode}.prompt_speech_token`).map((id) => ({ kind: 'speech', id })),
    ];
    expect(flattenSegments(input.segments)).toEqual(expectedRows);
  });

  it('stored lm_input rows equal the bistream call rows with the same (kind, id); distinct keys differ', () => {
    // Key → embedding row, collected from the bistream call log (kinds/ids recorded upstream) and from our layout of
    // every unistream lm_input. A misplaced row would map one key to two vectors or two keys to one vector.
    const table = new Map<string, Float32Array>();
    let sharedChecks = 0;
    const add = (key: string, vec: Float32Array, where: string): void => {
      const known = table.get(key);
      if (known === undefined) table.set(key, vec);
      else {
        sharedChecks++;
        expect(Array.from(vec), `${where} ${key}`).toEqual(Array.from(known));
      }
    };
    const callInput = floatArray('bistream.call_input');
    const kinds = intArray('bistream.call_row_kind');
    const ids = intArray('bistream.call_row_id');
    kinds.forEach((k, r) => {
      add(`${k}:${ids[r] ?? -1}`, row(callInput, r), `bistream row ${r}`);
    });
    for (const mode of MODES) {
      const lmInput = floatArray(`${mode}.lm_input`);
      const rows = flattenSegments(buildLmInput(request(mode), TINY).segments);
      rows.forEach((r, i) => {
        add(`${KIND_CODE[r.kind]}:${r.id}`, row(lmInput, i), `${mode} row ${i}`);
      });
    }
    // SOS and TASK of all three modes plus zero-shot's prompt speech token 161 are shared with the bistream log.
    expect(sharedChecks).toBeGreaterThanOrEqual(3 * 2 + 1);
    const seen = new Map<string, string>();
    for (const [key, vec] of table) {
      const sig = Array.from(vec).join(',');
      expect(seen.get(sig), `${key} duplicates another row`).toBeUndefined();
      seen.set(sig, key);
    }
  });

  it('sft has the cross-lingual layout; empty runs are omitted', () => {
    const sft = buildLmInput({ mode: 'sft', textIds: [1, 2, 3] }, TINY);
    const xl = buildLmInput({ mode: 'cross-lingual', textIds: [1, 2, 3] }, TINY);
    expect(sft).toEqual(xl);
    expect(sft.segments.map((s) => s.kind)).toEqual(['sos', 'text', 'task']);
    const empty = buildLmInput({ mode: 'zero-shot', textIds: [], promptTextIds: [], promptSpeechIds: [] }, TINY);
    expect(empty.segments.map((s) => s.kind)).toEqual(['sos', 'task']);
    expect([empty.minLen, empty.maxLen]).toEqual([0, 0]);
  });

  it('length bounds use the target text only and truncate like int()', () => {
    expect(lengthBounds(7, TINY)).toEqual({ minLen: 14, maxLen: 140 });
    expect(lengthBounds(80, { minTokenTextRatio: 2, maxTokenTextRatio: 20 })).toEqual({ minLen: 160, maxLen: 1600 });
    expect(lengthBounds(3, { minTokenTextRatio: 1.5, maxTokenTextRatio: 2.9 })).toEqual({ minLen: 4, maxLen: 8 });
    expect(() => lengthBounds(-1, TINY)).toThrow(TTSError);
    const zs = buildLmInput(
      { mode: 'zero-shot', textIds: [1, 2], promptTextIds: [3, 4, 5, 6], promptSpeechIds: [7, 8, 9] },
      TINY,
    );
    expect([zs.minLen, zs.maxLen]).toEqual([4, 40]);
  });

  it('maps segments to the fewest embed_text / embed_speech runs (SOS = V+3, TASK_ID = V+4)', () => {
    const input = buildLmInput(request('zero_shot'), TINY);
    const special: EmbedSpecialRows = TINY;
    const runs = toEmbedRuns(input.segments, special);
    expect(runs.map((r) => [r.graph, Array.from(r.ids)])).toEqual([
      ['embed_speech', [TINY.speechTokenSize + 3]],
      ['embed_text', [...intArray('zero_shot.prompt_text'), ...intArray('zero_shot.text')]],
      ['embed_speech', [TINY.speechTokenSize + 4, ...intArray('zero_shot.prompt_speech_token')]],
    ]);
    const rows = runs.reduce((n, r) => n + r.ids.length, 0);
    expect(rows).toBe(input.rowCount);
    expect(toEmbedRuns([{ kind: 'speech', ids: [5] }], special).map((r) => r.graph)).toEqual(['embed_speech']);
  });

  it('validates ids, modes and the instruct2 terminator', () => {
    expect(() => buildLmInput({ mode: 'sft', textIds: [1, -2] }, TINY)).toThrow(/textIds\[1\]/);
    expect(() => buildLmInput({ mode: 'sft', textIds: [1, 2.5] }, TINY)).toThrow(TTSError);
    expect(() => buildLmInput({ mode: 'sft', textIds: [TINY.textVocabSize] }, TINY)).toThrow(
      `[0, ${TINY.textVocabSize})`,
    );
    expect(() =>
      buildLmInput({ mode: 'zero-shot', textIds: [1], promptTextIds: [], promptSpeechIds: [TINY.eosId] }, TINY),
    ).toThrow(/promptSpeechIds/);
    expect(() =>
      buildLmInput(
        { mode: 'instruct2', textIds: [1], instructionIds: [5, END_OF_PROMPT_ID + 1] },
        { ...TINY, endOfPromptId: END_OF_PROMPT_ID },
      ),
    ).toThrow(/endofprompt/);
    expect(() => buildLmInput({ mode: 'vc', textIds: [1] } as unknown as LmRequest, TINY)).toThrow(/zero-shot/);
  });

  it('accepts the manifest constants structurally (compile-time check)', () => {
    const adapt = (c: ModelConstants) => {
      const layout: LmLayoutConfig = { ...c.llm, ...c.sampling };
      const tokens: LmTokenConfig = c.llm;
      const bistream: BistreamConfig = c.llm;
      const rows: EmbedSpecialRows = c.llm;
      const ras: RasConfig = c.sampling;
      return [layout, tokens, bistream, rows, ras];
    };
    expect(typeof adapt).toBe('function');
  });
});
