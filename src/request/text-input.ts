/**
 * From the user's text to LM-ready id segments: normalisation and splitting (spec §2.1, §2.3), the `<|…|>` bypass,
 * and the instruct-text rule (§1.2: the instruction is not normalised and must end with `<|endofprompt|>`).
 *
 * Control tokens typed by a user (issue #13.2) never reach the LM as control ids: `<|endofprompt|>` anywhere but at
 * the end of `instruct` is refused (it ends an instruction, and the instruction has its own option), and the Qwen
 * chat-model controls `<|endoftext|>`, `<|im_start|>`, `<|im_end|>` are read as the characters they are written
 * with (CosyVoice gives them no meaning; text containing them quotes them). The paralinguistic tags (`[laughter]`,
 * `[breath]`, `<strong>…</strong>`, …) are CosyVoice's documented controls and keep their ids.
 */
import { invalidInput } from '../errors.ts';
import type { CosyVoiceTokenizer } from '../text/index.ts';
import { normalizePromptText, normalizeText, QWEN_ADDED_TOKENS } from '../text/index.ts';

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

/**
 * Checks what a request speaks: a string, or a (sync or async) iterable of text pieces.
 *
 * @throws {TTSError} ERR_INVALID_INPUT for anything else.
 */
export function checkTextInput(input: unknown): TextInput {
  if (typeof input === 'string') return input;
  const iterable = input as { [Symbol.asyncIterator]?: unknown; [Symbol.iterator]?: unknown } | null;
  if (
    typeof input === 'object' &&
    iterable !== null &&
    (typeof iterable[Symbol.asyncIterator] === 'function' || typeof iterable[Symbol.iterator] === 'function')
  ) {
    return input as TextInput;
  }
  throw invalidInput(
    `text must be a string or an (async) iterable of strings (a text stream), got ${input === null ? 'null' : typeof input}.`,
  );
}

/**
 * Whether text has anything to speak: a letter or a digit (in any script; the CosyVoice tags contain letters too).
 * Text of only spaces, punctuation and symbols would make the LM babble.
 */
export function hasSpeech(text: string): boolean {
  return /[\p{L}\p{N}]/u.test(text);
}

/**
 * Token ids of text a user wrote (text to speak, a transcript, a piece of a text stream): the chat-model controls read
 * literally, `<|endofprompt|>` refused.
 *
 * @throws {TTSError} ERR_INVALID_INPUT when the text contains `<|endofprompt|>`.
 */
export function userTextIds(text: string, tokenizer: CosyVoiceTokenizer, name = 'text'): Int32Array {
  checkNoEndOfPrompt(text, name);
  return tokenizer.encode(text, { literal: QWEN_ADDED_TOKENS });
}

/** Refuses `<|endofprompt|>` in text that is not an instruction. */
function checkNoEndOfPrompt(text: string, name: string): void {
  const at = text.indexOf(END_OF_PROMPT);
  if (at === -1) return;
  throw invalidInput(
    `${name} contains "${END_OF_PROMPT}" (at character ${at}), which ends an instruction: give the instruction as ` +
      `options.instruct (e.g. { instruct: 'Speak softly.' }) and only the words to speak as the text. The text may ` +
      `use the tags [laughter], [breath], <strong>…</strong> and the like, but no <|…|> control token.`,
    { token: END_OF_PROMPT, at },
  );
}

/** Longest input accepted in one call, in UTF-16 code units (≈ several minutes of speech). */
export const MAX_TEXT_LENGTH = 20_000;

/**
 * Normalises and splits `text` into segments with their token ids.
 *
 * @throws {TTSError} ERR_INVALID_INPUT when the text is not a string, is longer than {@link MAX_TEXT_LENGTH}, contains
 *   `<|endofprompt|>`, or has nothing to speak after normalisation ({@link hasSpeech}: empty, whitespace, punctuation
 *   or symbols only — also with `normalize: false`).
 */
export function prepareSegments(
  text: unknown,
  tokenizer: CosyVoiceTokenizer,
  options: TextInputOptions = {},
): TextSegment[] {
  if (typeof text !== 'string') throw invalidInput(`text must be a string, got ${typeof text}.`);
  checkNoEndOfPrompt(text, 'text');
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
    .map((segment) => ({ text: segment, ids: userTextIds(segment, tokenizer) }))
    .filter((segment) => segment.ids.length > 0);
  if (!out.some((segment) => hasSpeech(segment.text))) {
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
  checkNoEndOfPrompt(transcript, 'transcript');
  const normalized = normalizePromptText(transcript, {
    countTokens: (t) => tokenizer.countTokens(t),
    textFrontend: options.normalize ?? true,
    readNumbers: options.readNumbers ?? true,
  });
  return userTextIds(normalized, tokenizer, 'transcript');
}

/**
 * Token ids of an instruction (instruct2 mode). The instruction is not normalised (upstream); `<|endofprompt|>` is
 * appended when missing — upstream stopped appending it in Dec 2025, which silently breaks instruct prompts written
 * without it, so we keep the older, forgiving behaviour.
 *
 * Qwen's chat tokens in it are read literally, as in the text.
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
  return tokenizer.encode(at === -1 ? trimmed + END_OF_PROMPT : trimmed, { literal: QWEN_ADDED_TOKENS });
}
