/**
 * Text arriving piece by piece (e.g. from a chat model) → token-id pieces for bistream decoding (spec §4.6).
 *
 * Upstream tokenises every incoming piece on its own, which splits words wherever the producer happened to cut them
 * ("Hel" + "lo" ≠ "Hello" in BPE) and skips text normalisation. We buffer up to a safe boundary first: before
 * whitespace (Qwen's pre-tokeniser attaches a leading space to the next word), after punctuation, never inside a
 * `[tag]`, `<tag>` or `<|…|>`; then each flushed piece gets the text front-end's readings (numbers, symbols) with its
 * surrounding whitespace kept, but no sentence-final punctuation: a piece is not a sentence (`normalizeStreamPiece`). Long runs without a boundary (CJK text) are flushed after `maxBuffer` characters so the LM is
 * never starved.
 */
import { invalidInput } from '../errors.ts';
import type { CosyVoiceTokenizer } from '../text/index.ts';
import { normalizeStreamPiece } from '../text/index.ts';
import { hasSpeech, userTextIds } from './text-input.ts';

/** Options of {@link TextIdStream}. */
export interface TextIdStreamOptions {
  /** Run the text front-end on each flushed piece. @defaultValue true */
  readonly normalize?: boolean;
  readonly readNumbers?: boolean;
  /** Flush a boundary-less buffer after this many characters. @defaultValue 24 */
  readonly maxBuffer?: number;
}

const PUNCTUATION = /[\p{P}]/u;
const SPACE = /\s/u;

/** Position in `text` up to which it can be tokenised without cutting a word or a tag (0 = none yet). */
export function safeCut(text: string, maxBuffer: number): number {
  let cut = 0;
  for (let i = 1; i < text.length; i++) {
    const ch = text[i] ?? '';
    const prev = text[i - 1] ?? '';
    if ((SPACE.test(ch) && !SPACE.test(prev)) || (PUNCTUATION.test(prev) && !PUNCTUATION.test(ch) && !SPACE.test(ch))) {
      cut = i;
    }
  }
  if (cut === 0 && text.length > maxBuffer) cut = text.length - 1;
  return outsideTags(text, cut);
}

/** Moves `cut` back before any tag that is still open at `cut`. */
function outsideTags(text: string, cut: number): number {
  const head = text.slice(0, cut);
  const open = Math.max(head.lastIndexOf('['), head.lastIndexOf('<'));
  const close = Math.max(head.lastIndexOf(']'), head.lastIndexOf('>'));
  return open > close ? open : cut;
}

/** Turns a text stream into token-id pieces; counts the ids it produced. */
export class TextIdStream {
  #total = 0;
  /** Whether any piece so far had something to speak ({@link hasSpeech}). */
  #speech = false;

  constructor(
    private readonly tokenizer: CosyVoiceTokenizer,
    private readonly options: TextIdStreamOptions = {},
  ) {}

  /** Text ids produced so far. */
  totalIds(): number {
    return this.#total;
  }

  #encode(text: string): Int32Array {
    let prepared = text;
    if (this.options.normalize !== false) {
      const lead = /^\s*/u.exec(text)?.[0] ?? '';
      const trail = /\s*$/u.exec(text.slice(lead.length))?.[0] ?? '';
      const core = text.slice(lead.length, text.length - trail.length);
      const normalized =
        core === ''
          ? ''
          : normalizeStreamPiece(core, {
              countTokens: (t) => this.tokenizer.countTokens(t),
              readNumbers: this.options.readNumbers ?? true,
            });
      // a piece that normalises to nothing leaves no stray spaces either
      prepared = normalized === '' ? '' : lead + normalized + trail;
    }
    if (hasSpeech(prepared)) this.#speech = true;
    const ids = userTextIds(prepared, this.tokenizer, 'the text stream');
    this.#total += ids.length;
    return ids;
  }

  /**
   * The token ids of the incoming text one at a time, in order: what to hand the bistream LM. Upstream's frontend
   * feeds `inference_bistream` one id per iteration, and the LM decodes at most one burst of speech tokens per
   * iteration, so a piece of many ids would leave text unused (and the listener waiting) until the next piece or the
   * end of the text.
   *
   * @throws {TTSError} as {@link TextIdStream.pieces}.
   */
  async *ids(input: AsyncIterable<string> | Iterable<string>, signal?: AbortSignal): AsyncGenerator<Int32Array> {
    for await (const piece of this.pieces(input, signal)) {
      for (const id of piece) yield Int32Array.of(id);
    }
  }

  /**
   * Token-id pieces of the incoming text, in order (each piece is the text up to one safe boundary).
   *
   * @throws {TTSError} ERR_INVALID_INPUT when a piece is not a string or contains `<|endofprompt|>`, or when the
   *   stream ends with nothing to speak (empty, whitespace or punctuation only: no speech may be sampled for it);
   *   the abort reason when `signal` aborts.
   */
  async *pieces(input: AsyncIterable<string> | Iterable<string>, signal?: AbortSignal): AsyncGenerator<Int32Array> {
    const maxBuffer = this.options.maxBuffer ?? 24;
    let buffer = '';
    for await (const piece of input) {
      signal?.throwIfAborted();
      if (typeof piece !== 'string') throw invalidInput(`text stream pieces must be strings, got ${typeof piece}.`);
      buffer += piece;
      const cut = safeCut(buffer, maxBuffer);
      if (cut > 0) {
        const ids = this.#encode(buffer.slice(0, cut));
        buffer = buffer.slice(cut);
        if (ids.length > 0) yield ids;
      }
    }
    signal?.throwIfAborted();
    if (buffer.trim() !== '') {
      const ids = this.#encode(buffer);
      if (ids.length > 0) yield ids;
    }
    if (!this.#speech) {
      throw invalidInput('The text stream ended with nothing to speak (it was empty, whitespace or punctuation only).');
    }
  }
}
