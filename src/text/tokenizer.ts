/**
 * The CosyVoice 2 text tokenizer: Qwen2 byte-level BPE + 20 added tokens (spec §2.2), run by `@huggingface/tokenizers`
 * (the tokenizer core of transformers.js, pure JS, no onnxruntime).
 *
 * Semantics of upstream `CosyVoice2Tokenizer.encode`: `tokenizer([text])["input_ids"][0]`, i.e. no BOS/EOS, special tags
 * written in the text (`[laughter]`, `<strong>`, `<|endofprompt|>`, …) become their single ids, and the prompt text and
 * the target text are tokenised **separately** and concatenated at the id level.
 *
 * @see ../../../shared/spec/cosyvoice2-inference.md §2.2
 */
import { Tokenizer } from '@huggingface/tokenizers';

import {
  COSYVOICE_ADDED_TOKENS,
  COSYVOICE_VOCAB_SIZE,
  SPECIAL_TOKEN_IDS,
  buildCosyVoiceTokenizerJson,
  type CosyVoiceAddedToken,
  type QwenAddedToken,
} from './tokenizer-json.ts';

/** Options of {@link CosyVoiceTokenizer.fromJson}. */
export interface CosyVoiceTokenizerOptions {
  /**
   * Check that the 20 added tokens exist with their CosyVoice 2 ids (151643…151662) and throw otherwise. Turn off only
   * for experiments with other tokenizers.
   * @defaultValue true
   */
  readonly verifySpecialTokens?: boolean;
}

/** Options of {@link CosyVoiceTokenizer.encode}. */
export interface EncodeOptions {
  /**
   * Qwen's chat-model control tokens (`<|endoftext|>`, `<|im_start|>`, `<|im_end|>`) to read as the characters they are
   * written with — the ids a tokenizer without them would give — instead of as their control id. The engine passes
   * all three for user text: CosyVoice gives them no meaning, so text that contains them is quoting them.
   * @defaultValue none (upstream: every added token written in the text becomes its id)
   */
  readonly literal?: readonly QwenAddedToken[];
}

/** Options of {@link CosyVoiceTokenizer.decode}. */
export interface DecodeOptions {
  /**
   * Drop the added tokens (`[laughter]`, `<|endofprompt|>`, …) from the output.
   * @defaultValue false
   */
  readonly skipSpecialTokens?: boolean;
}

/** Ids of a prompt text and a target text, tokenised separately (see {@link CosyVoiceTokenizer.encodePromptAndText}). */
export interface PromptAndTextIds {
  /** Ids of the prompt transcript (zero-shot) or the instruction (instruct2). */
  readonly promptIds: Int32Array;
  /** Ids of the text to speak. */
  readonly textIds: Int32Array;
  /** `promptIds ⊕ textIds`, the LLM text input. */
  readonly ids: Int32Array;
}

function invalid(message: string): Error {
  return new Error(`ERR_INVALID_INPUT: ${message}`);
}

/**
 * CosyVoice 2 tokenizer.
 *
 * @example
 * ```ts
 * const tok = CosyVoiceTokenizer.fromJson(await (await fetch(`${base}/tokenizer.json`)).text());
 * tok.encode('你好[laughter]'); // Int32Array [108386, 151651]
 * ```
 */
export class CosyVoiceTokenizer {
  readonly #inner: Tokenizer;
  readonly #vocabSize: number;

  private constructor(inner: Tokenizer, vocabSize: number) {
    this.#inner = inner;
    this.#vocabSize = vocabSize;
  }

