/**
 * The text front-end of upstream `CosyVoiceFrontEnd.text_normalize` (spec §2.1), with our own number reading in place
 * of ttsfrd/wetext:
 *
 * ```
 * text contains "<|" and "|>"            → returned untouched (instruct text, SSML-like markup): one segment, no split
 * strip()
 * contains a CJK ideograph (U+4E00–U+9FFF) → Chinese path:
 *     normalizeChinese (≈ wetext-zh) → delete "\n" → replaceBlank → ²→平方 ³→立方 → "."→"。" → " - "→"，"
 *     → removeBracket (（）【】` deleted, —— → " ") → trailing [，,、]+ → "。" → splitParagraph(zh)
 * otherwise                                → English path:
 *     normalizeEnglish (≈ wetext-en) → spellOutNumbers (inflect) → splitParagraph(en, Qwen tokens)
 * drop segments made only of punctuation/symbols (^[\p{P}\p{S}]*$)
 * ```
 *
 * CosyVoice's special tags (`[laughter]`, `<strong>`, …) are shielded from number reading and abbreviation expansion;
 * the upstream cleanup regexes still run over the whole string, as upstream does.
 *
 * Differences from upstream, only where it would crash or read garbage aloud: empty or whitespace-only text gives no
 * segments (`[]` / `''`) instead of `IndexError`; terminal escape sequences and control characters are removed first
 * ({@link stripControlCharacters}), whichever path the text then takes; on the Chinese path, spaces between words of
 * scripts that use them (Arabic, Hebrew, Korean, accented Latin…) are kept ({@link replaceBlank}); numbers in
 * scientific notation are read as such ("1e308" → "one times ten to the power of three hundred and eight").
 *
 * @see ../../../shared/spec/cosyvoice2-inference.md §2.1
 */
import { spellOutNumbers } from './number-words.ts';
import { normalizeChinese } from './normalize-zh.ts';
import { normalizeEnglish } from './normalize-en.ts';
import { splitParagraph, type TokenCounter } from './segment.ts';
import { COSYVOICE_SPECIAL_TOKENS } from './tokenizer-json.ts';

/** Options of {@link normalizeText} and {@link normalizePromptText}. */
export interface NormalizeOptions {
  /**
   * Token counter for English segmentation (`(t) => tokenizer.countTokens(t)`). Chinese text does not call it.
   */
  readonly countTokens: TokenCounter;
  /**
   * Run the front-end at all. `false` returns the text as it is (upstream `text_frontend=False`, which the upstream
   * README recommends for reproducing its demo page).
   * @defaultValue true
   */
  readonly textFrontend?: boolean;
  /**
   * Number reading (ttsfrd/wetext stand-in). `false` keeps only upstream's regex cleanup and inflect digit spelling —
   * what upstream does when no TN library is installed.
   * @defaultValue true
   */
  readonly readNumbers?: boolean;
}

/** Upstream `chinese_char_pattern`: CJK Unified Ideographs U+4E00–U+9FFF (no extensions, no kana/hangul). */
const CHINESE_CHAR = /[\u4e00-\u9fff]/;

/**
 * Does the text contain a Chinese character (upstream `contains_chinese`)? Decides between the Chinese and the
 * English path, so Japanese with kanji goes the Chinese way and Korean the English way, as upstream.
 *
 * @param text - Any text.
 * @returns Whether a character in U+4E00–U+9FFF occurs.
 */
export function containsChinese(text: string): boolean {
  return CHINESE_CHAR.test(text);
}

/** Characters of scripts written without spaces between words: Han, kana, bopomofo, CJK and full-width punctuation. */
const UNSPACED =
  /[\p{Script=Han}\p{Script=Hiragana}\p{Script=Katakana}\p{Script=Bopomofo}\u3000-\u303f\u30fc\uff00-\uffef]/u;

/**
 * Upstream `replace_blank`, which deletes every space except one whose both neighbours are non-space ASCII
 * characters — so it also glued Arabic, Hebrew, Cyrillic, Korean or accented words together when the text had a
 * Chinese character (issue #13). Here a space is deleted when a neighbour is a space, missing, or a character of a
 * script written without spaces (Han, kana, CJK punctuation: exactly upstream's deletions within Chinese text); a
 * space between two words of any other script is kept. (Python's `text[i - 1]` at `i = 0` reads the last character;
 * that quirk is kept. A space at the very end, which would make upstream raise, is deleted.)
 *
 * @param text - Text.
 * @returns The text without spaces next to CJK characters or other spaces.
 */
