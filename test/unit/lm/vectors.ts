/**
 * Shared access to the upstream LLM test vectors (`../shared/data/upstream-vectors`, README section "LLM") for the
 * LM decoding-logic tests. The tiny Qwen2LM constants are read from `config.json` → `llm.model`, not hard-coded.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';

import type { NpyArray } from '../../helpers/npz.ts';
import { floats, ints, need, readNpz } from '../../helpers/npz.ts';
import { UPSTREAM_VECTORS } from '../../helpers/package.ts';

/** Directory of the vectors set (the upstream set unless `COSYVOICE_VECTORS_DIR` names another). */
export const VECTORS_DIR = UPSTREAM_VECTORS;

/** Unistream modes recorded in llm.npz. */
export const MODES = ['zero_shot', 'cross_lingual', 'instruct2'] as const;
export type Mode = (typeof MODES)[number];

interface LlmModelJson {
  speech_token_size: number;
  mix_ratio: [number, number];
  sampling: { top_p: number; top_k: number; win_size: number; tau_r: number };
  ids: { eos: number; unused_stop: number; fill: number; stop_token_ids: number[]; eop_stand_in_text_id: number };
  min_token_text_ratio: number;
  max_token_text_ratio: number;
  text_vocab: number;
}

const configJson = JSON.parse(readFileSync(join(VECTORS_DIR, 'config.json'), 'utf8')) as {
  llm: { model: LlmModelJson };
};
const m = configJson.llm.model;

/** The tiny model's constants in the shapes of `ModelConstants['llm']` / `['sampling']`. */
export const TINY = {
  speechTokenSize: m.speech_token_size,
  textVocabSize: m.text_vocab,
  eosId: m.ids.eos,
  fillId: m.ids.fill,
  stopIds: m.ids.stop_token_ids,
  sosRow: m.speech_token_size + 3,
  taskIdRow: m.speech_token_size + 4,
  mixRatio: m.mix_ratio,
  topP: m.sampling.top_p,
  topK: m.sampling.top_k,
  winSize: m.sampling.win_size,
  tauR: m.sampling.tau_r,
  minTokenTextRatio: m.min_token_text_ratio,
  maxTokenTextRatio: m.max_token_text_ratio,
} as const;

/** The text id that stands in for `<|endofprompt|>` in the set's instruct2 prompt (its last instruction id). */
export const END_OF_PROMPT_ID = m.ids.eop_stand_in_text_id;

let cached: Map<string, NpyArray> | undefined;

/** All arrays of llm.npz (read once per test file). */
export function llmNpz(): Map<string, NpyArray> {
  cached ??= readNpz(join(VECTORS_DIR, 'llm.npz'));
  return cached;
}

/** Integer array by name. */
export function intArray(name: string): number[] {
  return ints(need(llmNpz(), name));
}

/** Float array by name with its shape. */
export function floatArray(name: string): { data: Float32Array; shape: readonly number[] } {
  const a = need(llmNpz(), name);
  return { data: floats(a), shape: a.shape };
}

/** Row `r` of a 2-D float array (a view). */
export function row(a: { data: Float32Array; shape: readonly number[] }, r: number): Float32Array {
  const width = a.shape.at(-1) ?? 0;
  return a.data.subarray(r * width, (r + 1) * width);
}

/** Deterministic uniforms u_k = frac(k · φ⁻¹), k = 1, 2, … (identical in Python and JS). */
export class GoldenUniforms {
  count = 0;
  uniform(): number {
    this.count++;
    return (this.count * 0.6180339887498949) % 1;
  }
}

/** A uniform source replaying a fixed list (throws when exhausted). */
export class ScriptedUniforms {
  private i = 0;
  constructor(private readonly values: readonly number[]) {}
  uniform(): number {
    const v = this.values[this.i++];
    if (v === undefined) throw new Error('scripted uniforms exhausted');
    return v;
  }
}