  /**
   * Load a CosyVoice 2 `tokenizer.json` (the model package's file).
   *
   * @param json - The parsed object or the JSON text.
   * @param options - See {@link CosyVoiceTokenizerOptions}.
   * @returns The tokenizer.
   * @throws Error `ERR_INVALID_INPUT` when the JSON is not a tokenizer.json, or (with `verifySpecialTokens`) when an added
   *   token is missing or has the wrong id.
   */
  static fromJson(json: string | object, options: CosyVoiceTokenizerOptions = {}): CosyVoiceTokenizer {
    let parsed: unknown = json;
    if (typeof json === 'string') {
      try {
        parsed = JSON.parse(json) as unknown;
      } catch (cause) {
        throw new Error(`ERR_INVALID_INPUT: tokenizer.json is not valid JSON (${String(cause)}).`, { cause });
      }
    }
    if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
      throw invalid('expected a tokenizer.json object or its JSON text.');
    }
    const record = parsed as Record<string, unknown>;
    for (const key of ['model', 'added_tokens', 'normalizer', 'pre_tokenizer', 'post_processor', 'decoder']) {
      if (!(key in record)) {
        throw invalid(`tokenizer.json has no "${key}" member.`);
      }
    }
    if (!Array.isArray(record['added_tokens'])) {
      throw invalid('tokenizer.json "added_tokens" must be an array.');
    }
    let inner: Tokenizer;
    try {
      // clean_up_tokenization_spaces: false, as in Qwen2's tokenizer_config.json, so decode() is an exact inverse.
      inner = new Tokenizer(record, { clean_up_tokenization_spaces: false });
    } catch (cause) {
      throw new Error(`ERR_INVALID_INPUT: tokenizer.json could not be loaded (${String(cause)}).`, { cause });
    }
    if (options.verifySpecialTokens ?? true) {
      for (const token of COSYVOICE_ADDED_TOKENS) {
        const id = inner.token_to_id(token);
        if (id !== SPECIAL_TOKEN_IDS[token]) {
          throw invalid(
            `tokenizer.json maps ${token} to ${String(id)}, expected ${SPECIAL_TOKEN_IDS[token]}. ` +
              'Build it with buildCosyVoiceTokenizerJson() (CLI: tokenize --build-from).',
          );
        }
      }
    }
    const vocabSize = Math.max(inner.get_vocab(true).size, COSYVOICE_VOCAB_SIZE);
    return new CosyVoiceTokenizer(inner, vocabSize);
  }

  /**
   * Build the CosyVoice 2 tokenizer straight from a Qwen2 BPE `tokenizer.json` (see
   * {@link buildCosyVoiceTokenizerJson}).
   *
   * @param qwen - The Qwen tokenizer.json object or text.
   * @returns The tokenizer.
   */
  static fromQwenJson(qwen: unknown): CosyVoiceTokenizer {
    return CosyVoiceTokenizer.fromJson(buildCosyVoiceTokenizerJson(qwen));
  }

  /**
   * Number of ids (`max id + 1`), at least 151663.
   */
  get vocabSize(): number {
    return this.#vocabSize;
  }

  /**
   * Tokenise `text` (no BOS/EOS; special tags become single ids).
   *
   * @param text - Any string (the engine passes normalised segments).
   * @param options - See {@link EncodeOptions}.
   * @returns The ids.
   * @throws Error `ERR_INVALID_INPUT` when `text` is not a string.
   */
  encode(text: string, options: EncodeOptions = {}): Int32Array {
    const literal = options.literal ?? [];
    if (literal.length === 0) return Int32Array.from(this.#encode(text));
    return Int32Array.from(literalPieces(text, literal).flatMap((piece) => this.#encode(piece)));
  }

  /**
   * Number of tokens of `text`: the length metric of {@link splitParagraph} for English.
   *
   * @param text - Any string.
   * @returns `encode(text).length`.
   */
  countTokens(text: string): number {
    return this.#encode(text).length;
  }

  /**
   * Token strings of `text` (byte-level BPE symbols such as `Ġworld`), for debugging.
   *
   * @param text - Any string.
   * @returns The tokens.
   */
  tokenize(text: string): string[] {
    checkText(text);
    return this.#inner.encode(text, { add_special_tokens: false }).tokens;
  }

  /**
   * Tokenise a prompt text and a target text separately and concatenate the ids, as upstream does
   * (`prompt_ids ⊕ text_ids`; tokenising the joined string can merge tokens across the seam).
   *
   * @param promptText - Prompt transcript (zero-shot) or instruction ending with `<|endofprompt|>` (instruct2).
   * @param text - The text to speak.
   * @returns Both id arrays and their concatenation.
   */
  encodePromptAndText(promptText: string, text: string): PromptAndTextIds {
    const promptIds = this.encode(promptText);
    const textIds = this.encode(text);
    const ids = new Int32Array(promptIds.length + textIds.length);
    ids.set(promptIds, 0);
    ids.set(textIds, promptIds.length);
    return { promptIds, textIds, ids };
  }

  /**
   * Turn ids back into text.
   *
   * @param ids - Token ids in `0 … vocabSize - 1`.
   * @param options - See {@link DecodeOptions}.
   * @returns The text (`''` for no ids).
   * @throws Error `ERR_INVALID_INPUT` for a non-integer or out-of-range id.
   */
  decode(ids: ArrayLike<number>, options: DecodeOptions = {}): string {
    const list: number[] = [];
    for (let i = 0; i < ids.length; i++) {
      const id = ids[i];
      if (id === undefined || !Number.isInteger(id) || id < 0 || id >= this.#vocabSize) {
        throw invalid(`token id ${String(id)} at index ${i} is not an integer in 0…${this.#vocabSize - 1}.`);
      }
      list.push(id);
    }
    if (list.length === 0) {
      return '';
    }
    return this.#inner.decode(list, {
      skip_special_tokens: options.skipSpecialTokens ?? false,
      clean_up_tokenization_spaces: false,
    });
  }

  /**
   * Id of a token string (a BPE symbol or an added token).
   *
   * @param token - E.g. `'[laughter]'` or `'Ġworld'`.
   * @returns The id, or `undefined` if unknown.
   */
  tokenToId(token: string): number | undefined {
    return this.#inner.token_to_id(token);
  }

  /**
   * Token string of an id.
   *
   * @param id - Token id.
   * @returns The token, or `undefined` if unknown.
   */
  idToToken(id: number): string | undefined {
    return this.#inner.id_to_token(id);
  }

  /**
   * Id of one of the 20 added tokens (constant, independent of the loaded file once it was verified).
   *
   * @param token - E.g. `'<|endofprompt|>'`.
   * @returns The id, e.g. 151646.
   */
  specialTokenId(token: CosyVoiceAddedToken): number {
    return SPECIAL_TOKEN_IDS[token];
  }

  #encode(text: string): number[] {
    checkText(text);
    if (text.length === 0) {
      return [];
    }
    return this.#inner.encode(text, { add_special_tokens: false }).ids;
  }
}

/**
 * `text` cut inside every occurrence of the `literal` tokens, right after their leading `<|`, so that no piece contains
 * one whole. The cut is a boundary of Qwen's pre-tokeniser anyway (`<|` is a run of symbols and the token name
 * starts with a letter), so encoding the pieces one by one gives the ids of the whole text under a tokenizer that
 * lacks these tokens (a test checks it against such a tokenizer).
 */
function literalPieces(text: string, literal: readonly QwenAddedToken[]): string[] {
  checkText(text);
  const pieces: string[] = [];
  let start = 0;
  for (let at = text.indexOf('<|'); at !== -1; at = text.indexOf('<|', at + 2)) {
    if (literal.some((token) => text.startsWith(token, at))) {
      pieces.push(text.slice(start, at + 2));
      start = at + 2;
    }
  }
  pieces.push(text.slice(start));
  return pieces;
}

function checkText(text: unknown): asserts text is string {
  if (typeof text !== 'string') {
    throw invalid(`text must be a string, got ${text === null ? 'null' : typeof text}.`);
  }
}
