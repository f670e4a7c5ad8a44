/**
 * English text normalisation: the TypeScript stand-in for `wetext` English TN in upstream CosyVoice's front-end
 * (spec §2.1). Numbers become words in the style of Python `inflect` — what upstream's digit spelling produces — and
 * currency, percentages, times, dates, years, ordinals, fractions, phone numbers, units and common abbreviations are
 * read the way a person would say them.
 *
 * Deliberate differences from wetext-en (NeMo-derived grammars):
 * - Cardinals use inflect's style everywhere ("one hundred and twenty-three", "two thousand and twenty-five") instead
 *   of NeMo's ("one hundred twenty three"), so text with and without a TN library reads the same way upstream.
 * - Year reading ("nineteen ninety-nine") is applied only where the context says "year" (after in/since/by/…, in
 *   dates, before AD/BC, decades, year ranges), and never to 2000–2099, which keep inflect's "two thousand and …";
 *   a bare "1999" is a cardinal.
 * - Numbers with a leading zero ("007", zip codes) are read digit by digit; inflect would say "seven".
 * - Abbreviations are expanded from a short fixed list; dotted abbreviations that can end a sentence (etc., Inc.,
 *   p.m., U.S.) keep a full stop when they do, so `splitParagraph` still sees the sentence end.
 * - No roman numerals, no e-mail/URL verbalisation, no measure names beyond the table below.
 */
import { numberToWords, ordinalToWords, readDigits } from './number-words.ts';

/** A number: comma-grouped (1,234,567) or plain digits, with an optional decimal part. */
const NUM = String.raw`\d{1,3}(?:,\d{3})+(?:\.\d+)?|\d+(?:\.\d+)?`;

const MONTHS = [
  'January',
  'February',
  'March',
  'April',
  'May',
  'June',
  'July',
  'August',
  'September',
  'October',
  'November',
  'December',
] as const;

const MONTH_ABBREVIATIONS: Readonly<Record<string, number>> = {
  Jan: 1,
  Feb: 2,
  Mar: 3,
  Apr: 4,
  Jun: 6,
  Jul: 7,
  Aug: 8,
  Sep: 9,
  Sept: 9,
  Oct: 10,
  Nov: 11,
  Dec: 12,
};

/** Month names and abbreviations (an abbreviation may carry a dot). */
const MONTH = String.raw`(?:${MONTHS.join('|')}|(?:${Object.keys(MONTH_ABBREVIATIONS).join('|')})\.?)`;

function monthName(token: string): string {
  const bare = token.replace(/\.$/, '');
  const full = MONTHS.find((m) => m === bare);
  if (full !== undefined) return full;
  const index = MONTH_ABBREVIATIONS[bare];
  return index === undefined ? bare : (MONTHS[index - 1] ?? bare);
}

/** Cardinal reading of a number token (`1,234.5` → "one thousand, two hundred and thirty-four point five"). */
function cardinal(token: string): string {
  const plain = token.replace(/,/g, '');
  if (/^0\d+$/.test(plain)) {
    return readDigits(plain);
  }
  return numberToWords(plain);
}

/**
 * Year reading: 1999 → "nineteen ninety-nine", 1905 → "nineteen oh five", 1900 → "nineteen hundred"; 2000–2099 and
 * multiples of 1000 keep inflect's reading ("two thousand and twenty-five"); numbers outside 1000–9999 are cardinals.
 *
 * @param year - The year's digits.
 * @returns The words.
 */
export function yearToWords(year: string): string {
  const y = Number(year);
  if (!/^\d{4}$/.test(year) || y < 1000 || (y >= 2000 && y < 2100) || y % 1000 === 0) {
    return cardinal(year);
  }
  const head = Math.floor(y / 100);
  const tail = y % 100;
  const headWords = numberToWords(head);
  if (tail === 0) return `${headWords} hundred`;
  if (tail < 10) return `${headWords} oh ${numberToWords(tail)}`;
  return `${headWords} ${numberToWords(tail)}`;
}

/** Plural of the last word of a number reading ("ninety" → "nineties", "hundred" → "hundreds"). */
function pluralizeLastWord(words: string): string {
  if (words.endsWith('y')) return `${words.slice(0, -1)}ies`;
  if (words.endsWith('x')) return `${words}es`;
  return `${words}s`;
}

