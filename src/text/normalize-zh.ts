/**
 * Chinese text normalisation: the TypeScript stand-in for `wetext` Chinese TN (WeTextProcessing FSTs,
 * `Normalizer(remove_erhua=False)`) in upstream CosyVoice's front-end (spec §2.1). Numbers and symbols become Chinese
 * characters: integers, decimals, percentages, fractions, dates, times, money, phone numbers, units, ordinals, ranges,
 * scores and simple arithmetic.
 *
 * Deliberate differences from wetext-zh, and why:
 * - **两**: a bare 2 directly before a measure word (2个 → 两个, 2小时 → 两小时, 2万 → 两万) and a leading 2 before 百/千/万/亿
 *   (2000 → 两千, 20000 → 两万) read 两, as Mandarin speakers say it; 2 in ordinals, months, dates, digit strings, "2年级" and
 *   after a decimal point stays 二.
 * - **Phone numbers** read 1 as 幺 (13812345678 → 幺三八幺二三四五六七八), the spoken convention for telephone numbers.
 * - Times drop zero minutes (8:00 → 八点); minutes under ten read 零X分 (8:05 → 八点零五分).
 * - Negative temperatures read 零下 (−5℃ → 零下五摄氏度).
 * - ¥ amounts with two decimals read 元/角/分 (¥12.50 → 十二元五角); other currencies read decimals (三点五美元).
 * - Not done: traditional→simplified conversion, interjection removal, full-width→half-width for anything but digits,
 *   letters and `%`/`.`/`:` between digits, erhua handling (upstream passes `remove_erhua=False` anyway).
 */

const DIGITS = '零一二三四五六七八九';
const SMALL_UNITS = ['', '十', '百', '千'] as const;
const BIG_UNITS = ['', '万', '亿', '万亿'] as const;

/** Measure words (and magnitude characters) after which a bare 2 reads 两. */
const LIANG_MEASURES = [
  '个',
  '只',
  '位',
  '名',
  '条',
  '件',
  '张',
  '本',
  '次',
  '天',
  '岁',
  '小时',
  '钟头',
  '分钟',
  '秒钟',
  '周',
  '星期',
  '台',
  '辆',
  '家',
  '种',
  '块',
  '杯',
  '双',
  '对',
  '斤',
  '公斤',
  '千克',
  '克',
  '吨',
  '公里',
  '千米',
  '米',
  '厘米',
  '倍',
  '份',
  '元',
  '美元',
  '欧元',
  '英镑',
  '日元',
  '港元',
  '人',
  '口',
  '瓶',
  '盒',
  '包',
  '遍',
  '趟',
  '场',
  '所',
  '座',
  '架',
  '艘',
  '部',
  '首',
  '篇',
  '句',
  '套',
  '间',
  '层',
  '颗',
  '棵',
  '匹',
  '头',
  '门',
  '项',
  '股',
  '批',
  '把',
  '根',
  '支',
  '片',
  '样',
  '组',
  '轮',
  '届',
  '季',
  '集',
  '百',
  '千',
  '万',
  '亿',
] as const;
const LIANG_BEFORE = new RegExp(`^(?:${LIANG_MEASURES.join('|')}|年(?!级|代))`);

/**
 * Read the digits of `s` one by one: `'0123'` → 零一二三.
 *
 * @param s - ASCII digits (other characters are dropped).
 * @param phone - Read 1 as 幺 (telephone style).
 * @returns Chinese digits.
 */
export function readChineseDigits(s: string, phone = false): string {
  let out = '';
  for (const ch of s) {
    const d = ch.charCodeAt(0) - 48;
    if (d >= 0 && d <= 9) {
      out += phone && d === 1 ? '幺' : (DIGITS[d] ?? '');
    }
  }
  return out;
}

function readGroup(group: string): string {
  // group: up to four digits, no leading zeros guaranteed by the caller only for the top group.
  let out = '';
  let zeroPending = false;
  const len = group.length;
  for (let i = 0; i < len; i++) {
    const d = group.charCodeAt(i) - 48;
    const pos = len - 1 - i;
    if (d === 0) {
      zeroPending = out !== '';
      continue;
    }
    if (zeroPending) {
      out += '零';
      zeroPending = false;
    }
    out += (DIGITS[d] ?? '') + (SMALL_UNITS[pos] ?? '');
  }
  return out;
}

