/**
 * Input-sequence layout of the speech-token LM (spec §4.2) and its length bounds (§4.3), as lists of embedding
 * segments. Pure: no tensors; the runner turns segments into rows with the `embed_text` / `embed_speech` graphs
 * (docs/model-package.md), see {@link toEmbedRuns}.
 */

import { invalidInput } from '../../errors.ts';
import { checkIds } from '../../runtime/tensors.ts';

/** Where a run of LM input rows comes from. */
export const LM_SEGMENT_KINDS = ['sos', 'task', 'text', 'speech'] as const;

/** One of {@link LM_SEGMENT_KINDS}. */
export type LmSegmentKind = (typeof LM_SEGMENT_KINDS)[number];

/**
 * A run of LM input rows of one kind. `sos` / `task` are exactly one row (`llm_embedding` row 0 / 1) and carry no
 * ids; `text` rows are Qwen `embed_tokens[id]`; `speech` rows are `speech_embedding[id]` (ids 0 … V+2).
 */
export type LmSegment =
  | { readonly kind: 'sos' }
  | { readonly kind: 'task' }
  | { readonly kind: 'text'; readonly ids: readonly number[] }
  | { readonly kind: 'speech'; readonly ids: readonly number[] };

/** The single SOS row. */
export const SOS_SEGMENT: LmSegment = Object.freeze({ kind: 'sos' });
/** The single TASK_ID row. */
export const TASK_SEGMENT: LmSegment = Object.freeze({ kind: 'task' });

/** Number of rows a segment stands for. */
export function segmentLength(segment: LmSegment): number {
  return segment.kind === 'sos' || segment.kind === 'task' ? 1 : segment.ids.length;
}

/** Total rows of a segment list. */
export function rowCount(segments: readonly LmSegment[]): number {
  let n = 0;
  for (const s of segments) n += segmentLength(s);
  return n;
}

/** One input row as `(kind, id)`; `id` is −1 for SOS / TASK_ID (the codes of the upstream call logs). */
export interface LmRow {
  /** Row source. */
  readonly kind: LmSegmentKind;
  /** Text or speech id; −1 for SOS / TASK_ID. */
  readonly id: number;
}

/** The rows of a segment list, one entry per row, in order. */
export function flattenSegments(segments: readonly LmSegment[]): LmRow[] {
  const rows: LmRow[] = [];
  for (const s of segments) {
    if (s.kind === 'sos' || s.kind === 'task') rows.push({ kind: s.kind, id: -1 });
    else for (const id of s.ids) rows.push({ kind: s.kind, id });
  }
  return rows;
}

/** Synthesis modes that run the LM (VC skips it). */
export const LM_MODES = ['zero-shot', 'cross-lingual', 'instruct2', 'sft'] as const;

/** One of {@link LM_MODES}. */
export type LmMode = (typeof LM_MODES)[number];

/**
 * What one unistream request feeds the LM (spec §1.2). Only `textIds` (the target text) sets the length bounds.
 *
 * - `zero-shot`: `[SOS, promptText, text, TASK, promptSpeech]`;
 * - `cross-lingual` and `sft`: `[SOS, text, TASK]`;
 * - `instruct2`: `[SOS, instruction…<|endofprompt|>, text, TASK]`.
 */
export type LmRequest =
  | {
      readonly mode: 'zero-shot';
      readonly textIds: readonly number[];
      /** Transcript of the prompt audio. */
      readonly promptTextIds: readonly number[];
      /** Speech tokens of the prompt audio. */
      readonly promptSpeechIds: readonly number[];
    }
  | { readonly mode: 'cross-lingual'; readonly textIds: readonly number[] }
  | { readonly mode: 'sft'; readonly textIds: readonly number[] }
  | {
      readonly mode: 'instruct2';
      readonly textIds: readonly number[];
      /** Instruction ids; must already end with `<|endofprompt|>` (upstream no longer appends it, spec §1.2). */
      readonly instructionIds: readonly number[];
    };

/**
 * Layout constants; structurally a subset of `ModelConstants['llm'] & ModelConstants['sampling']`.
 */
export interface LmLayoutConfig {
  /** V: speech tokens are ids 0 … V−1 (prompt speech ids must be in this range). */
  readonly speechTokenSize: number;
  /** Text vocabulary size; when given, text ids are range-checked. */
  readonly textVocabSize?: number;
  /** min_len = ⌊ratio × #text ids⌋. @defaultValue 2 upstream */
  readonly minTokenTextRatio: number;
  /** max_len = ⌊ratio × #text ids⌋. @defaultValue 20 upstream */
  readonly maxTokenTextRatio: number;
  /** When given, instruct2 requests must end with this text id (`<|endofprompt|>`, 151646 in the real vocabulary). */
  readonly endOfPromptId?: number;
}

/** A ready LM input: the prefill segments plus the unistream length rules. */
export interface LmInput {
  /** Prefill rows, in order (empty runs omitted). */
  readonly segments: readonly LmSegment[];
  /** L = number of prefill rows. */
  readonly rowCount: number;
  /** Number of target text ids (prompt text / instruction excluded). */
  readonly textCount: number;
  /** EOS is masked for decode steps i < minLen. */
  readonly minLen: number;
  /** At most maxLen decode steps. */
  readonly maxLen: number;
}

/** Length bounds of spec §4.3 (`int(n · ratio)`, n = target text ids only). */
export interface LengthBounds {
  /** EOS forbidden for steps i < minLen. */
  readonly minLen: number;
  /** Maximum number of decode steps. */
  readonly maxLen: number;
}

