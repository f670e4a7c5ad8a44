/**
 * `cosyvoice-web/text`: the CosyVoice 2 text front-end — tokenizer, normalisation, segmentation and streaming sentence
 * splitting. Pure code (no DOM, no Node APIs, no onnxruntime): runs in the main thread, workers and Node.
 *
 * @example
 * ```ts
 * import { CosyVoiceTokenizer, normalizeText } from 'cosyvoice-web/text';
 * const tok = CosyVoiceTokenizer.fromJson(await (await fetch(`${base}/tokenizer.json`)).text());
 * for (const segment of normalizeText(text, { countTokens: (t) => tok.countTokens(t) })) {
 *   const ids = tok.encode(segment);
 *   // …
 * }
 * ```
 * @packageDocumentation
 */

export {
  COSYVOICE_ADDED_TOKENS,
  COSYVOICE_SPECIAL_TOKENS,
  COSYVOICE_VOCAB_SIZE,
  FIRST_ADDED_TOKEN_ID,
  QWEN_ADDED_TOKENS,
  SPECIAL_TOKEN_IDS,
  buildCosyVoiceTokenizerJson,
  serializeTokenizerJson,
  type AddedTokenJson,
  type CosyVoiceAddedToken,
  type CosyVoiceSpecialToken,
  type QwenAddedToken,
  type TokenizerJson,
} from './tokenizer-json.ts';
export {
  CosyVoiceTokenizer,
  type CosyVoiceTokenizerOptions,
  type DecodeOptions,
  type EncodeOptions,
  type PromptAndTextIds,
} from './tokenizer.ts';
export {
  bypassesFrontend,
  containsChinese,
  isOnlyPunctuation,
  normalizePromptText,
  normalizeStreamPiece,
  normalizeText,
  removeBracket,
  replaceBlank,
  replaceCornerMark,
  stripControlCharacters,
  type NormalizeOptions,
} from './normalize.ts';
export {
  normalizeChinese,
  readChineseDigits,
  readChineseInteger,
  readChineseNumber,
  type ChineseIntegerOptions,
} from './normalize-zh.ts';
export { normalizeEnglish, yearToWords } from './normalize-en.ts';
export { numberToWords, ordinalToWords, readDigits, spellOutNumbers } from './number-words.ts';
export {
  EN_TERMINALS,
  ZH_TERMINALS,
  codePointLength,
  splitParagraph,
  type SegmentLanguage,
  type SplitParagraphOptions,
  type TokenCounter,
} from './segment.ts';
export {
  SentenceSplitter,
  SentenceStream,
  sentencesFrom,
  splitSentences,
  type SentenceSplitterOptions,
} from './sentence-stream.ts';