/** Options of {@link readChineseInteger}. */
export interface ChineseIntegerOptions {
  /**
   * Read a leading 2 before 百/千/万/亿 as 两 (2000 → 两千). Off for ordinals and numbers read as names.
   * @defaultValue true
   */
  readonly liang?: boolean;
}

/**
 * Read a non-negative integer in Chinese: 10 → 十, 15 → 十五, 110 → 一百一十, 1001 → 一千零一, 100010 → 十万零一十,
 * 2000 → 两千, 123456789 → 一亿二千三百四十五万六千七百八十九. Numbers with more than 16 digits are read digit by digit.
 *
 * @param digits - ASCII digits (leading zeros are ignored).
 * @param options - See {@link ChineseIntegerOptions}.
 * @returns Chinese numerals.
 */
export function readChineseInteger(digits: string, options: ChineseIntegerOptions = {}): string {
  const s = digits.replace(/^0+/, '');
  if (s === '') return '零';
  if (s.length > 16) return readChineseDigits(s);
  const groups: string[] = [];
  for (let end = s.length; end > 0; end -= 4) {
    groups.unshift(s.slice(Math.max(0, end - 4), end));
  }
  let out = '';
  let needZero = false;
  for (let gi = 0; gi < groups.length; gi++) {
    const group = groups[gi] ?? '';
    const unit = BIG_UNITS[groups.length - 1 - gi] ?? '';
    const value = Number(group);
    if (value === 0) {
      needZero = out !== '';
      continue;
    }
    if (out !== '' && (needZero || group.startsWith('0'))) {
      out += '零';
    }
    out += readGroup(group) + unit;
    needZero = false;
  }
  // 一十五 → 十五 when the number starts with 10–19 in its top group (15, 15万, 15亿).
  if (out.startsWith('一十')) {
    out = out.slice(1);
  }
  if ((options.liang ?? true) && /^二[百千万亿]/.test(out)) {
    out = `两${out.slice(1)}`;
  }
  return out;
}

/** Decimal reading: 3.14 → 三点一四, 0.5 → 零点五, 1,234.5 → 一千二百三十四点五. */
function readDecimal(token: string, liang = false): string {
  const plain = token.replace(/,/g, '');
  const [whole = '0', fraction] = plain.split('.');
  const integer = /^0\d+$/.test(whole) ? readChineseDigits(whole) : readChineseInteger(whole, { liang });
  return fraction === undefined ? integer : `${integer}点${readChineseDigits(fraction)}`;
}

/**
 * Read a number token in Chinese: integers (with or without thousands separators), decimals, and digit strings with a
 * leading zero (read digit by digit).
 *
 * @param token - E.g. `'1,234'`, `'3.14'`, `'007'`.
 * @param options - See {@link ChineseIntegerOptions}; `liang` only affects the integer part.
 * @returns Chinese numerals.
 */
export function readChineseNumber(token: string, options: ChineseIntegerOptions = {}): string {
  const plain = token.replace(/,/g, '');
  if (/^0\d+$/.test(plain)) return readChineseDigits(plain);
  return readDecimal(plain, options.liang ?? true);
}

const NUM = String.raw`\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?`;

