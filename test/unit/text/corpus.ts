/**
 * Test corpus for tokenizer parity: hand-written strings per category plus seeded random mixtures.
 */
import { COSYVOICE_ADDED_TOKENS } from '../../../src/text/tokenizer-json.ts';

/** Hand-written strings, grouped by what they exercise. */
export const HANDWRITTEN: Readonly<Record<string, readonly string[]>> = {
  zh: [
    '你好，世界！',
    '收到好友从远方寄来的生日礼物，那份意外的惊喜与深深的祝福让我心中充满了甜蜜的快乐，笑容如花儿般绽放。',
    '希望你以后能够做的比我还好呦。',
    '八百标兵奔北坡，北坡炮兵并排跑。',
    '二零二四年三月五日下午三点三十分，气温零下五摄氏度。',
    '他说：“你好。”然后走了。',
    '《红楼梦》是中国古典小说。',
    '（括号）【方括号】「引号」『双引号』',
    '繁體中文與簡體中文混合測試。',
    '一二三四五六七八九十百千万亿',
    '这是一个很长的句子，包含了许多逗号，顿号、分号；冒号：问号？感叹号！',
    '中文句子后面跟着English words和数字123。',
    '用四川话说这句话',
    '龘靐齉爩',
    '𠀀𠀁𪚥 (CJK extension B)',
  ],
  en: [
    'Hello world',
    'Hello, world!',
    "I'm here, you're there, they've gone, we'll see, he'd know, it's fine.",
    "DON'T SHOUT. I'LL WHISPER. She'S weird.",
    'The quick brown fox jumps over the lazy dog.',
    'I paid one thousand, two hundred and thirty-four dollars in two thousand and twenty-five.',
    'A sentence with  double  spaces and   triple spaces.',
    'Trailing space ',
    ' Leading space',
    'e-mail: someone@example.com, URL: https://example.com/path?q=1&x=y#frag',
    'snake_case camelCase PascalCase kebab-case SCREAMING_CASE',
    'Mr. Smith vs. Dr. Jones, e.g. U.S.A. i.e. etc.',
    'supercalifragilisticexpialidocious antidisestablishmentarianism',
    '"Quoted" \'single\' `backtick` «guillemets» „German“',
    'a',
    'A',
    'I',
    '.',
    '',
  ],
  ja: [
    'こんにちは、世界！',
    '今日はいい天気ですね。',
    'カタカナとひらがなと漢字が混ざった文章です。',
    'ｶﾀｶﾅ 半角カナ',
    '東京タワーは333メートルです。',
  ],
  ko: [
    '안녕하세요, 세계!',
    '오늘 날씨가 정말 좋네요.',
    '한국어와 English를 섞어서 씁니다.',
    '가나다라마바사아자차카타파하',
  ],
  otherScripts: [
    'Привет, мир! Как дела?',
    'Γειά σου Κόσμε',
    'مرحبا بالعالم',
    'שלום עולם',
    'नमस्ते दुनिया',
    'สวัสดีชาวโลก',
    'Xin chào thế giới, tiếng Việt có dấu.',
    'Ça va? Déjà vu, naïve café, Über straße, smørrebrød, Łódź.',
  ],
  digits: [
    '0',
    '1234567890',
    '3.14159265358979',
    '1,234,567.89',
    '-42 +42 ±42',
    '１２３４５ full-width digits',
    '٠١٢٣٤٥٦٧٨٩ Arabic-Indic digits',
    '²³¹ superscripts ½ ¼ ¾',
    'Phone: +1 (555) 123-4567',
    '2024-03-05T14:30:00Z',
    '100% 50‰ $5.99 €10 £3 ¥100 ₹500',
    'v1.2.3-beta.4+build.5',
    '0x1F 0b1010 1e-10 6.02e23',
  ],
  punctuation: [
    '!!!???...',
    '……——～～',
    '。，、；：？！',
    '“”‘’「」『』《》〈〉【】（）',
    '!"#$%&\'()*+,-./:;<=>?@[\\]^_`{|}~',
    '¡¿«»§¶†‡•·°©®™',
    '- - - -- --- ---- —— – —',
    '((nested (parentheses)))',
  ],
  emoji: [
    '😀😃😄😁',
    '👍🏽👍🏿',
    '👨‍👩‍👧‍👦 family',
    '🇨🇳🇺🇸🇯🇵 flags',
    '❤️ red heart with VS16',
    '我爱你❤️！',
    'I love 🍕 and 🍣.',
    '🤖🤖🤖 robots',
  ],
  whitespace: [
    'tab\tseparated\tvalues',
    'line\nbreak',
    'windows\r\nline',
    'many\n\n\nnewlines',
    ' \t \n ',
    '\u3000全角空格\u3000',
    'non\u00a0breaking\u00a0space',
    'thin\u2009space and\u200bzero-width',
    'narrow\u202fnbsp',
    'ideographic\u3000\u3000double',
    '\n\nleading newlines',
    'trailing newlines\n\n',
    '   ',
    '\t',
    'mixed \t\n\r\u3000\u00a0 whitespace run',
    '\u200d\u200c joiners',
    '\ufeffBOM at start',
  ],
  control: ['\u0000nul', 'bell\u0007', 'escape\u001b[31m', 'del\u007f'],
  // Lone surrogates (invalid UTF-16): both sides encode them as U+FFFD.
  loneSurrogates: ['a\ud800b', '\udc00', 'x\ud83d', '<strong>\ud800</strong>'],
};