function decadeToWords(decade: string): string {
  const y = Number(decade);
  if (y === 2000) return 'two thousands';
  if (y > 2000 && y < 2100) {
    return `twenty ${pluralizeLastWord(numberToWords(y - 2000))}`;
  }
  return pluralizeLastWord(yearToWords(decade));
}

/** Would a full stop at `index` end a sentence (end of text, or whitespace then an upper-case letter)? */
function endsSentence(text: string, index: number): boolean {
  return /^(?:\s*$|\s+[A-Z])/.test(text.slice(index));
}

interface Currency {
  readonly one: string;
  readonly many: string;
  readonly subOne: string | null;
  readonly subMany: string | null;
}

const DOLLAR: Currency = { one: 'dollar', many: 'dollars', subOne: 'cent', subMany: 'cents' };

const CURRENCIES: Readonly<Record<string, Currency>> = {
  $: DOLLAR,
  US$: { one: 'US dollar', many: 'US dollars', subOne: 'cent', subMany: 'cents' },
  USD: { one: 'US dollar', many: 'US dollars', subOne: 'cent', subMany: 'cents' },
  '€': { one: 'euro', many: 'euros', subOne: 'cent', subMany: 'cents' },
  EUR: { one: 'euro', many: 'euros', subOne: 'cent', subMany: 'cents' },
  '£': { one: 'pound', many: 'pounds', subOne: 'penny', subMany: 'pence' },
  GBP: { one: 'pound', many: 'pounds', subOne: 'penny', subMany: 'pence' },
  '¥': { one: 'yen', many: 'yen', subOne: null, subMany: null },
  JPY: { one: 'yen', many: 'yen', subOne: null, subMany: null },
  CNY: { one: 'yuan', many: 'yuan', subOne: null, subMany: null },
  RMB: { one: 'yuan', many: 'yuan', subOne: null, subMany: null },
  '₹': { one: 'rupee', many: 'rupees', subOne: 'paisa', subMany: 'paise' },
  '₩': { one: 'won', many: 'won', subOne: null, subMany: null },
};

const MAGNITUDES: Readonly<Record<string, string>> = {
  thousand: 'thousand',
  million: 'million',
  billion: 'billion',
  trillion: 'trillion',
  k: 'thousand',
  K: 'thousand',
  m: 'million',
  M: 'million',
  mn: 'million',
  b: 'billion',
  B: 'billion',
  bn: 'billion',
  T: 'trillion',
};

function money(amount: string, currency: Currency, magnitude: string | undefined): string {
  const plain = amount.replace(/,/g, '');
  if (magnitude !== undefined) {
    return `${cardinal(plain)} ${magnitude} ${currency.many}`;
  }
  const [whole = '0', fraction] = plain.split('.');
  if (fraction === undefined || currency.subMany === null || currency.subOne === null || fraction.length > 2) {
    const unit = plain === '1' ? currency.one : currency.many;
    return `${cardinal(plain)} ${unit}`;
  }
  const units = Number(whole);
  const subunits = Number(fraction.padEnd(2, '0'));
  const parts: string[] = [];
  if (units !== 0 || subunits === 0) {
    parts.push(`${cardinal(whole)} ${units === 1 ? currency.one : currency.many}`);
  }
  if (subunits !== 0) {
    parts.push(`${numberToWords(subunits)} ${subunits === 1 ? currency.subOne : currency.subMany}`);
  }
  return parts.join(' and ');
}