/** Unit symbols after a number → Chinese. Longest first when matching. */
const UNITS: Readonly<Record<string, string>> = {
  km: '千米',
  m: '米',
  dm: '分米',
  cm: '厘米',
  mm: '毫米',
  μm: '微米',
  µm: '微米',
  nm: '纳米',
  kg: '千克',
  g: '克',
  mg: '毫克',
  t: '吨',
  L: '升',
  l: '升',
  ml: '毫升',
  mL: '毫升',
  'km/h': '千米每小时',
  'm/s': '米每秒',
  '°C': '摄氏度',
  '℃': '摄氏度',
  '°F': '华氏度',
  '℉': '华氏度',
  '°': '度',
  h: '小时',
  min: '分钟',
  s: '秒',
  ms: '毫秒',
  Hz: '赫兹',
  kHz: '千赫兹',
  MHz: '兆赫兹',
  GHz: '吉赫兹',
  KB: '千字节',
  kB: '千字节',
  MB: '兆字节',
  GB: '吉字节',
  TB: '太字节',
  W: '瓦',
  kW: '千瓦',
  kWh: '千瓦时',
  V: '伏',
  mAh: '毫安时',
  'm²': '平方米',
  '㎡': '平方米',
  'km²': '平方千米',
  'cm²': '平方厘米',
  'm³': '立方米',
  'cm³': '立方厘米',
};

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const UNIT_ALTERNATION = Object.keys(UNITS)
  .sort((a, b) => b.length - a.length)
  .map(escapeRegExp)
  .join('|');

const CURRENCY_PREFIX: Readonly<Record<string, string>> = {
  '¥': '元',
  '￥': '元',
  RMB: '元',
  CNY: '元',
  $: '美元',
  US$: '美元',
  USD: '美元',
  HK$: '港元',
  HKD: '港元',
  '€': '欧元',
  EUR: '欧元',
  '£': '英镑',
  GBP: '英镑',
  JPY: '日元',
  '₩': '韩元',
};

function yuan(amount: string, magnitude: string): string {
  const plain = amount.replace(/,/g, '');
  const [whole = '0', fraction] = plain.split('.');
  if (magnitude === '' && fraction === undefined) {
    return `${Number(whole) === 2 ? '两' : readChineseInteger(whole)}元`;
  }
  if (magnitude !== '' || fraction === undefined || fraction.length > 2) {
    return `${readDecimal(plain.replace(/(\.\d*?)0+$/, '$1').replace(/\.$/, ''), magnitude !== '')}${magnitude}元`;
  }
  const jiao = Number(fraction[0] ?? '0');
  const fen = Number(fraction[1] ?? '0');
  const integer = Number(whole) === 2 ? '两' : readChineseInteger(whole);
  let out = Number(whole) === 0 && (jiao !== 0 || fen !== 0) ? '' : `${integer}元`;
  if (jiao !== 0) out += `${DIGITS[jiao] ?? ''}角`;
  if (fen !== 0) out += `${out !== '' && jiao === 0 ? '零' : ''}${DIGITS[fen] ?? ''}分`;
  return out;
}

function moneyWords(symbol: string, amount: string, magnitude: string): string {
  const unit = CURRENCY_PREFIX[symbol] ?? '元';
  if (unit === '元') return yuan(amount, magnitude);
  // Other currencies: decimal reading without trailing zeros (3.50 → 三点五).
  const plain = amount
    .replace(/,/g, '')
    .replace(/(\.\d*?)0+$/, '$1')
    .replace(/\.$/, '');
  return `${readChineseNumber(plain)}${magnitude}${unit}`;
}

function dateWords(y: string | undefined, m: string | undefined, d: string | undefined, daySuffix = '日'): string {
  let out = '';
  if (y !== undefined) out += `${readChineseDigits(y)}年`;
  if (m !== undefined) out += `${readChineseInteger(m, { liang: false })}月`;
  if (d !== undefined) out += `${readChineseInteger(d, { liang: false })}${daySuffix}`;
  return out;
}

function validMonth(m: string | undefined): boolean {
  const v = Number(m);
  return v >= 1 && v <= 12;
}

function validDay(d: string | undefined): boolean {
  const v = Number(d);
  return v >= 1 && v <= 31;
}

function timeWords(h: string, m: string, s: string | undefined): string {
  const hour = Number(h) === 2 ? '两' : readChineseInteger(h, { liang: false });
  let out = `${hour}点`;
  const minutes = Number(m);
  if (minutes !== 0 || (s !== undefined && Number(s) !== 0)) {
    out += `${minutes < 10 ? '零' : ''}${readChineseInteger(m, { liang: false })}分`;
  }
  if (s !== undefined && Number(s) !== 0) {
    out += `${readChineseInteger(s, { liang: false })}秒`;
  }
  return out;
}