export function replaceBlank(text: string): string {
  const chars = Array.from(text);
  const spaced = (ch: string | undefined): boolean => ch !== undefined && ch !== ' ' && !UNSPACED.test(ch);
  let out = '';
  for (let i = 0; i < chars.length; i++) {
    const c = chars[i] ?? '';
    const prev = i === 0 ? chars[chars.length - 1] : chars[i - 1];
    if (c !== ' ' || (spaced(chars[i + 1]) && spaced(prev))) out += c;
  }
  return out;
}

/**
 * Upstream `replace_corner_mark`: `²` → 平方, `³` → 立方.
 *
 * @param text - Text.
 * @returns The text with superscripts replaced.
 */
export function replaceCornerMark(text: string): string {
  return text.replace(/²/g, '平方').replace(/³/g, '立方');
}

/**
 * Upstream `remove_bracket`: delete `（` `）` `【` `】` and backticks; `——` → a space.
 *
 * @param text - Text.
 * @returns The cleaned text.
 */
export function removeBracket(text: string): string {
  return text.replace(/[（）【】`]/g, '').replace(/——/g, ' ');
}

/**
 * Upstream `is_only_punctuation`: empty, or only Unicode punctuation (`\p{P}`) and symbols (`\p{S}`).
 *
 * @param text - A segment.
 * @returns Whether the segment has nothing to speak.
 */
export function isOnlyPunctuation(text: string): boolean {
  return /^[\p{P}\p{S}]*$/u.test(text);
}

/**
 * Is the text instruct/markup text that upstream passes through untouched (contains both `<|` and `|>`, e.g.
 * `'用四川话说这句话<|endofprompt|>'`)?
 *
 * @param text - Any text.
 * @returns Whether the front-end is skipped for it.
 */
export function bypassesFrontend(text: string): boolean {
  return text.includes('<|') && text.includes('|>');
}

/** ANSI terminal escape sequences (CSI `ESC [ … final`, and two-byte `ESC x`), e.g. a pasted `\x1b[31m`. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const ANSI_ESCAPE = /\x1b\[[0-?]*[ -/]*[@-~]|\x1b[@-Z\\-_]/g;
/** Control characters (Unicode Cc) other than tab, line feed and carriage return. */
// eslint-disable-next-line no-control-regex -- matching control characters is the point
const CONTROL = /[\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]/g;

/**
 * Removes terminal escape sequences and control characters (tab, CR and LF stay: they are text layout), which are
 * never meant to be read aloud: pasted `\x1b[31m` was read as "thirty-onem" (issue #13). Format characters (Cf:
 * bidi marks, zero-width joiners) are kept; they are part of how RTL and emoji text is written.
 *
 * @param text - Any text.
 * @returns The text without them.
 */
export function stripControlCharacters(text: string): string {
  return text.replace(ANSI_ESCAPE, '').replace(CONTROL, '');
}

/** The characters for which Python's `str.isspace()` is true. */
const PY_SPACE = '\\t\\n\\v\\f\\r\\x1c-\\x20\\x85\\xa0\\u1680\\u2000-\\u200a\\u2028\\u2029\\u202f\\u205f\\u3000';
const PY_STRIP = new RegExp(`^[${PY_SPACE}]+|[${PY_SPACE}]+$`, 'g');

/**
 * Python `str.strip()` (differs from JavaScript `trim()`, which also removes U+FEFF but keeps U+001C–U+001F and
 * U+0085).
 */
function pythonStrip(text: string): string {
  return text.replace(PY_STRIP, '');
}

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

/** The CosyVoice tags that can appear without triggering the `<|…|>` bypass. */
const TAG_PATTERN = new RegExp(
  `(${COSYVOICE_SPECIAL_TOKENS.filter((t) => !t.startsWith('<|'))
    .map(escapeRegExp)
    .join('|')})`,
);

/** Apply `fn` to the text between special tags, leaving the tags themselves alone. */
function outsideTags(text: string, fn: (part: string) => string): string {
  const parts = text.split(TAG_PATTERN);
  // split() with a capturing group alternates text, tag, text, tag, …
  return parts.map((part, i) => (i % 2 === 1 ? part : fn(part))).join('');
}

function checkOptions(text: unknown, options: unknown): asserts options is NormalizeOptions {
  if (typeof text !== 'string') {
    throw new Error(`ERR_INVALID_INPUT: text must be a string, got ${text === null ? 'null' : typeof text}.`);
  }
  if (
    typeof options !== 'object' ||
    options === null ||
    typeof (options as NormalizeOptions).countTokens !== 'function'
  ) {
    throw new Error(
      'ERR_INVALID_INPUT: normalizeText needs options.countTokens (e.g. (t) => tokenizer.countTokens(t)) for English segmentation.',
    );
  }
}

/** The part of the pipeline between strip() and the punctuation filter. */
/**
 * What every front-end entry does first: check the options, drop control characters; text the front-end must not
 * touch (instruct or chat markup, `textFrontend: false`) comes back as `bypass`, anything else stripped as Python's
 * `str.strip()` strips.
 */
function frontendInput(
  input: string,
  options: NormalizeOptions,
): { readonly bypass: string } | { readonly stripped: string } {
  checkOptions(input, options);
  const text = stripControlCharacters(input);
  if (bypassesFrontend(text) || options.textFrontend === false) return { bypass: text };
  return { stripped: pythonStrip(text) };
}

/**
 * Upstream's text front-end. `piece` is for a piece of a text stream: the same readings, but no sentence-final
 * punctuation added or changed and no segmenting, since a piece ends wherever the producer cut the text, not at a
 * sentence end ("…test, and" must not become "…test, and.").
 */
function frontend(text: string, options: NormalizeOptions, piece = false): string[] {
  const readNumbers = options.readNumbers ?? true;
  let t = text;
  if (containsChinese(t)) {
    if (readNumbers) t = outsideTags(t, normalizeChinese);
    t = t.replace(/\n/g, '');
    t = replaceBlank(t);
    t = replaceCornerMark(t);
    t = t.replace(/\./g, '。');
    t = t.replace(/ - /g, '，');
    t = removeBracket(t);
    if (piece) return [t];
    t = t.replace(/[，,、]+$/, '。');
    return splitParagraph(t, { lang: 'zh' });
  }
  if (readNumbers) t = outsideTags(t, normalizeEnglish);
  t = spellOutNumbers(t);
  return piece ? [t] : splitParagraph(t, { lang: 'en', countTokens: options.countTokens });
}

/**
 * Normalise text for synthesis and split it into segments (upstream `text_normalize(text, split=True)`).
 *
 * @param text - The text to speak.
 * @param options - See {@link NormalizeOptions}.
 * @returns The segments, each synthesised independently; `[]` for empty text; `[text]` when the front-end is bypassed.
 * @throws Error `ERR_INVALID_INPUT` when `text` is not a string or `countTokens` is missing.
 * @example
 * ```ts
 * normalizeText('我买了3个苹果，花了¥12.50。', { countTokens: (t) => tok.countTokens(t) });
 * // ['我买了三个苹果，花了十二元五角。']
 * normalizeText('I paid 1234 dollars in 2025.', { countTokens: (t) => tok.countTokens(t) });
 * // ['I paid one thousand, two hundred and thirty-four dollars in two thousand and twenty-five.']
 * ```
 */
export function normalizeText(input: string, options: NormalizeOptions): string[] {
  const text = frontendInput(input, options);
  if ('bypass' in text) return [text.bypass];
  return text.stripped === '' ? [] : frontend(text.stripped, options).filter((segment) => !isOnlyPunctuation(segment));
}

/**
 * Normalise one piece of a text stream (bistream): numbers, symbols and blanks read as {@link normalizeText} reads
 * them, but the piece is neither segmented nor given sentence-final punctuation — it ends wherever the producer cut
 * the text. (Upstream skips the front-end for text streams altogether; we keep the number reading of whole texts.)
 * Leading and trailing whitespace is stripped, as by the other front-end functions.
 *
 * @param text - One piece of the stream, cut at a word boundary (see `TextIdStream`).
 * @param options - See {@link NormalizeOptions}.
 * @returns The normalised piece (`''` for whitespace).
 * @throws Error `ERR_INVALID_INPUT` when `text` is not a string or `countTokens` is missing.
 * @example
 * ```ts
 * normalizeStreamPiece('I paid 12 dollars, and', { countTokens: (t) => tok.countTokens(t) });
 * // 'I paid twelve dollars, and'
 * ```
 */
export function normalizeStreamPiece(input: string, options: NormalizeOptions): string {
  const text = frontendInput(input, options);
  if ('bypass' in text) return text.bypass;
  return text.stripped === '' ? '' : frontend(text.stripped, options, true).join('');
}

/**
 * Normalise a prompt transcript without splitting (upstream `text_normalize(prompt_text, split=False)`): the
 * segments joined with no separator. Instruct text ending with `<|endofprompt|>` comes back unchanged.
 *
 * @param text - The prompt transcript.
 * @param options - See {@link NormalizeOptions}.
 * @returns The normalised text.
 * @throws Error `ERR_INVALID_INPUT` when `text` is not a string or `countTokens` is missing.
 */
export function normalizePromptText(input: string, options: NormalizeOptions): string {
  const text = frontendInput(input, options);
  if ('bypass' in text) return text.bypass;
  if (text.stripped === '') return '';
  return frontend(text.stripped, options)
    .filter((segment) => !isOnlyPunctuation(segment))
    .join('');
}
