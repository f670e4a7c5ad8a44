/**
 * Streaming sentence splitting for text that arrives piece by piece (an LLM's output, a websocket…), in the spirit
 * of kokoro-js's `TextSplitterStream`: push pieces, iterate over complete sentences.
 *
 * A sentence ends at
 * - a CJK terminator `。！？｡` (plus any further terminators and closing quotes/brackets after it);
 * - a Latin `.` `!` `?` run followed by whitespace, by the end of the text (on `flush`/`close`) or by a CJK character —
 *   except decimals (`3.14`), dotted abbreviations (`Mr.`, `Dr.`, `e.g.`, `vs.`), initials (`J. K. Rowling`), list
 *   numbers at the start of a sentence (`1. Buy milk`), and `etc.`/`U.S.`/`a.m.`/ellipses (`...`, `…`) unless the
 *   next word starts with a capital letter;
 * - a line break (optional).
 *
 * A boundary is only reported once the text after it has arrived (a closing quote, the next digit or the next word's
 * first letter could still change it), so a piece split mid-word, mid-number or mid-abbreviation never produces a
 * wrong cut; `flush()` and `close()` decide with what is there.
 *
 * @see ../../../shared/spec/browser-tts-landscape.md §1.1 (kokoro-js `TextSplitterStream`)
 */

/** Options of {@link SentenceSplitter} and {@link SentenceStream}. */
export interface SentenceSplitterOptions {
  /**
   * Extra abbreviations that never end a sentence, without their final dot, matched case-insensitively (e.g.
   * `['approx', 'Fig']`).
   */
  readonly abbreviations?: Iterable<string>;
  /**
   * Treat a line break as a sentence boundary (LLM output puts list items and headings on their own lines).
   * @defaultValue true
   */
  readonly newlineIsBoundary?: boolean;
}

/** Abbreviations (lower case, without the final dot) after which a `.` never ends a sentence. */
const NEVER_FINAL = [
  'mr',
  'mrs',
  'ms',
  'mx',
  'dr',
  'prof',
  'st',
  'mt',
  'gen',
  'capt',
  'lt',
  'col',
  'sgt',
  'gov',
  'sen',
  'rep',
  'rev',
  'hon',
  'vs',
  'cf',
  'fig',
  'e.g',
  'i.e',
  'approx',
  'dept',
  'est',
  'ca',
  'jan',
  'feb',
  'mar',
  'apr',
  'jun',
  'jul',
  'aug',
  'sep',
  'sept',
  'oct',
  'nov',
  'dec',
] as const;

/** Abbreviations that end a sentence only when the next word is capitalised. */
const MAYBE_FINAL = ['etc', 'al', 'jr', 'sr', 'inc', 'ltd', 'co', 'corp', 'no', 'a.m', 'p.m', 'u.s', 'u.k', 'u.s.a'];

const CJK_TERMINATORS = new Set(['。', '！', '？', '｡']);
const LATIN_TERMINATORS = new Set(['.', '!', '?', '…']);
const CLOSERS = new Set(['"', "'", '”', '’', '」', '』', '）', ')', ']', '】', '》', '〉', '»', '›', '〕', '〗']);

function isSpace(c: string): boolean {
  return /\s/u.test(c);
}

function isLetter(c: string): boolean {
  return /\p{L}/u.test(c);
}

function isUpper(c: string): boolean {
  return /\p{Lu}/u.test(c);
}

function isDigit(c: string): boolean {
  return c >= '0' && c <= '9';
}

/** Han, kana, hangul and CJK punctuation: scripts written without spaces between sentences. */
function isCjk(c: string): boolean {
  return /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Hangul}\u3000-\u303f\uff00-\uffef]/u.test(c);
}

type Decision =
  { readonly kind: 'boundary'; readonly end: number } | { readonly kind: 'none' } | { readonly kind: 'wait' };