type Replacer = (match: string, ...groups: (string | undefined)[]) => string;
type Rule = readonly [RegExp, Replacer];

function applyRules(text: string, rules: readonly Rule[]): string {
  let out = text;
  for (const [pattern, fn] of rules) {
    out = out.replace(pattern, (match: string, ...rest: unknown[]) => {
      const offsetIndex = rest.findIndex((v) => typeof v === 'number');
      return fn(match, ...(rest.slice(0, offsetIndex) as (string | undefined)[]));
    });
  }
  return out;
}

/** Full-width digits and Latin letters → ASCII; full-width `％．：` between digits → ASCII. */
function halfWidth(text: string): string {
  return text
    .replace(/[\uFF10-\uFF19\uFF21-\uFF3A\uFF41-\uFF5A]/g, (c) => String.fromCharCode(c.charCodeAt(0) - 0xfee0))
    .replace(/(?<=\d)％/g, '%')
    .replace(/(?<=\d)[．：](?=\d)/g, (c) => (c === '．' ? '.' : ':'));
}

const RULES: readonly Rule[] = [
  // Scientific notation (1e308, 6.02e23, 1.5E-7), before its mantissa and exponent can be read apart.
  [
    /(?<![\w.-])(-?)(\d+(?:\.\d+)?)[eE]([+-]?)(\d+)(?![\w]|\.\d)/g,
    (_m, sign, mantissa, expSign, exponent) =>
      `${sign === '-' ? '负' : ''}${readChineseNumber(mantissa ?? '0')}乘十的` +
      `${expSign === '-' ? '负' : ''}${readChineseInteger((exponent ?? '0').replace(/^0+(?=\d)/, ''))}次方`,
  ],
  // Arithmetic between numbers (before ranges and negatives claim the minus sign).
  [/(\d)\s?[+＋]\s?(?=\d)/g, (_m, a) => `${a ?? ''}加`],
  [/(\d)\s?[×*]\s?(?=\d)/g, (_m, a) => `${a ?? ''}乘`],
  [/(\d)\s?÷\s?(?=\d)/g, (_m, a) => `${a ?? ''}除以`],
  [/(\d)\s?-\s?(?=\d+(?:\.\d+)?\s?[=＝])/g, (_m, a) => `${a ?? ''}减`],
  [/(\d)\s?[=＝]\s?(?=-?\d)/g, (_m, a) => `${a ?? ''}等于`],
  // Dates: 2024年3月5日, 2024-03-05, 2024/3/5, 2024.3.5, 3月5日/号, 2024年, 1998-2000年.
  [
    /(\d{4})\s?(?:[-~～至到])\s?(\d{4})年/g,
    (_m, a, b) => `${readChineseDigits(a ?? '')}到${readChineseDigits(b ?? '')}年`,
  ],
  [
    /(?<!\d)(\d{4})年(\d{1,2})月(?:(\d{1,2})([日号]))?/g,
    (m, y, mo, d, suffix) => (validMonth(mo) && (d === undefined || validDay(d)) ? dateWords(y, mo, d, suffix) : m),
  ],
  [
    /(?<![\d.])(\d{4})([-/.])(\d{1,2})\2(\d{1,2})(?![\d.])/g,
    (m, y, _sep, mo, d) => (validMonth(mo) && validDay(d) ? dateWords(y, mo, d) : m),
  ],
  [
    /(?<![\d.])((?:19|20)\d{2})[-/](\d{1,2})(?![\d./-])/g,
    (m, y, mo) => (validMonth(mo) ? dateWords(y, mo, undefined) : m),
  ],
  [/(?<!\d)(\d{4})年/g, (_m, y) => `${readChineseDigits(y ?? '')}年`],
  [
    /(?<![\d.])(\d{1,2})月(\d{1,2})([日号])/g,
    (m, mo, d, suffix) => (validMonth(mo) && validDay(d) ? dateWords(undefined, mo, d, suffix) : m),
  ],
  [/(?<![\d.])(\d{1,2})月(?!份?\d)/g, (m, mo) => (validMonth(mo) ? dateWords(undefined, mo, undefined) : m)],
  // Times: 14:30, 8:05:09; scores/ratios with a one-digit right side: 3:2 → 三比二.
  [
    /(?<![\d:])(\d{1,2}):(\d{2})(?::(\d{2}))?(?![\d:])/g,
    (m, h, mi, s) =>
      Number(h) <= 24 && Number(mi) <= 59 && (s === undefined || Number(s) <= 59)
        ? timeWords(h ?? '0', mi ?? '0', s)
        : m,
  ],
  [
    /(?<![\d:])(\d+):(\d+)(?![\d:])/g,
    (_m, a, b) =>
      `${readChineseInteger(a ?? '0', { liang: false })}比${readChineseInteger(b ?? '0', { liang: false })}`,
  ],
  // Phone numbers: +86 138 1234 5678, 13812345678, 010-12345678, 400-123-4567.
  [
    /(?<![\d.])(?:\+?86[\s-]?)?(1[3-9]\d)[\s-]?(\d{4})[\s-]?(\d{4})(?![\d.])/g,
    (m) => {
      const hasCountry = /^\+?86/.test(m) && m.replace(/\D/g, '').length === 13;
      const digits = m.replace(/\D/g, '');
      return hasCountry ? `加八六${readChineseDigits(digits.slice(2), true)}` : readChineseDigits(digits, true);
    },
  ],
  [/(?<![\d.])(0\d{2,3})-(\d{7,8})(?![\d.])/g, (m) => readChineseDigits(m, true)],
  [/(?<![\d.])([48]00)-(\d{3})-(\d{4})(?![\d.])/g, (m) => readChineseDigits(m, true)],
  // Money: ¥12.50, $3.5, €100, ¥1.5万, 100美元 (plain "元" suffix is handled by the number rules).
  [
    new RegExp(String.raw`(-?)(US\$|HK\$|\$|¥|￥|€|£|₩|RMB|CNY|USD|HKD|EUR|GBP|JPY)\s?(${NUM})(万亿|万|亿)?`, 'g'),
    (_m, sign, sym, amount, mag) => `${sign === '-' ? '负' : ''}${moneyWords(sym ?? '¥', amount ?? '0', mag ?? '')}`,
  ],
  // Percentages (ranges first), per-mille.
  [
    new RegExp(String.raw`(?<!\d)(-?)(${NUM})%?\s?[-~～至到]\s?(-?)(${NUM})%`, 'g'),
    (_m, s1, a, s2, b) =>
      `${s1 === '-' ? '负' : ''}百分之${readChineseNumber(a ?? '0', { liang: false })}到${s2 === '-' ? '负' : ''}百分之${readChineseNumber(b ?? '0', { liang: false })}`,
  ],
  [
    new RegExp(String.raw`(?<!\d)(-?)(${NUM})%`, 'g'),
    (_m, sign, a) => `${sign === '-' ? '负' : ''}百分之${readChineseNumber(a ?? '0', { liang: false })}`,
  ],
  [
    new RegExp(String.raw`(?<!\d)(-?)(${NUM})‰`, 'g'),
    (_m, sign, a) => `${sign === '-' ? '负' : ''}千分之${readChineseNumber(a ?? '0', { liang: false })}`,
  ],
  // Ranges with a unit: 5-10kg → 五到十千克; temperatures below zero → 零下.
  [
    new RegExp(String.raw`(?<![\w.])(-?)(${NUM})\s?[-~～]\s?(-?)(${NUM})\s?(${UNIT_ALTERNATION})(?![A-Za-z])`, 'g'),
    (_m, s1, a, s2, b, unit) => {
      const u = UNITS[unit ?? ''] ?? '';
      const neg = (s: string | undefined): string => (s === '-' ? (u.endsWith('度') ? '零下' : '负') : '');
      return `${neg(s1)}${readChineseNumber(a ?? '0', { liang: false })}到${neg(s2)}${readChineseNumber(b ?? '0', { liang: false })}${u}`;
    },
  ],
  [
    new RegExp(String.raw`(?<![A-Za-z.\d])(-?)(${NUM})\s?(${UNIT_ALTERNATION})(?![A-Za-z])`, 'g'),
    (_m, sign, amount, unit) => {
      const u = UNITS[unit ?? ''] ?? '';
      const value = amount ?? '0';
      const neg = sign === '-' ? (u.endsWith('度') ? '零下' : '负') : '';
      // A bare 2 before a unit reads 两 (两千克, 两小时), except degrees (二十度 is fine, but 2度 → 二度 is also what
      // weather reports say, so degrees keep 二).
      const liang = sign !== '-' && value === '2' && !u.endsWith('度');
      return `${neg}${liang ? '两' : readChineseNumber(value, { liang: sign !== '-' })}${u}`;
    },
  ],
  // Fractions: 3/4 → 四分之三, 1又1/2 → 一又二分之一.
  [
    /(?<![\d/.])(\d+)\/(\d+)(?![\d/]|\.\d)/g,
    (m, a, b) =>
      Number(b) === 0
        ? m
        : `${readChineseInteger(b ?? '1', { liang: false })}分之${readChineseInteger(a ?? '0', { liang: false })}`,
  ],
  // Dotted versions: 1.2.3 → 一点二点三 (otherwise the second dot would become 。 and cut the sentence).
  [
    /(?<![\w.])\d+(?:\.\d+){2,}(?![\w]|\.\d)/g,
    (m) =>
      m
        .split('.')
        .map((p) => readChineseNumber(p, { liang: false }))
        .join('点'),
  ],
  // "No.1" in Chinese text → 第一 (its dot would otherwise become 。).
  [/\b[Nn][Oo]\.\s?(?=\d)/g, () => '第'],
  // Ordinals: 第2 → 第二, 第21名 → 第二十一名.
  [/第\s?(\d+)/g, (_m, n) => `第${readChineseInteger(n ?? '0', { liang: false })}`],
  // Ranges: 3-5天 → 三到五天, 10~20 → 十到二十.
  [
    new RegExp(String.raw`(?<![\w.])(${NUM})\s?[-~～]\s?(${NUM})(?![\w]|\.\d)`, 'g'),
    (_m, a, b) => `${readChineseNumber(a ?? '0', { liang: false })}到${readChineseNumber(b ?? '0', { liang: false })}`,
  ],
  // Negative numbers.
  [new RegExp(String.raw`(?<![\w.])-(${NUM})`, 'g'), (_m, a) => `负${readChineseNumber(a ?? '0', { liang: false })}`],
];