/** Unit symbols after a number: [singular, plural]. Longest symbols are tried first. */
const UNITS: Readonly<Record<string, readonly [string, string]>> = {
  km: ['kilometer', 'kilometers'],
  m: ['meter', 'meters'],
  cm: ['centimeter', 'centimeters'],
  mm: ['millimeter', 'millimeters'],
  µm: ['micrometer', 'micrometers'],
  μm: ['micrometer', 'micrometers'],
  nm: ['nanometer', 'nanometers'],
  mi: ['mile', 'miles'],
  ft: ['foot', 'feet'],
  yd: ['yard', 'yards'],
  kg: ['kilogram', 'kilograms'],
  g: ['gram', 'grams'],
  mg: ['milligram', 'milligrams'],
  lb: ['pound', 'pounds'],
  lbs: ['pound', 'pounds'],
  oz: ['ounce', 'ounces'],
  L: ['liter', 'liters'],
  l: ['liter', 'liters'],
  ml: ['milliliter', 'milliliters'],
  mL: ['milliliter', 'milliliters'],
  'km/h': ['kilometer per hour', 'kilometers per hour'],
  kph: ['kilometer per hour', 'kilometers per hour'],
  mph: ['mile per hour', 'miles per hour'],
  'm/s': ['meter per second', 'meters per second'],
  '°C': ['degree Celsius', 'degrees Celsius'],
  '℃': ['degree Celsius', 'degrees Celsius'],
  '°F': ['degree Fahrenheit', 'degrees Fahrenheit'],
  '℉': ['degree Fahrenheit', 'degrees Fahrenheit'],
  '°': ['degree', 'degrees'],
  h: ['hour', 'hours'],
  hr: ['hour', 'hours'],
  hrs: ['hour', 'hours'],
  min: ['minute', 'minutes'],
  mins: ['minute', 'minutes'],
  sec: ['second', 'seconds'],
  ms: ['millisecond', 'milliseconds'],
  KB: ['kilobyte', 'kilobytes'],
  kB: ['kilobyte', 'kilobytes'],
  MB: ['megabyte', 'megabytes'],
  GB: ['gigabyte', 'gigabytes'],
  TB: ['terabyte', 'terabytes'],
  Hz: ['hertz', 'hertz'],
  kHz: ['kilohertz', 'kilohertz'],
  MHz: ['megahertz', 'megahertz'],
  GHz: ['gigahertz', 'gigahertz'],
  W: ['watt', 'watts'],
  kW: ['kilowatt', 'kilowatts'],
  kWh: ['kilowatt hour', 'kilowatt hours'],
  V: ['volt', 'volts'],
  mAh: ['milliamp hour', 'milliamp hours'],
  kcal: ['kilocalorie', 'kilocalories'],
  'm²': ['square meter', 'square meters'],
  'km²': ['square kilometer', 'square kilometers'],
  'cm²': ['square centimeter', 'square centimeters'],
  'ft²': ['square foot', 'square feet'],
  'sq ft': ['square foot', 'square feet'],
  'm³': ['cubic meter', 'cubic meters'],
  'cm³': ['cubic centimeter', 'cubic centimeters'],
};

function escapeRegExp(s: string): string {
  return s.replace(/[.*+?^${}()|[\]\\/]/g, '\\$&');
}

const UNIT_ALTERNATION = Object.keys(UNITS)
  .sort((a, b) => b.length - a.length)
  .map(escapeRegExp)
  .join('|');

/** Dotted abbreviations that never end a sentence (titles before names). */
const TITLES: Readonly<Record<string, string>> = {
  Mr: 'Mister',
  Mrs: 'Missus',
  Ms: 'Miss',
  Dr: 'Doctor',
  Prof: 'Professor',
  Mt: 'Mount',
  Gen: 'General',
  Capt: 'Captain',
  Lt: 'Lieutenant',
  Col: 'Colonel',
  Sgt: 'Sergeant',
  Gov: 'Governor',
  Sen: 'Senator',
  Rep: 'Representative',
  Rev: 'Reverend',
  Hon: 'Honorable',
  Fig: 'Figure',
  fig: 'figure',
  Vol: 'Volume',
  vol: 'volume',
  vs: 'versus',
  approx: 'approximately',
  Approx: 'Approximately',
};

/** Dotted abbreviations that may end a sentence; the full stop is kept when they do. */
const FINAL_ABBREVIATIONS: Readonly<Record<string, string>> = {
  etc: 'et cetera',
  Jr: 'Junior',
  Sr: 'Senior',
  Inc: 'Incorporated',
  Ltd: 'Limited',
  Co: 'Company',
  Corp: 'Corporation',
  Ave: 'Avenue',
  Blvd: 'Boulevard',
  Dept: 'Department',
  dept: 'department',
};

type Rule = readonly [RegExp, (match: string, ...groups: (string | undefined)[]) => string];