/**
 * Synchronous sentence splitter: the state machine behind {@link SentenceStream}. Useful where no async iteration is
 * wanted (a worker loop, tests).
 *
 * @example
 * ```ts
 * const s = new SentenceSplitter();
 * s.push('Dr. Smith paid $3.'); // []
 * s.push('50. He left'); // ['Dr. Smith paid $3.50.']
 * s.flush(); // ['He left']
 * ```
 */
export class SentenceSplitter {
  #buffer = '';
  #scan = 0;
  readonly #never: Set<string>;
  readonly #newline: boolean;

  /**
   * @param options - See {@link SentenceSplitterOptions}.
   */
  constructor(options: SentenceSplitterOptions = {}) {
    this.#never = new Set<string>(NEVER_FINAL);
    for (const a of options.abbreviations ?? []) {
      this.#never.add(a.toLowerCase().replace(/\.$/, ''));
    }
    this.#newline = options.newlineIsBoundary ?? true;
  }

  /** Text received but not yet returned as a sentence. */
  get pending(): string {
    return this.#buffer;
  }

  /**
   * Add a piece of text.
   *
   * @param piece - Any piece (may split words, numbers, abbreviations or surrogate pairs).
   * @returns The sentences completed by this piece, trimmed, in order.
   * @throws Error `ERR_INVALID_INPUT` when `piece` is not a string.
   */
  push(piece: string): string[] {
    if (typeof piece !== 'string') {
      throw new Error(`ERR_INVALID_INPUT: sentence splitter pieces must be strings, got ${typeof piece}.`);
    }
    this.#buffer += piece;
    return this.#drain(false);
  }

  /**
   * End of input (for now): decide the pending boundaries with the text that is there and return everything,
   * including a final sentence without a terminator. The splitter can be used again afterwards.
   *
   * @returns The remaining sentences.
   */
  flush(): string[] {
    const out = this.#drain(true);
    const rest = this.#buffer.trim();
    this.#buffer = '';
    this.#scan = 0;
    if (rest !== '') out.push(rest);
    return out;
  }

