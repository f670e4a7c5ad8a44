/**
 * English number words in the style of Python `inflect` (`engine().number_to_words`, default arguments), which
 * upstream CosyVoice uses to spell out every digit run of English text (spec §2.1).
 *
 * This is a port of inflect's algorithm (the `enword` / `hundfn` / `tenfn` regex passes and the `, X` → ` and X` rule),
 * not a re-imagining, so outputs keep inflect's quirks:
 * `1234` → "one thousand, two hundred and thirty-four", `2025` → "two thousand and twenty-five",
 * `1000001` → "one million and one", `3.14` → "three point one four", `21st` → "twenty-first".
 *
 * Deliberate difference: inflect raises `NumOutOfRangeError` above 10^36 − 1 (no name after "decillion"); we read such
 * numbers digit by digit instead of failing.
 *
 * @see https://github.com/jaraco/inflect (`number_to_words`, `enword`)
 */

const UNIT = ['', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'] as const;
const TEEN = [
  'ten',
  'eleven',
  'twelve',
  'thirteen',
  'fourteen',
  'fifteen',
  'sixteen',
  'seventeen',
  'eighteen',
  'nineteen',
] as const;
const TEN = ['', '', 'twenty', 'thirty', 'forty', 'fifty', 'sixty', 'seventy', 'eighty', 'ninety'] as const;
const MILL = [
  ' ',
  ' thousand',
  ' million',
  ' billion',
  ' trillion',
  ' quadrillion',
  ' quintillion',
  ' sextillion',
  ' septillion',
  ' octillion',
  ' nonillion',
  ' decillion',
] as const;

/** inflect's `ordinal` table: word endings → ordinal endings (checked in this order). */
const ORDINAL_ENDINGS: readonly (readonly [string, string])[] = [
  ['ty', 'tieth'],
  ['one', 'first'],
  ['two', 'second'],
  ['three', 'third'],
  ['five', 'fifth'],
  ['eight', 'eighth'],
  ['nine', 'ninth'],
  ['twelve', 'twelfth'],
];
const ORDINAL_SUFFIX = new RegExp(`(${ORDINAL_ENDINGS.map(([from]) => from).join('|')})$`);
const ORDINAL_MARKS = new Set(['st', 'nd', 'rd', 'th']);

const THREE_DIGITS_WORD = /(\d)(\d)(\d)(?=\D*$)/;
const TWO_DIGITS_WORD = /(\d)(\d)(?=\D*$)/;
const ONE_DIGIT_WORD = /(\d)(?=\D*$)/;
const COMMA_WORD = /, (\S+)\s+$/;

/** Largest digit count inflect can name (up to "nine hundred and ninety-nine decillion, …"). */
const MAX_DIGITS = 3 * MILL.length;

function digit(s: string | undefined): number {
  return s === undefined ? 0 : s.charCodeAt(0) - 48;
}

function millfn(index: number): string {
  const word = MILL[index];
  if (word === undefined) {
    throw new RangeError('number out of range');
  }
  return word;
}

function tenfn(tens: number, units: number, mindex = 0): string {
  if (tens !== 1) {
    const hyphen = tens !== 0 && units !== 0 ? '-' : '';
    return `${TEN[tens] ?? ''}${hyphen}${UNIT[units] ?? ''}${millfn(mindex)}`;
  }
  return `${TEEN[units] ?? ''}${millfn(mindex)}`;
}

function hundfn(hundreds: number, tens: number, units: number, mindex: number): string {
  if (hundreds !== 0) {
    const andword = tens !== 0 || units !== 0 ? ' and ' : '';
    return `${UNIT[hundreds] ?? ''} hundred${andword}${tenfn(tens, units)}${millfn(mindex)}, `;
  }
  if (tens !== 0 || units !== 0) {
    return `${tenfn(tens, units)}${millfn(mindex)}, `;
  }
  return '';
}

/** inflect `enword(num, group)` for group 0 (whole number) and group 1 (digit by digit). */
function enword(num: string, group: 0 | 1): string {
  if (group === 1) {
    return num.replace(/\d/g, (d) => {
      const units = digit(d);
      if (units === 1) return ' one, ';
      if (units !== 0) return `${UNIT[units] ?? ''}, `;
      return ' zero, ';
    });
  }
  const stripped = num.trimStart().replace(/^0+/, '');
  if (stripped === '') return 'zero';
  if (stripped === '1') return 'one';
  let out = stripped;
  let millCount = 0;
  for (let mo = THREE_DIGITS_WORD.exec(out); mo !== null; mo = THREE_DIGITS_WORD.exec(out)) {
    const words = hundfn(digit(mo[1]), digit(mo[2]), digit(mo[3]), millCount);
    out = out.slice(0, mo.index) + words + out.slice(mo.index + 3);
    millCount += 1;
  }
  out = out.replace(TWO_DIGITS_WORD, (_m, t: string, u: string) => `${tenfn(digit(t), digit(u), millCount)}, `);
  out = out.replace(ONE_DIGIT_WORD, (_m, u: string) => `${UNIT[digit(u)] ?? ''}${millfn(millCount)}, `);
  return out;
}

/** Apply inflect's ordinal rule to the last word(s) of a cardinal. */
function toOrdinal(words: string): string {
  const mo = ORDINAL_SUFFIX.exec(words);
  if (mo?.[1] !== undefined) {
    const ending = mo[1];
    const replacement = ORDINAL_ENDINGS.find(([from]) => from === ending)?.[1] ?? '';
    return words.slice(0, mo.index) + replacement;
  }
  return `${words}th`;
}

/**
 * Spell a number in English exactly like Python `inflect.engine().number_to_words(num)` with default arguments
 * (`andword='and'`, `zero='zero'`, `one='one'`, `comma=','`, `decimal='point'`, `group=0`).
 *
 * Accepts what inflect accepts in practice: an optional sign, digits (other characters inside a chunk are ignored,
 * as inflect strips `\D`), an optional fraction after the first `.`, and an optional ordinal suffix (`st`, `nd`, `rd`,
 * `th`) which makes the result an ordinal.
 *
 * @param num - E.g. `1234`, `'2025'`, `'-3.5'`, `'21st'`, `'1,000'`.
 * @returns The words, e.g. "one thousand, two hundred and thirty-four".
 * @throws Error `ERR_INVALID_INPUT` for an empty string or a non-finite number.
 * @example
 * ```ts
 * numberToWords(2025); // 'two thousand and twenty-five'
 * numberToWords('101st'); // 'one hundred and first'
 * ```
 * @see https://github.com/jaraco/inflect `number_to_words`
 */
export function numberToWords(num: number | string): string {
  if (typeof num === 'number') {
    if (!Number.isFinite(num)) {
      throw new Error(`ERR_INVALID_INPUT: numberToWords() needs a finite number, got ${String(num)}.`);
    }
    num = String(num);
  }
  if (typeof num !== 'string' || num.trim() === '') {
    throw new Error('ERR_INVALID_INPUT: numberToWords() needs a non-empty string or a finite number.');
  }
  let text = num;
  const nowhite = text.trimStart();
  const sign = nowhite.startsWith('+') ? 'plus' : nowhite.startsWith('-') ? 'minus' : '';
  if (ORDINAL_MARKS.has(text)) {
    text = 'zero';
  }
  const isOrdinal = ORDINAL_MARKS.has(text.slice(-2));
  if (isOrdinal) {
    text = text.slice(0, -2);
  }
  // Too long for inflect's names: digit by digit (inflect would raise NumOutOfRangeError).
  const integerDigits = (text.split('.', 1)[0] ?? '').replace(/\D/g, '').replace(/^0+/, '');
  if (integerDigits.length > MAX_DIGITS) {
    const spelled = readDigits(integerDigits);
    return sign === '' ? spelled : `${sign} ${spelled}`;
  }

  const dot = text.indexOf('.');
  let chunks = dot < 0 ? [text] : [text.slice(0, dot), text.slice(dot + 1)];
  let finalPoint = false;
  if (chunks.length > 1 && chunks[chunks.length - 1] === '') {
    chunks = chunks.slice(0, -1);
    finalPoint = true;
  }
  let first: 0 | 1 | '' = 1;
  let loopStart = 0;
  if (chunks[0] === '') {
    first = 0;
    if (chunks.length > 1) {
      loopStart = 1;
    }
  }
  for (let i = loopStart; i < chunks.length; i++) {
    let chunk = (chunks[i] ?? '').replace(/\D/g, '');
    if (chunk === '') {
      chunk = '0';
    }
    chunk = first === 0 || first === '' ? enword(chunk, 1) : enword(chunk, 0);
    if (chunk.endsWith(', ')) {
      chunk = chunk.slice(0, -2);
    }
    chunk = chunk.replace(/\s+,/g, ',');
    if (first !== 0 && first !== '') {
      chunk = chunk.replace(COMMA_WORD, ' and $1');
    }
    chunk = chunk.replace(/\s+/g, ' ').trim();
    if (first !== 0 && first !== '') {
      first = '';
    }
    chunks[i] = chunk;
  }

  let numChunks: string[] = [];
  if (first !== 0) {
    numChunks = (chunks[0] ?? '').split(', ');
  }
  if (isOrdinal && numChunks.length > 0) {
    numChunks[numChunks.length - 1] = toOrdinal(numChunks[numChunks.length - 1] ?? '');
  }
  for (const chunk of chunks.slice(1)) {
    numChunks.push('point');
    numChunks.push(...chunk.split(', '));
  }
  if (finalPoint) {
    numChunks.push('point');
  }
  const signOut = sign === '' ? '' : `${sign} `;
  let out = `${signOut}${numChunks.shift() ?? ''}`;
  let commaAllowed = !out.endsWith('point');
  for (const nc of numChunks) {
    if (nc === 'point') {
      out += ` ${nc}`;
      commaAllowed = false;
    } else if (commaAllowed) {
      out += `, ${nc}`;
    } else {
      out += ` ${nc}`;
    }
  }
  return out;
}

const DIGIT_WORDS = ['zero', 'one', 'two', 'three', 'four', 'five', 'six', 'seven', 'eight', 'nine'] as const;

/**
 * Read a digit string one digit at a time: `'0070'` → "zero zero seven zero".
 *
 * @param digits - ASCII digits (other characters are skipped).
 * @returns Space-separated digit words.
 */
export function readDigits(digits: string): string {
  const words: string[] = [];
  for (const ch of digits) {
    const d = ch.charCodeAt(0) - 48;
    const word = DIGIT_WORDS[d];
    if (d >= 0 && d <= 9 && word !== undefined) {
      words.push(word);
    }
  }
  return words.join(' ');
}

/**
 * Ordinal words of a non-negative integer, inflect style: `1` → "first", `22` → "twenty-second",
 * `100` → "one hundredth", `111` → "one hundred and eleventh".
 *
 * @param num - A non-negative integer or its digits.
 * @returns The ordinal words.
 */
export function ordinalToWords(num: number | string): string {
  return numberToWords(`${String(num)}th`);
}

/**
 * Upstream `spell_out_number`: replace every maximal run of digits by {@link numberToWords} of it, leaving everything
 * else (including `.`, `,`, `-` around the digits) untouched. `"I paid 1234 dollars"` →
 * "I paid one thousand, two hundred and thirty-four dollars"; `"3.5"` → "three.five" (as upstream).
 *
 * Difference: Python's `str.isdigit()` also accepts other Unicode digits (Arabic-Indic, superscripts…); only ASCII
 * `0-9` are spelled here — the English normaliser already turned superscripts into words.
 *
 * @param text - Any text.
 * @returns The text with ASCII digit runs spelled out.
 */
export function spellOutNumbers(text: string): string {
  return text.replace(/[0-9]+/g, (run) => numberToWords(run));
}