function replaceAll(text: string, rules: readonly Rule[]): string {
  let out = text;
  for (const [pattern, fn] of rules) {
    out = out.replace(pattern, (match: string, ...rest: unknown[]) => {
      // rest = [...groups, offset, input]; keep the capture groups only.
      const offsetIndex = rest.findIndex((v) => typeof v === 'number');
      return fn(match, ...(rest.slice(0, offsetIndex) as (string | undefined)[]));
    });
  }
  return out;
}

function timeWords(h: string, m: string, s: string | undefined, ampm: string | undefined): string {
  const hour = numberToWords(Number(h));
  const minutes = Number(m);
  const suffix = ampm === undefined ? '' : ` ${ampm.toLowerCase().startsWith('a') ? 'AM' : 'PM'}`;
  let out: string;
  if (minutes === 0) {
    out = ampm === undefined ? `${hour} o'clock` : hour;
  } else if (minutes < 10) {
    out = `${hour} oh ${numberToWords(minutes)}`;
  } else {
    out = `${hour} ${numberToWords(minutes)}`;
  }
  if (s !== undefined && Number(s) !== 0) {
    const seconds = Number(s);
    out += ` and ${numberToWords(seconds)} ${seconds === 1 ? 'second' : 'seconds'}`;
  }
  return out + suffix;
}

function dateWords(month: number, day: number, year: string | undefined): string | null {
  const name = MONTHS[month - 1];
  if (name === undefined || day < 1 || day > 31) return null;
  const base = `${name} ${ordinalToWords(day)}`;
  return year === undefined ? base : `${base}, ${yearToWords(year)}`;
}

function fractionWords(numerator: string, denominator: string): string | null {
  const n = Number(numerator);
  const d = Number(denominator);
  if (d === 0) return null;
  if (d === 1) return `${cardinal(numerator)} over one`;
  const plural = n !== 1;
  let denom: string;
  if (d === 2) denom = plural ? 'halves' : 'half';
  else if (d === 4) denom = plural ? 'quarters' : 'quarter';
  else denom = ordinalToWords(d) + (plural ? 's' : '');
  return `${cardinal(numerator)} ${denom}`;
}

/**
 * A number in scientific notation: optional minus, a mantissa, `e`/`E`, an optionally signed exponent. Not inside a
 * word or a dotted number (hex strings and versions keep their own reading).
 */
const SCIENTIFIC = /(?<![\w.-])(-?)(\d+(?:\.\d+)?)[eE]([+-]?)(\d+)(?![\w]|\.\d)/g;

/** 6.02e23 → "six point zero two times ten to the power of twenty-three". */
function scientificWords(sign = '', mantissa = '0', expSign = '', exponent = '0'): string {
  const power = `${expSign === '-' ? 'minus ' : ''}${numberToWords(exponent.replace(/^0+(?=\d)/, ''))}`;
  return `${sign === '-' ? 'minus ' : ''}${cardinal(mantissa)} times ten to the power of ${power}`;
}

/** a.m./p.m.; a final dot is kept (not consumed) when it also ends the sentence. */
const AMPM = String.raw`([AaPp])\.?\s?[Mm]\b(?:\.(?!\s*$|\s+[A-Z]))?`;

/**
 * Normalise English text for TTS (numbers, money, dates, times, units, abbreviations → words). Text without
 * anything to rewrite comes back unchanged; special tags must be cut out by the caller ({@link normalizeText} does).
 *
 * @param text - English (or any non-Chinese) text.
 * @returns The text with numbers and symbols spelled out; digits it could not interpret are spelled with inflect
 *   (upstream `spell_out_number`) by the caller afterwards.
 * @example
 * ```ts
 * normalizeEnglish('I paid $12.50 on Jan. 5th, 1999 at 3:30 p.m.');
 * // "I paid twelve dollars and fifty cents on January fifth, nineteen ninety-nine at three thirty PM."
 * ```
 */
