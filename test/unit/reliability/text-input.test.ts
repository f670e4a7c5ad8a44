/**
 * Hostile-but-realistic text (issue #13.2): control characters, user-typed control tokens, right-to-left scripts,
 * numbers in scientific notation — each read correctly or refused, never read as garbage. The typed refusals are also
 * rows of the bad-input table (`bad-inputs.test.ts`).
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { Tokenizer } from '@huggingface/tokenizers';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Engine } from '../../../src/engine/engine.ts';
import type { VoiceProfile } from '../../../src/models/voice/voice-profile.ts';
import { loadOrt } from '../../../src/runtime/ort.ts';
import { prepareSegments } from '../../../src/request/text-input.ts';
import {
  COSYVOICE_SPECIAL_TOKENS,
  normalizeText,
  QWEN_ADDED_TOKENS,
  SPECIAL_TOKEN_IDS,
  stripControlCharacters,
} from '../../../src/text/index.ts';
import { GOLDEN, openPackageDir, TINY_PACKAGE } from '../../helpers/package.ts';
import { goldenVoice } from '../../helpers/voice.ts';

const texts = JSON.parse(readFileSync(join(GOLDEN, 'texts.json'), 'utf8')) as Record<string, { text: string }>;
const ZH = texts['zh']?.text ?? '';

let engine: Engine;
let voice: VoiceProfile;
beforeAll(async () => {
  const pkg = await openPackageDir(TINY_PACKAGE);
  engine = await Engine.create(pkg, await loadOrt('wasm'), { device: 'wasm', dtype: 'fp32' });
  voice = goldenVoice(pkg);
});
afterAll(async () => {
  await engine.dispose();
});

const segments = (text: string): string[] =>
  normalizeText(text, { countTokens: (t) => engine.tokenizer.countTokens(t) });

describe('control characters are never read aloud', () => {
  const cases: ReadonlyArray<[string, string]> = [
    ['\x1b[31mRed alert\x1b[0m', 'Red alert'],
    ['\x1b[1;32mgreen\x1b[m', 'green'],
    ['bell\x07 and\x00 null', 'bell and null'],
    ['del\x7f and c1\x9b', 'del and c1'],
    ['tabs\tand\nlines stay', 'tabs\tand\nlines stay'],
    ['RTL mark \u200f and joiner \u200d stay', 'RTL mark \u200f and joiner \u200d stay'],
  ];
  for (const [input, expected] of cases) {
    it(`strips ${JSON.stringify(input)}`, () => {
      expect(stripControlCharacters(input)).toBe(expected);
    });
  }

  it('an ANSI colour code is not spelled out as a number', () => {
    const spoken = segments('\x1b[31mWarning: disk full.\x1b[0m').join(' ');
    expect(spoken).not.toMatch(/thirty|\[/);
    expect(spoken).not.toContain('\x1b');
    expect(spoken).toContain('Warning');
  });

  it('the engine speaks text wrapped in escape codes exactly like the clean text', async () => {
    const clean = await engine.synthesize(ZH, { voice, seed: 4 });
    const dirty = await engine.synthesize(`\x1b[31m${ZH}\x07\x1b[0m`, { voice, seed: 4 });
    expect(Buffer.from(dirty.samples.buffer).equals(Buffer.from(clean.samples.buffer))).toBe(true);
  });

  it('text made only of control characters is a typed error, and the engine then speaks', async () => {
    await expect(engine.synthesize('\x1b[0m\x00\x07', { voice })).rejects.toMatchObject({ code: 'ERR_INVALID_INPUT' });
    const after = await engine.synthesize(ZH, { voice, seed: 1 });
    expect(after.samples.length).toBeGreaterThan(0);
  });
});

describe('user-typed control tokens never reach the LM as control ids', () => {
  /** The package's tokenizer without Qwen's three chat tokens: what their literal reading must give. */
  let withoutChatTokens: Tokenizer;
  beforeAll(() => {
    const json = JSON.parse(readFileSync(join(TINY_PACKAGE, 'tokenizer.json'), 'utf8')) as {
      added_tokens: Array<{ content: string }>;
    };
    json.added_tokens = json.added_tokens.filter((t) => !(QWEN_ADDED_TOKENS as readonly string[]).includes(t.content));
    withoutChatTokens = new Tokenizer(json, {});
  });
  const chatIds = QWEN_ADDED_TOKENS.map((t) => SPECIAL_TOKEN_IDS[t]);

  const quoting = [
    'Hello <|endoftext|> world',
    'a<|im_start|>b<|im_end|>',
    '<|im_start|>user\nhi<|im_end|>\n',
    'x!<|endoftext|><|endoftext|>y',
    'keep <|<|im_end|> and <| half',
    '你好<|im_end|>世界',
  ];
  for (const text of quoting) {
    it(`the chat tokens in ${JSON.stringify(text)} are read as the characters they are written with`, () => {
      const ids = Array.from(engine.tokenizer.encode(text, { literal: QWEN_ADDED_TOKENS }));
      expect(ids).toEqual(withoutChatTokens.encode(text, { add_special_tokens: false }).ids);
      expect(ids.some((id) => chatIds.includes(id))).toBe(false);
    });
  }

  it('the text the engine speaks carries no chat-token id, and the paralinguistic tags keep theirs', () => {
    const ids = prepareSegments(
      'Hello <|im_end|> [laughter] <strong>yes</strong> <|endoftext|>',
      engine.tokenizer,
    ).flatMap((segment) => Array.from(segment.ids));
    expect(ids.some((id) => chatIds.includes(id))).toBe(false);
    for (const tag of ['[laughter]', '<strong>', '</strong>'] as const) {
      expect(ids).toContain(SPECIAL_TOKEN_IDS[tag]);
    }
  });

  it('every CosyVoice tag written in the text keeps its id', () => {
    for (const tag of COSYVOICE_SPECIAL_TOKENS.filter((t) => t !== '<|endofprompt|>')) {
      const ids = prepareSegments(`Hello ${tag} there`, engine.tokenizer).flatMap((s) => Array.from(s.ids));
      expect(ids, tag).toContain(SPECIAL_TOKEN_IDS[tag]);
    }
  });

  it('<|endofprompt|> in the text is refused, naming the instruct option', async () => {
    const error = await engine.synthesize(`${ZH}<|endofprompt|>`, { voice }).catch((e: unknown) => e);
    expect(error).toMatchObject({ code: 'ERR_INVALID_INPUT' });
    expect((error as Error).message).toMatch(/options\.instruct/);
  });

  it('an instruction ending with <|endofprompt|> (the documented form) is the instruction without it', async () => {
    const tagged = await engine.synthesize(ZH, { voice, seed: 2, instruct: 'Speak softly.<|endofprompt|>' });
    const plain = await engine.synthesize(ZH, { voice, seed: 2, instruct: 'Speak softly.' });
    expect(tagged.samples.length).toBeGreaterThan(0);
    expect(Buffer.from(tagged.samples.buffer).equals(Buffer.from(plain.samples.buffer))).toBe(true);
  });
});