  #drain(final: boolean): string[] {
    const out: string[] = [];
    for (;;) {
      const found = this.#findBoundary(final);
      if (found === null) break;
      const sentence = this.#buffer.slice(0, found.end).trim();
      this.#buffer = this.#buffer.slice(found.skip).replace(/^\s+/u, '');
      this.#scan = 0;
      if (sentence !== '') out.push(sentence);
    }
    return out;
  }

  /** Find the first boundary at or after #scan; null when there is none (yet). Updates #scan. */
  #findBoundary(final: boolean): { end: number; skip: number } | null {
    const buf = this.#buffer;
    for (let i = this.#scan; i < buf.length; i++) {
      const c = buf[i] ?? '';
      if (c === '\n' || c === '\r') {
        if (this.#newline) return { end: i, skip: i + 1 };
        continue;
      }
      if (!CJK_TERMINATORS.has(c) && !LATIN_TERMINATORS.has(c)) continue;
      const decision = CJK_TERMINATORS.has(c) ? this.#decideCjk(i, final) : this.#decideLatin(i, final);
      if (decision.kind === 'wait') {
        this.#scan = i;
        return null;
      }
      if (decision.kind === 'boundary') {
        return { end: decision.end, skip: decision.end };
      }
      // Not a boundary: skip over the whole terminator run.
      while (i + 1 < buf.length && LATIN_TERMINATORS.has(buf[i + 1] ?? '')) i++;
    }
    this.#scan = buf.length;
    return null;
  }

  /** End of the run of terminators and closers starting at `i`. */
  #runEnd(i: number): number {
    const buf = this.#buffer;
    let j = i + 1;
    while (j < buf.length && (CJK_TERMINATORS.has(buf[j] ?? '') || LATIN_TERMINATORS.has(buf[j] ?? ''))) j++;
    while (j < buf.length && CLOSERS.has(buf[j] ?? '')) j++;
    return j;
  }

  #decideCjk(i: number, final: boolean): Decision {
    const j = this.#runEnd(i);
    if (j >= this.#buffer.length && !final) return { kind: 'wait' };
    return { kind: 'boundary', end: j };
  }

  /** First non-space character at or after `j`, or undefined if none has arrived. */
  #nextNonSpace(j: number): string | undefined {
    const buf = this.#buffer;
    let k = j;
    while (k < buf.length && isSpace(buf[k] ?? '')) k++;
    return buf[k];
  }

  #decideLatin(i: number, final: boolean): Decision {
    const buf = this.#buffer;
    const j = this.#runEnd(i);
    if (j >= buf.length) {
      return final ? { kind: 'boundary', end: j } : { kind: 'wait' };
    }
    const next = buf[j] ?? '';
    const run = buf.slice(i, j);
    const dots = run.replace(/[^.…!?]/g, '');
    const isEllipsis = dots.includes('..') || dots.includes('…');
    const onlyDot = dots === '.';

    if (!isSpace(next)) {
      // "3.14", "example.com", "e.g.": no boundary; "Hello.你好": boundary before CJK text (not after "我……").
      return isCjk(next) && !isEllipsis ? { kind: 'boundary', end: j } : { kind: 'none' };
    }

    const quoted = CLOSERS.has(buf[j - 1] ?? '');
    const byNextWord = (test: (c: string) => boolean): Decision => {
      const after = this.#nextNonSpace(j);
      if (after === undefined) return final ? { kind: 'boundary', end: j } : { kind: 'wait' };
      return test(after) ? { kind: 'boundary', end: j } : { kind: 'none' };
    };
    const startsSentence = (c: string): boolean => isUpper(c) || isCjk(c) || c === '"' || c === '“' || c === '‘';
    if (isEllipsis) {
      // "Wait... what?" continues; "I see... Then" ends.
      return byNextWord(startsSentence);
    }
    if (onlyDot && this.#neverFinal(i)) return { kind: 'none' };
    if (quoted) {
      // '"Stop." he said' continues; '"Stop." The man' ends.
      return byNextWord((c) => !/\p{Ll}/u.test(c));
    }
    if (onlyDot && this.#maybeFinal(i)) {
      // "apples, etc. and pears" continues; "in the U.S. Then" ends.
      return byNextWord(startsSentence);
    }
    return { kind: 'boundary', end: j };
  }

  /** The word (letters and inner dots) that ends right before index `i`. */
  #wordBefore(i: number): string {
    const buf = this.#buffer;
    let k = i;
    while (k > 0 && (isLetter(buf[k - 1] ?? '') || (buf[k - 1] === '.' && k - 1 > 0 && isLetter(buf[k - 2] ?? '')))) {
      k--;
    }
    return buf.slice(k, i);
  }

  #neverFinal(i: number): boolean {
    const buf = this.#buffer;
    const word = this.#wordBefore(i);
    if (word !== '') {
      if (this.#never.has(word.toLowerCase())) return true;
      // A single capital letter is an initial ("J. K. Rowling"), except the pronoun "I".
      if (word.length === 1 && isUpper(word) && word !== 'I') return true;
      return false;
    }
    // "1. Buy milk": a short number that starts the sentence is a list marker.
    let k = i;
    while (k > 0 && isDigit(buf[k - 1] ?? '')) k--;
    return k < i && i - k <= 2 && buf.slice(0, k).trim() === '';
  }

  #maybeFinal(i: number): boolean {
    return MAYBE_FINAL.includes(this.#wordBefore(i).toLowerCase());
  }
}

/**
 * An async-iterable stream of sentences fed by `push()`: the text-side input of bistream synthesis
 * (`tts.stream(sentenceStream)`). One consumer; iteration ends after `close()` once every sentence was read.
 *
 * @example
 * ```ts
 * const stream = new SentenceStream();
 * (async () => {
 *   for await (const token of llm.generate(prompt)) stream.push(token);
 *   stream.close();
 * })();
 * for await (const sentence of stream) speak(sentence);
 * ```
 */