/** Number followed by whatever text comes next (for the 两 decision). */
const NUMBER_WITH_CONTEXT = new RegExp(String.raw`(${NUM})`, 'g');

/**
 * Normalise Chinese text for TTS (numbers and symbols → characters). Text without digits or known symbols comes back
 * unchanged; special tags must be cut out by the caller ({@link normalizeText} does).
 *
 * @param text - Text containing Chinese.
 * @returns The normalised text.
 * @example
 * ```ts
 * normalizeChinese('2024年3月5日下午3:30，气温-5℃，涨了12.5%。');
 * // '二零二四年三月五日下午三点三十分，气温零下五摄氏度，涨了百分之十二点五。'
 * ```
 */
export function normalizeChinese(text: string): string {
  if (text === '') return text;
  let out = applyRules(halfWidth(text), RULES);
  out = out.replace(NUMBER_WITH_CONTEXT, (token: string, _g: string, offset: number, whole: string) => {
    const after = whole.slice(offset + token.length);
    if (token === '2' && LIANG_BEFORE.test(after)) {
      return '两';
    }
    return readChineseNumber(token, { liang: !/^(?:年级|号|楼|层|月|日|路|班|期|章|节|版|代)/.test(after) });
  });
  // Symbols that stand alone after the numbers are gone.
  out = out.replace(/℃/g, '摄氏度').replace(/℉/g, '华氏度').replace(/㎡/g, '平方米');
  return out;
}
