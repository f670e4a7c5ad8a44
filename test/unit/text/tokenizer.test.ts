/**
 * The CosyVoice 2 tokenizer (@huggingface/tokenizers, pure JS) against Hugging Face's Rust `tokenizers`
 * (`@anush008/tokenizers`, the library the Python stack uses), on the real Qwen2 BPE.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

import { Tokenizer as RustTokenizer } from '@anush008/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

import { CosyVoiceTokenizer } from '../../../src/text/tokenizer.ts';
import {
  COSYVOICE_ADDED_TOKENS,
  COSYVOICE_SPECIAL_TOKENS,
  COSYVOICE_VOCAB_SIZE,
  QWEN_ADDED_TOKENS,
  SPECIAL_TOKEN_IDS,
  buildCosyVoiceTokenizerJson,
  serializeTokenizerJson,
  type TokenizerJson,
} from '../../../src/text/tokenizer-json.ts';
import { HANDWRITTEN, isWellFormed, normalizationForms, parityCorpus, tagStrings } from './corpus.ts';
import { cosyVoiceTokenizer, cosyVoiceTokenizerJson, qwenTokenizerText } from './qwen.ts';

/** The 20 ids of spec §2.2, written out (not derived from the code under test). */
const EXPECTED_IDS: readonly (readonly [string, number])[] = [
  ['<|endoftext|>', 151643],
  ['<|im_start|>', 151644],
  ['<|im_end|>', 151645],
  ['<|endofprompt|>', 151646],
  ['[breath]', 151647],
  ['<strong>', 151648],
  ['</strong>', 151649],
  ['[noise]', 151650],
  ['[laughter]', 151651],
  ['[cough]', 151652],
  ['[clucking]', 151653],
  ['[accent]', 151654],
  ['[quick_breath]', 151655],
  ['<laughter>', 151656],
  ['</laughter>', 151657],
  ['[hissing]', 151658],
  ['[sigh]', 151659],
  ['[vocalized-noise]', 151660],
  ['[lipsmack]', 151661],
  ['[mn]', 151662],
];

let dir: string;
let rust: RustTokenizer;
let tok: CosyVoiceTokenizer;
let json: TokenizerJson;

beforeAll(() => {
  dir = mkdtempSync(join(tmpdir(), 'cosyvoice-tok-'));
  json = cosyVoiceTokenizerJson();
  const path = join(dir, 'tokenizer.json');
  writeFileSync(path, serializeTokenizerJson(json));
  rust = RustTokenizer.fromFile(path);
  tok = cosyVoiceTokenizer();
});

afterAll(() => {
  rmSync(dir, { recursive: true, force: true });
});

async function rustIds(text: string): Promise<number[]> {
  return (await rust.encode(text)).getIds();
}