export class SentenceStream implements AsyncIterable<string> {
  readonly #splitter: SentenceSplitter;
  readonly #queue: string[] = [];
  readonly #waiting: ((result: IteratorResult<string, undefined>) => void)[] = [];
  #closed = false;

  /**
   * @param options - See {@link SentenceSplitterOptions}.
   */
  constructor(options: SentenceSplitterOptions = {}) {
    this.#splitter = new SentenceSplitter(options);
  }

  /** Whether `close()` was called. */
  get closed(): boolean {
    return this.#closed;
  }

  /**
   * Add text pieces.
   *
   * @param pieces - Pieces in arrival order.
   * @throws Error `ERR_INVALID_INPUT` after `close()` or for a non-string piece.
   */
  push(...pieces: string[]): void {
    if (this.#closed) {
      throw new Error('ERR_INVALID_INPUT: push() after close(); create a new SentenceStream.');
    }
    for (const piece of pieces) {
      this.#emit(this.#splitter.push(piece));
    }
  }

  /**
   * Emit the buffered text as sentences now (e.g. when the producer pauses), without closing the stream.
   */
  flush(): void {
    this.#emit(this.#splitter.flush());
  }

  /**
   * Flush and end the stream; iteration finishes after the last sentence. Calling it again does nothing.
   */
  close(): void {
    if (this.#closed) return;
    this.flush();
    this.#closed = true;
    for (const resolve of this.#waiting.splice(0)) {
      resolve({ done: true, value: undefined });
    }
  }

  /**
   * Iterate over sentences as they complete.
   *
   * @returns An async iterator; `return()` (e.g. `break` in `for await`) closes the stream.
   */
  [Symbol.asyncIterator](): AsyncIterator<string, undefined> {
    return {
      next: (): Promise<IteratorResult<string, undefined>> => {
        const value = this.#queue.shift();
        if (value !== undefined) return Promise.resolve({ done: false, value });
        if (this.#closed) return Promise.resolve({ done: true, value: undefined });
        return new Promise((resolve) => this.#waiting.push(resolve));
      },
      return: (): Promise<IteratorResult<string, undefined>> => {
        this.#queue.length = 0;
        this.close();
        this.#queue.length = 0;
        return Promise.resolve({ done: true, value: undefined });
      },
    };
  }

  #emit(sentences: readonly string[]): void {
    for (const sentence of sentences) {
      const resolve = this.#waiting.shift();
      if (resolve === undefined) this.#queue.push(sentence);
      else resolve({ done: false, value: sentence });
    }
  }
}

/**
 * Split a complete text into sentences with the streaming rules.
 *
 * @param text - The text.
 * @param options - See {@link SentenceSplitterOptions}.
 * @returns The sentences, trimmed.
 */
export function splitSentences(text: string, options: SentenceSplitterOptions = {}): string[] {
  const splitter = new SentenceSplitter(options);
  return [...splitter.push(text), ...splitter.flush()];
}

/**
 * Turn a stream of text pieces (an LLM's tokens, a `ReadableStream` read as async-iterable…) into a stream of
 * sentences.
 *
 * @param source - Text pieces, sync or async iterable.
 * @param options - See {@link SentenceSplitterOptions}.
 * @returns Sentences as soon as they are complete; the rest when `source` ends.
 * @example
 * ```ts
 * for await (const sentence of sentencesFrom(llmTokens)) console.log(sentence);
 * ```
 */
export async function* sentencesFrom(
  source: AsyncIterable<string> | Iterable<string>,
  options: SentenceSplitterOptions = {},
): AsyncGenerator<string, void, undefined> {
  const splitter = new SentenceSplitter(options);
  for await (const piece of source) {
    yield* splitter.push(piece);
  }
  yield* splitter.flush();
}