/**
 * `min_len = int(n · minRatio)`, `max_len = int(n · maxRatio)` with n = number of target text ids (spec §4.3).
 *
 * @throws {TTSError} ERR_INVALID_INPUT for a negative or non-integer count or negative ratios.
 */
export function lengthBounds(
  textCount: number,
  ratios: Pick<LmLayoutConfig, 'minTokenTextRatio' | 'maxTokenTextRatio'>,
): LengthBounds {
  if (!Number.isInteger(textCount) || textCount < 0) {
    throw invalidInput(`Text id count must be a non-negative integer, got ${textCount}.`);
  }
  const { minTokenTextRatio: lo, maxTokenTextRatio: hi } = ratios;
  if (!(lo >= 0) || !(hi >= 0) || !Number.isFinite(lo) || !Number.isFinite(hi)) {
    throw invalidInput(`Token/text ratios must be finite and non-negative, got ${lo} and ${hi}.`);
  }
  return { minLen: Math.trunc(textCount * lo), maxLen: Math.trunc(textCount * hi) };
}

/**
 * Builds the unistream LM input of one request (spec §4.2) and its length bounds (§4.3).
 *
 * @example
 * ```ts
 * const input = buildLmInput({ mode: 'cross-lingual', textIds: [897, 51, 868] }, { ...constants.llm, ...constants.sampling });
 * input.segments; // [{ kind: 'sos' }, { kind: 'text', ids: [897, 51, 868] }, { kind: 'task' }]
 * ```
 * @throws {TTSError} ERR_INVALID_INPUT for an unknown mode, ids that are not non-negative integers or are out of
 *   range, or an instruction that does not end with `endOfPromptId` (when configured).
 */
export function buildLmInput(request: LmRequest, config: LmLayoutConfig): LmInput {
  const textVocab = config.textVocabSize;
  checkIds(request.textIds, 'textIds', textVocab);
  let prefixText: readonly number[] = [];
  let promptSpeech: readonly number[] = [];
  switch (request.mode) {
    case 'zero-shot':
      checkIds(request.promptTextIds, 'promptTextIds', textVocab);
      checkIds(request.promptSpeechIds, 'promptSpeechIds', config.speechTokenSize);
      prefixText = request.promptTextIds;
      promptSpeech = request.promptSpeechIds;
      break;
    case 'instruct2': {
      checkIds(request.instructionIds, 'instructionIds', textVocab);
      const eop = config.endOfPromptId;
      if (eop !== undefined && request.instructionIds.at(-1) !== eop) {
        throw invalidInput(`instruct2: the instruction must end with <|endofprompt|> (text id ${eop}).`, {
          lastId: request.instructionIds.at(-1),
        });
      }
      prefixText = request.instructionIds;
      break;
    }
    case 'cross-lingual':
    case 'sft':
      break;
    default: {
      const mode: unknown = (request as { mode: unknown }).mode;
      throw invalidInput(`Unknown LM mode ${String(mode)}; expected one of ${LM_MODES.join(', ')}.`);
    }
  }
  const segments: LmSegment[] = [SOS_SEGMENT];
  const text = [...prefixText, ...request.textIds];
  if (text.length > 0) segments.push({ kind: 'text', ids: text });
  segments.push(TASK_SEGMENT);
  if (promptSpeech.length > 0) segments.push({ kind: 'speech', ids: [...promptSpeech] });
  const bounds = lengthBounds(request.textIds.length, config);
  return {
    segments,
    rowCount: rowCount(segments),
    textCount: request.textIds.length,
    minLen: bounds.minLen,
    maxLen: bounds.maxLen,
  };
}

/** Which embedding graph produces a run of rows. */
export type EmbedGraph = 'embed_text' | 'embed_speech';

/** Consecutive rows produced by one call of one embedding graph. */
export interface EmbedRun {
  /** `embed_text` (Qwen text table) or `embed_speech` (speech rows 0 … V+2, SOS = V+3, TASK_ID = V+4). */
  readonly graph: EmbedGraph;
  /** Ids to look up, in row order. */
  readonly ids: Int32Array;
}

/** The `embed_speech` ids of the two `llm_embedding` rows (docs/model-package.md: V+3 and V+4). */
export interface EmbedSpecialRows {
  /** `embed_speech` id of SOS (`llm_embedding[0]`), V+3. */
  readonly sosRow: number;
  /** `embed_speech` id of TASK_ID (`llm_embedding[1]`), V+4. */
  readonly taskIdRow: number;
}

/**
 * Maps segments to the fewest embedding-graph calls: SOS / TASK_ID / speech rows all come from `embed_speech`, so
 * adjacent ones merge (e.g. `[TASK, promptSpeech…]` is one run). Concatenating the runs' rows gives the LM input.
 */
export function toEmbedRuns(segments: readonly LmSegment[], rows: EmbedSpecialRows): EmbedRun[] {
  const runs: { graph: EmbedGraph; ids: number[] }[] = [];
  const append = (graph: EmbedGraph, ids: readonly number[]): void => {
    if (ids.length === 0) return;
    const last = runs.at(-1);
    if (last?.graph === graph) last.ids.push(...ids);
    else runs.push({ graph, ids: [...ids] });
  };
  for (const s of segments) {
    if (s.kind === 'sos') append('embed_speech', [rows.sosRow]);
    else if (s.kind === 'task') append('embed_speech', [rows.taskIdRow]);
    else append(s.kind === 'text' ? 'embed_text' : 'embed_speech', s.ids);
  }
  return runs.map((r) => ({ graph: r.graph, ids: Int32Array.from(r.ids) }));
}