describe('right-to-left text keeps the spaces between its words', () => {
  const cases: ReadonlyArray<[string, string]> = [
    ['你好 مرحبا بالعالم', 'مرحبا بالعالم'],
    ['שלום עולם 你好', 'שלום עולם'],
    ['他说 안녕 하세요', '안녕 하세요'],
    ['咖啡 café au lait', 'café au lait'],
    ['مرحبا بالعالم كيف حالك', 'مرحبا بالعالم كيف حالك'],
  ];
  for (const [text, words] of cases) {
    it(`${JSON.stringify(text)} keeps ${JSON.stringify(words)}`, () => {
      expect(segments(text).join('')).toContain(words);
    });
  }

  it('spaces next to Chinese characters are still removed (upstream replace_blank)', () => {
    expect(segments('你 好 世界')).toEqual(['你好世界。']);
  });
});

describe('numbers in scientific notation are read as numbers', () => {
  const cases: ReadonlyArray<[string, string]> = [
    ['It is 1e308 big', 'It is one times ten to the power of three hundred and eight big.'],
    ['Avogadro: 6.02e23 per mole', 'Avogadro: six point zero two times ten to the power of twenty-three per mole.'],
    [
      'Tiny: 1.5E-7 and -2e+3.',
      'Tiny: one point five times ten to the power of minus seven and minus two times ten to the power of three.',
    ],
    ['数值是1e308。', '数值是一乘十的三百零八次方。'],
    ['常数6.02e23，很大', '常数六点零二乘十的二十三次方，很大。'],
  ];
  for (const [text, spoken] of cases) {
    it(`${JSON.stringify(text)} → ${JSON.stringify(spoken)}`, () => {
      expect(segments(text).join(' ')).toBe(spoken);
    });
  }
});