describe('tokenizer.json construction', () => {
  it('has the 3 Qwen and 17 CosyVoice added tokens at their exact ids', () => {
    expect(json.added_tokens.map((t) => [t.content, t.id])).toEqual(EXPECTED_IDS);
    expect(COSYVOICE_ADDED_TOKENS).toEqual(EXPECTED_IDS.map(([t]) => t));
    expect(QWEN_ADDED_TOKENS).toHaveLength(3);
    expect(COSYVOICE_SPECIAL_TOKENS).toHaveLength(17);
    expect(COSYVOICE_VOCAB_SIZE).toBe(151663);
    for (const [token, id] of EXPECTED_IDS) {
      expect(SPECIAL_TOKEN_IDS[token as keyof typeof SPECIAL_TOKEN_IDS]).toBe(id);
    }
    for (const t of json.added_tokens) {
      expect(t).toEqual({
        id: t.id,
        content: t.content,
        single_word: false,
        lstrip: false,
        rstrip: false,
        normalized: false,
        special: true,
      });
    }
  });

  it('drops the Qwen3 added tokens above 151645 and keeps the BPE untouched', () => {
    const qwen = JSON.parse(qwenTokenizerText()) as TokenizerJson;
    expect(qwen.added_tokens.length).toBeGreaterThan(20);
    expect(json.model.vocab['Hello']).toBe(9707);
    expect(json.model.vocab).toEqual(qwen.model.vocab);
    expect(Object.keys(json.model.vocab)).toHaveLength(151643);
    expect(json.normalizer).toEqual({ type: 'NFC' });
    expect(json.post_processor).toEqual({
      type: 'ByteLevel',
      add_prefix_space: false,
      trim_offsets: false,
      use_regex: false,
    });
    expect(json.truncation).toBeNull();
    expect(json.padding).toBeNull();
  });

  it('is byte-identical to what the Rust library writes after add_special_tokens (the Python exporter path)', () => {
    // Python: Tokenizer.from_file(blanken) ; add_special_tokens(["<|endoftext|>", *specials]) ; to_str()
    const base = JSON.parse(qwenTokenizerText()) as { added_tokens: { id: number }[] };
    base.added_tokens = base.added_tokens.filter((t) => t.id <= 151645);
    const basePath = join(dir, 'base.json');
    writeFileSync(basePath, JSON.stringify(base));
    const viaRust = RustTokenizer.fromFile(basePath);
    viaRust.addSpecialTokens(['<|endoftext|>', ...COSYVOICE_SPECIAL_TOKENS]);
    const savedPath = join(dir, 'saved.json');
    viaRust.save(savedPath, false);
    const saved = readFileSync(savedPath, 'utf8');
    const ours = serializeTokenizerJson(json);
    expect(ours.length).toBe(saved.length);
    expect(ours === saved).toBe(true);
  });

  it('accepts the JSON text as well as the object, and does not modify its input', () => {
    const text = qwenTokenizerText();
    const fromText = buildCosyVoiceTokenizerJson(text);
    expect(fromText.added_tokens).toEqual(json.added_tokens);
    const tiny = {
      normalizer: null,
      pre_tokenizer: null,
      decoder: null,
      added_tokens: [{ id: 5, content: 'x' }],
      model: { type: 'BPE', vocab: { a: 0, b: 1 }, merges: [] },
    };
    const built = buildCosyVoiceTokenizerJson(tiny);
    expect(tiny.added_tokens).toEqual([{ id: 5, content: 'x' }]);
    expect(built.added_tokens).toHaveLength(20);
  });

  it('rejects inputs that are not a Qwen BPE tokenizer.json with clear messages', () => {
    expect(() => buildCosyVoiceTokenizerJson('{not json')).toThrow(
      /ERR_INVALID_INPUT: tokenizer.json is not valid JSON/,
    );
    expect(() => buildCosyVoiceTokenizerJson(42)).toThrow(/ERR_INVALID_INPUT: expected a Hugging Face tokenizer.json/);
    expect(() => buildCosyVoiceTokenizerJson({ model: { type: 'WordPiece', vocab: {} } })).toThrow(
      /must be a BPE model/,
    );
    const base = { normalizer: null, pre_tokenizer: null, decoder: null };
    expect(() =>
      buildCosyVoiceTokenizerJson({ ...base, model: { type: 'BPE', vocab: { a: 151643 }, merges: [] } }),
    ).toThrow(/ids must be integers in 0…151642/);
    expect(() =>
      buildCosyVoiceTokenizerJson({ ...base, model: { type: 'BPE', vocab: { '[mn]': 3 }, merges: [] } }),
    ).toThrow(/already contains the added token "\[mn\]"/);
    expect(() => buildCosyVoiceTokenizerJson({ model: { type: 'BPE', vocab: {}, merges: [] } })).toThrow(
      /no "normalizer" member/,
    );
  });
});

describe('CosyVoiceTokenizer vs the Rust tokenizers library', () => {
  it('maps each of the 20 added tokens to its single id in both implementations', async () => {
    for (const [token, id] of EXPECTED_IDS) {
      expect(tok.tokenToId(token)).toBe(id);
      expect(rust.tokenToId(token)).toBe(id);
      expect(Array.from(tok.encode(token))).toEqual([id]);
      expect(await rustIds(token)).toEqual([id]);
      expect(tok.idToToken(id)).toBe(token);
      expect(tok.specialTokenId(token as (typeof COSYVOICE_ADDED_TOKENS)[number])).toBe(id);
    }
  });

  const corpus = parityCorpus();

  it(`uses a corpus of at least 300 varied strings (${corpus.length})`, () => {
    expect(corpus.length).toBeGreaterThanOrEqual(300);
    expect(new Set(corpus).size).toBeGreaterThanOrEqual(300);
    for (const category of ['zh', 'en', 'ja', 'ko', 'digits', 'punctuation', 'emoji', 'whitespace']) {
      expect(HANDWRITTEN[category]?.length ?? 0).toBeGreaterThan(3);
    }
    expect(tagStrings().length).toBeGreaterThan(120);
    expect(normalizationForms().some((s) => s !== s.normalize('NFC'))).toBe(true);
  });

  it('gives identical ids on every corpus string', async () => {
    const mismatches: { text: string; ours: number[]; rust: number[] }[] = [];
    const expected = await Promise.all(corpus.map(rustIds));
    corpus.forEach((text, i) => {
      const ours = Array.from(tok.encode(text));
      const theirs = expected[i] ?? [];
      if (JSON.stringify(ours) !== JSON.stringify(theirs)) {
        mismatches.push({ text, ours, rust: theirs });
      }
    });
    expect(mismatches).toEqual([]);
  });

  it('decodes back to the NFC text, like the Rust decoder', async () => {
    const sample = corpus.filter((s) => s.length > 0 && isWellFormed(s)).slice(0, 150);
    for (const text of sample) {
      const ids = Array.from(tok.encode(text));
      const ours = tok.decode(ids);
      expect(ours).toBe(await rust.decode(ids, false));
      expect(ours).toBe(text.normalize('NFC'));
    }
    expect(tok.decode([])).toBe('');
    expect(tok.decode(tok.encode('你好[laughter]世界'), { skipSpecialTokens: true })).toBe('你好世界');
  });

  it('known difference: combining marks newer than the Rust NFC tables are reordered only by JS', async () => {
    // The tokenizer's NFC normaliser is String.prototype.normalize (the JS engine's ICU, current Unicode) on one side
    // and the Rust crate's frozen Unicode tables on the other. They disagree only on canonical reordering of a few
    // dozen combining marks added to Unicode after those tables (e.g. U+1AC2/U+1AC3, Unicode 14) — never on Chinese,
    // English or any text the model was trained on.
    const text = 'a\u1ac2\u1ac3';
    expect(text.normalize('NFC')).toBe('a\u1ac3\u1ac2');
    expect(Array.from(tok.encode(text))).not.toEqual(await rustIds(text));
    expect(Array.from(tok.encode(text))).toEqual(await rustIds('a\u1ac3\u1ac2'));
  });

  it('makes NFD input tokenise like NFC input', () => {
    for (const s of ['café', 'Việt Nam', '한국어', 'パピプペポ']) {
      expect(Array.from(tok.encode(s.normalize('NFD')))).toEqual(Array.from(tok.encode(s.normalize('NFC'))));
    }
  });
});

