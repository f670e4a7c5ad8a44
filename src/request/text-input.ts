/**
 * From the user's text to LM-ready id segments: normalisation and splitting (spec §2.1, §2.3), the `<|…|>` bypass,
 * and the instruct-text rule (§1.2: the instruction is not normalised and must end with `<|endofprompt|>`).
 */
import { invalidInput } from '../errors.ts';
import type { CosyVoiceTokenizer } from '../text/index.ts';
import { normalizePromptText, normalizeText } from '../text/index.ts';

/** What a request speaks: a whole text, or a text stream (pieces arriving over time, e.g. from a chat model). */
export type TextInput = string | AsyncIterable<string> | Iterable<string>;

/** One independently synthesised piece of the input (spec §1.6). */
export interface TextSegment {
  readonly text: string;
  readonly ids: Int32Array;
}

/** Options of {@link prepareSegments}. */
export interface TextInputOptions {
  /** Run the text front-end (normalisation + splitting). @defaultValue true */
  readonly normalize?: boolean;
  /** Read numbers, dates, currency… (the ttsfrd/wetext stand-in). @defaultValue true */
  readonly readNumbers?: boolean;
}

/** The end-of-instruction tag (id 151646). */
export const END_OF_PROMPT = '<|endofprompt|>';

/** Longest input accepted in one call, in UTF-16 code units (≈ several minutes of speech). */
export const MAX_TEXT_LENGTH = 20_000;

/**
 * Normalises and splits `text` into segments with their token ids.
 *
 * @throws {TTSError} ERR_INVALID_INPUT when the text is not a string, is longer than {@link MAX_TEXT_LENGTH}, or
 *   nothing speakable remains after normalisation (empty, whitespace or punctuation only).
 */
export function prepareSegments(
  text: unknown,
  tokenizer: CosyVoiceTokenizer,
  options: TextInputOptions = {},
): TextSegment[] {
  if (typeof text !== 'string') throw invalidInput(`text must be a string, got ${typeof text}.`);
  if (text.length > MAX_TEXT_LENGTH) {
    throw invalidInput(
      `text is ${text.length} characters long; at most ${MAX_TEXT_LENGTH} are accepted per call. Split it, or use stream() with a text stream.`,
      { length: text.length, max: MAX_TEXT_LENGTH },
    );
  }
  const segments = normalizeText(text, {
    countTokens: (t) => tokenizer.countTokens(t),
    textFrontend: options.normalize ?? true,
    readNumbers: options.readNumbers ?? true,
  });
  const out = segments
    .map((segment) => ({ text: segment, ids: tokenizer.encode(segment) }))
    .filter((segment) => segment.ids.length > 0);
  if (out.length === 0) {
    throw invalidInput(`text has nothing to speak after normalisation: ${JSON.stringify(text.slice(0, 80))}.`);
  }
  return out;
}

/** Token ids of a prompt transcript (normalised without splitting, spec §2.1). */
export function promptTextIds(
  transcript: string,
  tokenizer: CosyVoiceTokenizer,
  options: TextInputOptions = {},
): Int32Array {
  const normalized = normalizePromptText(transcript, {
    countTokens: (t) => tokenizer.countTokens(t),
    textFrontend: options.normalize ?? true,
    readNumbers: options.readNumbers ?? true,
  });
  return tokenizer.encode(normalized);
}

/**
 * Token ids of an instruction (instruct2 mode). The instruction is not normalised (upstream); `<|endofprompt|>` is
 * appended when missing — upstream stopped appending it in Dec 2025, which silently breaks instruct prompts written
 * without it, so we keep the older, forgiving behaviour.
 *
 * @throws {TTSError} ERR_INVALID_INPUT for an empty instruction or one with `<|endofprompt|>` not at its end.
 */
export function instructionIds(instruction: string, tokenizer: CosyVoiceTokenizer): Int32Array {
  const trimmed = instruction.trim();
  if (trimmed.length === 0 || trimmed === END_OF_PROMPT)
    throw invalidInput('instruct must be a non-empty instruction.');
  const at = trimmed.indexOf(END_OF_PROMPT);
  if (at !== -1 && at !== trimmed.length - END_OF_PROMPT.length) {
    throw invalidInput(`instruct may contain "${END_OF_PROMPT}" only at its end.`, { instruct: instruction });
  }
  return tokenizer.encode(at === -1 ? trimmed + END_OF_PROMPT : trimmed);
}