export function normalizeEnglish(text: string): string {
  if (text === '') return text;
  let out = text.replace(/\u2212/g, '-'); // MINUS SIGN → hyphen-minus

  const rules: Rule[] = [
    // Abbreviations first: they may hide digits ("No. 5") and their dots would split sentences.
    [/\b[Ee]\.g\.(?=[\s,;:]|$)/g, (m) => (m.startsWith('E') ? 'For example' : 'for example')],
    [/\b[Ii]\.e\.(?=[\s,;:]|$)/g, (m) => (m.startsWith('I') ? 'That is' : 'that is')],
    [/\b(Ph)\.D\.(?=[\s,;:!?)]|$)/g, () => 'P H D'],
    [
      new RegExp(String.raw`\b(${Object.keys(TITLES).join('|')})\.(?=[\s,;:)]|$)`, 'g'),
      (_m, abbr) => TITLES[abbr ?? ''] ?? '',
    ],
    [/\bSt\.(?=\s+[A-Z])/g, () => 'Saint'],
    [/\bSt\.(?=[\s,;:)]|$)/g, () => 'Street'],
    [/\b([Nn])o\.\s?(?=\d)/g, (_m, n) => (n === 'N' ? 'Number ' : 'number ')],
    // Scientific notation (1e308, 6.02e23, 1.5E-7), before anything can read its mantissa and exponent apart.
    [SCIENTIFIC, (_m, sign, mantissa, expSign, exponent) => scientificWords(sign, mantissa, expSign, exponent)],
    [/#(?=\d)/g, () => 'number '],
    [/(\d)\s?(?:x|×|\*)\s?(?=\d)/g, (_m, a) => `${a ?? ''} times `],
    [/(\d)\s?\+\s?(?=\d)/g, (_m, a) => `${a ?? ''} plus `],
    [/(\d)\s?÷\s?(?=\d)/g, (_m, a) => `${a ?? ''} divided by `],
    [/(\d)\s?-\s?(?=\d+(?:\.\d+)?\s?=)/g, (_m, a) => `${a ?? ''} minus `],
    [/(\d)\s?=\s?(?=-?\d)/g, (_m, a) => `${a ?? ''} equals `],
    // Dates.
    [/\b(\d{4})-(\d{2})-(\d{2})\b/g, (m, y, mo, d) => dateWords(Number(mo), Number(d), y) ?? m],
    [
      /\b(\d{1,2})\/(\d{1,2})\/(\d{4})\b/g,
      (m, mo, d, y) => (Number(mo) <= 12 ? (dateWords(Number(mo), Number(d), y) ?? m) : m),
    ],
    [
      new RegExp(String.raw`\b(${MONTH})\s(\d{1,2})(?:st|nd|rd|th)?\b(?:,?\s(\d{4})\b)?`, 'g'),
      (m, mo, d, y) => {
        const name = monthName(mo ?? '');
        const words = dateWords(MONTHS.indexOf(name as (typeof MONTHS)[number]) + 1, Number(d), y);
        return words ?? m;
      },
    ],
    [
      new RegExp(String.raw`\b(\d{1,2})(?:st|nd|rd|th)?\s(${MONTH})(?:,?\s(\d{4})\b)?`, 'g'),
      (m, d, mo, y) => {
        const day = Number(d);
        if (day < 1 || day > 31) return m;
        const base = `the ${ordinalToWords(day)} of ${monthName(mo ?? '')}`;
        return y === undefined ? base : `${base}, ${yearToWords(y)}`;
      },
    ],
    [
      new RegExp(String.raw`\b(${MONTH})\s(\d{4})\b`, 'g'),
      (_m, mo, y) => `${monthName(mo ?? '')} ${yearToWords(y ?? '')}`,
    ],
    // Times.
    [
      new RegExp(String.raw`\b(\d{1,2}):(\d{2})(?::(\d{2}))?(?:\s?${AMPM})?`, 'g'),
      (m, h, mi, s, ap) => {
        if (Number(h) > 24 || Number(mi) > 59 || (s !== undefined && Number(s) > 59)) return m;
        return timeWords(h ?? '0', mi ?? '0', s, ap);
      },
    ],
    [
      new RegExp(String.raw`\b(\d{1,2})\s?${AMPM}`, 'g'),
      (m, h, ap) => (Number(h) > 12 ? m : `${numberToWords(Number(h))} ${ap?.toLowerCase() === 'a' ? 'AM' : 'PM'}`),
    ],
    // Phone numbers: +1 (555) 123-4567, 555-123-4567, 555.123.4567.
    [
      /(?<![\w.])(?:(\+\d{1,3})[\s.-]?)?(?:\((\d{3})\)\s?|(\d{3})[\s.-])(\d{3})[\s.-](\d{4})(?!\w|\.\d)/g,
      (_m, cc, area1, area2, mid, last) => {
        const groups = [area1 ?? area2 ?? '', mid ?? '', last ?? ''].map(readDigits);
        if (cc !== undefined) groups.unshift(`plus ${readDigits(cc)}`);
        return groups.join(', ');
      },
    ],
    // Money.
    [
      new RegExp(
        String.raw`(?<![\w.])(-?)(US\$|\$|€|£|¥|₹|₩)\s?(${NUM})(?:\s?(thousand|million|billion|trillion)\b|(k|K|M|mn|bn|B|T)\b)?`,
        'g',
      ),
      (_m, sign, sym, amount, word, letter) => {
        const currency = CURRENCIES[sym ?? '$'] ?? DOLLAR;
        const magnitude = word ?? (letter === undefined ? undefined : MAGNITUDES[letter]);
        const spoken = money(amount ?? '0', currency, magnitude);
        return sign === '-' ? `minus ${spoken}` : spoken;
      },
    ],
    [
      new RegExp(String.raw`\b(USD|EUR|GBP|JPY|CNY|RMB)\s?(${NUM})\b`, 'g'),
      (_m, code, amount) => money(amount ?? '0', CURRENCIES[code ?? 'USD'] ?? DOLLAR, undefined),
    ],
    [
      new RegExp(String.raw`(?<![\w.])(${NUM})\s?(USD|EUR|GBP|JPY|CNY|RMB)\b`, 'g'),
      (_m, amount, code) => money(amount ?? '0', CURRENCIES[code ?? 'USD'] ?? DOLLAR, undefined),
    ],
    // Percentages, also "10-20%".
    [
      new RegExp(String.raw`(?<![\w.])(-?)(${NUM})\s?%?\s?(?:-|to|~)\s?(-?)(${NUM})\s?%`, 'g'),
      (_m, s1, a, s2, b) =>
        `${s1 === '-' ? 'minus ' : ''}${cardinal(a ?? '0')} to ${s2 === '-' ? 'minus ' : ''}${cardinal(b ?? '0')} percent`,
    ],
    [
      new RegExp(String.raw`(?<![\w.])(-?)(${NUM})\s?%`, 'g'),
      (_m, sign, a) => `${sign === '-' ? 'minus ' : ''}${cardinal(a ?? '0')} percent`,
    ],
    // Units (before years: "in 1500 ms" is a duration, not a year).
    [
      new RegExp(String.raw`(?<![\w.])(-?)(${NUM})\s?(${UNIT_ALTERNATION})(?![\w²³])`, 'g'),
      (_m, sign, amount, unit) => {
        const [one, many] = UNITS[unit ?? ''] ?? ['', ''];
        const value = `${sign === '-' ? 'minus ' : ''}${cardinal(amount ?? '0')}`;
        return `${value} ${amount === '1' && sign !== '-' ? one : many}`;
      },
    ],
    // Decades and years.
    [/\b(1[0-9]|20)([0-9])0s\b/g, (_m, c, d) => decadeToWords(`${c ?? ''}${d ?? ''}0`)],
    [/(?<![\w])['’]([1-9])0s\b/g, (_m, d) => pluralizeLastWord(numberToWords(Number(d) * 10))],
    [/\b([2-9])0s\b/g, (_m, d) => pluralizeLastWord(numberToWords(Number(d) * 10))],
    [
      /\b(1[0-9]{3}|2[0-9]{3})\s?(?:-|–|to)\s?(1[0-9]{3}|2[0-9]{3})\b(?![.,]\d)/g,
      (m, a, b) => (Number(a) < Number(b) ? `${yearToWords(a ?? '')} to ${yearToWords(b ?? '')}` : m),
    ],
    [
      /\b(\d{3,4})\s?(AD|BC|BCE|CE|A\.D\.|B\.C\.)(?=[\s,.;:!?)]|$)/g,
      (_m, y, era) => `${yearToWords(y ?? '')} ${(era ?? '').replace(/\./g, '').split('').join(' ')}`,
    ],
    [
      /\b(in|In|since|Since|by|By|from|From|until|Until|till|circa|around|before|Before|after|After|during|During|year|Year|early|late|mid|spring|summer|autumn|fall|winter|Spring|Summer|Autumn|Winter)(\s|-)(1[0-9]{3}|2[0-9]{3})\b(?![.,:]\d|\s?%)/g,
      (_m, word, sep, y) => `${word ?? ''}${sep ?? ' '}${yearToWords(y ?? '')}`,
    ],
    // Ordinals.
    [/\b(\d{1,3}(?:,\d{3})+|\d+)(st|nd|rd|th)\b/g, (_m, n) => ordinalToWords((n ?? '0').replace(/,/g, ''))],
    // Fractions (mixed numbers first).
    [
      /(?<![\w./])(\d+)\s(\d+)\/(\d+)(?![\w/]|\.\d)/g,
      (m, w, n, d) => {
        const f = fractionWords(n ?? '0', d ?? '0');
        return f === null ? m : `${cardinal(w ?? '0')} and ${f}`;
      },
    ],
    [/(?<![\w./])(\d+)\/(\d+)(?![\w/]|\.\d)/g, (m, n, d) => fractionWords(n ?? '0', d ?? '0') ?? m],
    // Ranges "5-10", "5–10" → "five to ten".
    [
      new RegExp(String.raw`(?<![\w.-])(${NUM})\s?[-–~]\s?(${NUM})(?![\w]|\.\d)`, 'g'),
      (_m, a, b) => `${cardinal(a ?? '0')} to ${cardinal(b ?? '0')}`,
    ],
    // Negative numbers.
    [new RegExp(String.raw`(?<![\w.,])-(${NUM})(?![\w])`, 'g'), (_m, a) => `minus ${cardinal(a ?? '0')}`],
    // Dotted versions and addresses: 2.0.1 → "two dot zero dot one" (a bare "2.0.1" would be cut at its dots).
    [/(?<![\w.])\d+(?:\.\d+){2,}(?![\w]|\.\d)/g, (m) => m.split('.').map(cardinal).join(' dot ')],
    // Remaining numbers: comma-grouped and decimals (plain digit runs are left to inflect's spell-out).
    [
      new RegExp(String.raw`(?<![\w.,:])(${NUM})(?![\w]|[.,]\d)`, 'g'),
      (m, a) => (/[,.]|^0\d/.test(a ?? '') ? cardinal(a ?? '0') : m),
    ],
    // Symbols.
    [/([A-Za-z])²/g, (_m, a) => `${a ?? ''} squared`],
    [/([A-Za-z])³/g, (_m, a) => `${a ?? ''} cubed`],
    [/\s&\s/g, () => ' and '],
    [/(?<=\w)&(?=\w)/g, () => ' and '],
  ];
  out = replaceAll(out, rules);

  // Dotted abbreviations that can end a sentence, a.m./p.m. after words, and initialisms (U.S. → U S).
  out = out.replace(
    new RegExp(String.raw`\b(${Object.keys(FINAL_ABBREVIATIONS).join('|')})\.(?=[\s,;:!?)]|$)`, 'g'),
    (_m, abbr: string, offset: number, whole: string) =>
      `${FINAL_ABBREVIATIONS[abbr] ?? abbr}${endsSentence(whole, offset + abbr.length + 1) ? '.' : ''}`,
  );
  out = out.replace(/\b([ap])\.m\.(?=[\s,;:!?)]|$)/g, (_m, ap: string, offset: number, whole: string) => {
    return `${ap === 'a' ? 'AM' : 'PM'}${endsSentence(whole, offset + 4) ? '.' : ''}`;
  });
  out = out.replace(
    /\b((?:[A-Za-z]\.){2,})(?=[\s,;:!?)]|$)/g,
    (m: string, _g: string, offset: number, whole: string) => {
      // Keep the full stop only at the very end: "U.S. Army" is more common than a sentence ending in "U.S.".
      const letters = m.replace(/\./g, '').toUpperCase().split('').join(' ');
      return `${letters}${/^\s*$/.test(whole.slice(offset + m.length)) ? '.' : ''}`;
    },
  );
  return out;
}