describe('CosyVoiceTokenizer API', () => {
  it('adds no BOS/EOS and returns Int32Array', () => {
    const ids = tok.encode('Hello world');
    expect(ids).toBeInstanceOf(Int32Array);
    expect(Array.from(ids)).toEqual([9707, 1879]);
    expect(tok.encode('')).toHaveLength(0);
    expect(tok.countTokens('Hello world')).toBe(2);
    expect(tok.tokenize('Hello world')).toEqual(['Hello', 'Ġworld']);
    expect(tok.vocabSize).toBe(151663);
  });

  it('tokenises prompt and target separately (ids can differ from tokenising the joined text)', () => {
    const { promptIds, textIds, ids } = tok.encodePromptAndText('希望你以后能够做的比我还好呦。', '收到好友的礼物');
    expect(Array.from(ids)).toEqual([...promptIds, ...textIds]);
    const a = tok.encodePromptAndText('Hello', ' world');
    expect(Array.from(a.ids)).toEqual([...tok.encode('Hello'), ...tok.encode(' world')]);
    // "ab" + "c" vs "abc": the seam matters.
    const seam = tok.encodePromptAndText('hel', 'lo');
    expect(Array.from(seam.ids)).not.toEqual(Array.from(tok.encode('hello')));
  });

  it('loads from JSON text and verifies the special tokens', () => {
    const text = serializeTokenizerJson(json);
    const fromText = CosyVoiceTokenizer.fromJson(text);
    expect(Array.from(fromText.encode('你好[laughter]'))).toEqual(Array.from(tok.encode('你好[laughter]')));
    const qwenRaw = JSON.parse(qwenTokenizerText()) as object;
    expect(() => CosyVoiceTokenizer.fromJson(qwenRaw)).toThrow(
      /ERR_INVALID_INPUT: tokenizer.json maps <\|endofprompt\|> to undefined, expected 151646/,
    );
    const unverified = CosyVoiceTokenizer.fromJson(qwenRaw, { verifySpecialTokens: false });
    expect(unverified.tokenToId('<|object_ref_start|>')).toBe(151646);
    expect(Array.from(CosyVoiceTokenizer.fromQwenJson(qwenRaw).encode('[mn]'))).toEqual([151662]);
  });

  it('rejects bad input with ERR_INVALID_INPUT messages', () => {
    expect(() => CosyVoiceTokenizer.fromJson('{')).toThrow(/ERR_INVALID_INPUT: tokenizer.json is not valid JSON/);
    expect(() => CosyVoiceTokenizer.fromJson('[]')).toThrow(/expected a tokenizer.json object/);
    expect(() => CosyVoiceTokenizer.fromJson({ model: {} })).toThrow(/has no "added_tokens" member/);
    expect(() => tok.encode(42 as unknown as string)).toThrow(/ERR_INVALID_INPUT: text must be a string, got number/);
    expect(() => tok.decode([1.5])).toThrow(/token id 1.5 at index 0 is not an integer in 0…151662/);
    expect(() => tok.decode([151663])).toThrow(/not an integer in 0…151662/);
    expect(() => tok.decode([-1])).toThrow(/ERR_INVALID_INPUT/);
  });
});