/** Whether a string is well-formed UTF-16 (no lone surrogates). */
export function isWellFormed(s: string): boolean {
  return !/[\ud800-\udbff](?![\udc00-\udfff])|(?<![\ud800-\udbff])[\udc00-\udfff]/.test(s);
}

/** Strings that exercise the added tokens: each tag alone, at both ends, glued to text, repeated, and near-misses. */
export function tagStrings(): string[] {
  const out: string[] = [];
  for (const tag of COSYVOICE_ADDED_TOKENS) {
    out.push(tag);
    out.push(`你好${tag}世界`);
    out.push(`Hello${tag}world`);
    out.push(` ${tag} `);
    out.push(`${tag}${tag}`);
    out.push(`start ${tag}`);
  }
  out.push(
    '在他讲述那个荒诞故事的过程中，他突然[laughter]停下来，因为他自己也被逗笑了[laughter]。',
    '追求卓越不是终点，它需要你每天都<strong>付出</strong>和<strong>精进</strong>，最终才能达到巅峰。',
    'You are a helpful assistant.<|endofprompt|>希望你以后能够做的比我还好呦。',
    '用四川话说这句话<|endofprompt|>收到好友从远方寄来的生日礼物。',
    '<laughter>笑着说</laughter>[breath]然后[sigh]叹气[cough][noise][mn]',
    '[quick_breath][breath][vocalized-noise][lipsmack][clucking][accent][hissing]',
    '<|im_start|>user\nhi<|im_end|>\n<|im_start|>assistant\n',
    '<|endoftext|><|endoftext|>',
    // Near misses: must not become added tokens.
    '[laughter',
    'laughter]',
    '[Laughter]',
    '[LAUGHTER]',
    '[ laughter ]',
    '<strong >',
    '< strong>',
    '<|endofprompt|',
    '|endofprompt|>',
    '<|endofprompt>',
    '[breath[breath]]',
    '<<strong>>',
    '</strong</strong>>',
    '[quick_breath',
    '[vocalized noise]',
    '<|object_ref_start|>',
    '<think></think>',
  );
  return out;
}

/** Accented and Hangul strings in NFC and NFD form (the tokenizer's NFC normaliser must make them equal). */
export function normalizationForms(): string[] {
  const base = [
    'café',
    'naïve résumé',
    'Ångström',
    'Việt Nam',
    '한국어',
    '가각갂',
    'ﬁ ligature',
    'Å Å',
    'がぎぐげご',
    'パピプペポ',
    'e\u0301\u0302 stacked',
  ];
  const out: string[] = [];
  for (const s of base) {
    out.push(s.normalize('NFC'), s.normalize('NFD'));
  }
  return out;
}

/** Mulberry32: a tiny seeded PRNG so the random corpus is the same on every run. */
export function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

const POOLS: readonly (readonly string[])[] = [
  Array.from('的一是不了在人有我他这个们中来上大为和国地到以说时要就出会可也你对生能而子那得于着下自之年过发后作里'),
  Array.from('abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ'),
  ['the ', 'and ', 'speech ', 'voice ', 'token ', "it's ", 'New York ', 'ing', 'tion'],
  Array.from('0123456789'),
  Array.from('.,;:!?-—…"\'()[]{}<>/\\|@#$%^&*_=+~`'),
  Array.from('。，、；：？！“”‘’《》（）【】'),
  [' ', ' ', ' ', '  ', '\t', '\n', '\r\n', '\u3000', '\u00a0', '\u2009'],
  Array.from('あいうえおかきくけこアイウエオカキクケコ'),
  Array.from('가나다라마바사아자차카타파하한국어'),
  ['😀', '👍🏽', '🎉', '❤️', '🇯🇵', '👨‍💻'],
  [...COSYVOICE_ADDED_TOKENS],
  Array.from('àéîõüçñßøåæœ'),
  ['e\u0301', 'a\u0308', '\u1100\u1161'],
];

/** `count` random strings mixing all pools (deterministic for a seed). */
export function randomStrings(count: number, seed = 20250101): string[] {
  const rand = mulberry32(seed);
  const pick = <T>(items: readonly T[]): T => items[Math.floor(rand() * items.length)] as T;
  const out: string[] = [];
  for (let n = 0; n < count; n++) {
    const length = 1 + Math.floor(rand() * 40);
    // Each string favours a few pools, like real mixed-script text.
    const pools = [pick(POOLS), pick(POOLS), pick(POOLS)];
    let s = '';
    for (let i = 0; i < length; i++) {
      s += pick(rand() < 0.15 ? pick(POOLS) : pick(pools));
    }
    out.push(s);
  }
  return out;
}

/** The whole parity corpus. */
export function parityCorpus(): string[] {
  return [...Object.values(HANDWRITTEN).flat(), ...tagStrings(), ...normalizationForms(), ...randomStrings(200)];
}
