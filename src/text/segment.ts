/**
 * Long-text segmentation: a port of upstream `split_paragraph` (`cosyvoice/utils/frontend_utils.py`, spec §2.3).
 *
 * Every segment is synthesised as an independent LLM + flow + vocoder run, so the packing rules decide where the
 * voice pauses and restarts. They are reproduced exactly, including upstream's quirks:
 * - lengths are Python `len()` — Unicode code points, not UTF-16 units — for Chinese, and Qwen token counts for English;
 * - a text that does not end with a terminal mark gets `。` / `.` appended;
 * - a single sentence longer than `tokenMaxN` is never cut (no comma splitting unless `commaSplit`);
 * - a `"` or `”` right after a terminal mark is attached to the sentence before it.
 *
 * Differences, only where upstream would crash: empty text returns `[]` (upstream: `IndexError`), and a quote after a
 * terminal mark with no sentence before it starts the next sentence (upstream: `pop from empty list`).
 *
 * @see ../../../shared/spec/cosyvoice2-inference.md §2.3
 */

/** Counts the tokens of a text (for English the Qwen BPE: `tokenizer.countTokens`). */
export type TokenCounter = (text: string) => number;

/** Language of the length metric: `'zh'` counts characters, `'en'` counts tokens. */
export type SegmentLanguage = 'zh' | 'en';

/** Options of {@link splitParagraph}. */
export interface SplitParagraphOptions {
  /** `'zh'`: length = characters, Chinese terminal marks; `'en'`: length = tokens, English terminal marks. */
  readonly lang: SegmentLanguage;
  /** Token counter, required for `'en'` (ignored for `'zh'`). */
  readonly countTokens?: TokenCounter;
  /**
   * A segment is closed before it would exceed this length…
   * @defaultValue 80
   */
  readonly tokenMaxN?: number;
  /**
   * …provided it already has more than this length.
   * @defaultValue 60
   */
  readonly tokenMinN?: number;
  /**
   * A final remainder shorter than this is glued to the previous segment.
   * @defaultValue 20
   */
  readonly mergeLen?: number;
  /**
   * Also cut at commas (`，` and `,`). Upstream never sets it.
   * @defaultValue false
   */
  readonly commaSplit?: boolean;
}

/** Terminal marks of Chinese text (upstream `pounc` for `lang == "zh"`). */
export const ZH_TERMINALS: readonly string[] = ['。', '？', '！', '；', '：', '、', '.', '?', '!', ';'];

/** Terminal marks of English text (upstream `pounc` otherwise). */
export const EN_TERMINALS: readonly string[] = ['.', '?', '!', ';', ':'];

/** Python `len()` of a string: number of code points. */
export function codePointLength(text: string): number {
  let n = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    // A high surrogate followed by a low surrogate is one code point.
    if (c >= 0xd800 && c <= 0xdbff && i + 1 < text.length) {
      const next = text.charCodeAt(i + 1);
      if (next >= 0xdc00 && next <= 0xdfff) i++;
    }
    n++;
  }
  return n;
}

function checkPositive(name: string, value: number): void {
  if (!Number.isFinite(value) || value < 0) {
    throw new Error(
      `ERR_INVALID_INPUT: splitParagraph option ${name} must be a finite number ≥ 0, got ${String(value)}.`,
    );
  }
}

/**
 * Split a paragraph into synthesis segments exactly like upstream `split_paragraph`.
 *
 * @param text - Normalised text (already through {@link normalizeChinese} / {@link normalizeEnglish} and cleanup).
 * @param options - See {@link SplitParagraphOptions}.
 * @returns The segments; their concatenation is `text` plus the appended terminal mark when there was none.
 * @throws Error `ERR_INVALID_INPUT` for an unknown `lang`, `'en'` without `countTokens`, or negative limits.
 * @example
 * ```ts
 * splitParagraph('第一句。第二句', { lang: 'zh' }); // ['第一句。第二句。']
 * splitParagraph(longEnglish, { lang: 'en', countTokens: (t) => tokenizer.countTokens(t) });
 * ```
 */
export function splitParagraph(text: string, options: SplitParagraphOptions): string[] {
  const { lang, countTokens, tokenMaxN = 80, tokenMinN = 60, mergeLen = 20, commaSplit = false } = options;
  // Checked at run time too: JavaScript callers can pass anything.
  if ((lang as string) !== 'zh' && (lang as string) !== 'en') {
    throw new Error(`ERR_INVALID_INPUT: splitParagraph lang must be "zh" or "en", got ${JSON.stringify(lang)}.`);
  }
  if (lang === 'en' && typeof countTokens !== 'function') {
    throw new Error('ERR_INVALID_INPUT: splitParagraph with lang "en" needs countTokens (e.g. tokenizer.countTokens).');
  }
  checkPositive('tokenMaxN', tokenMaxN);
  checkPositive('tokenMinN', tokenMinN);
  checkPositive('mergeLen', mergeLen);
  if (typeof text !== 'string') {
    throw new Error(`ERR_INVALID_INPUT: splitParagraph text must be a string, got ${typeof text}.`);
  }
  if (text.length === 0) {
    return [];
  }

  const length = (t: string): number => (lang === 'zh' ? codePointLength(t) : (countTokens as TokenCounter)(t));
  const pounc = new Set(lang === 'zh' ? ZH_TERMINALS : EN_TERMINALS);
  if (commaSplit) {
    pounc.add('，');
    pounc.add(',');
  }

  // Terminal marks and quotes are all in the BMP, so UTF-16 indexing finds them; a trailing astral character's low
  // surrogate is never a terminal mark, just as Python's text[-1] would not be.
  let full = text;
  if (!pounc.has(full[full.length - 1] ?? '')) {
    full += lang === 'zh' ? '。' : '.';
  }

  let st = 0;
  const utts: string[] = [];
  for (let i = 0; i < full.length; i++) {
    const c = full[i] ?? '';
    if (!pounc.has(c)) continue;
    if (i > st) {
      utts.push(full.slice(st, i) + c);
    }
    const next = full[i + 1];
    if (i + 1 < full.length && (next === '"' || next === '”') && utts.length > 0) {
      const tmp = utts.pop() ?? '';
      utts.push(tmp + next);
      st = i + 2;
    } else {
      st = i + 1;
    }
  }

  const finalUtts: string[] = [];
  let cur = '';
  for (const utt of utts) {
    if (length(cur + utt) > tokenMaxN && length(cur) > tokenMinN) {
      finalUtts.push(cur);
      cur = '';
    }
    cur += utt;
  }
  if (cur.length > 0) {
    if (length(cur) < mergeLen && finalUtts.length !== 0) {
      finalUtts[finalUtts.length - 1] = `${finalUtts[finalUtts.length - 1] ?? ''}${cur}`;
    } else {
      finalUtts.push(cur);
    }
  }
  return finalUtts;
}
